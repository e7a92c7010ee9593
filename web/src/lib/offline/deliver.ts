/**
 * The one way an outbox entry is posted, by the page (into an open thread, whose stream then
 * shows the reply, or directly) and by the service worker alike: the normal POST with the
 * entry's id (refreshing the session on a 401 like every request of the app), its reply
 * followed to the end so the thread's next entry answers it. The entry counts as stored
 * when, and only when, the server's `user` event names it.
 */
import { api, ApiError } from '$lib/api';
import { ReplyStream, SEND_TIMEOUT_MS } from '$lib/thread/reply-stream';
import type { OutboxEntry } from './db';
import { postBody, refusedForGood, type Delivery } from './outbox';

export async function deliverEntry(entry: OutboxEntry, stored: () => Promise<void>, stream = new ReplyStream({}, { batch: false })): Promise<Delivery> {
  const error = await stream.run((signal) => api.threads.send(entry.threadId, postBody(entry), signal), {
    storedWithin: SEND_TIMEOUT_MS,
    onStored: (id) => {
      if (id === entry.id) void stored();
    },
  });
  if (stream.stored(entry.id)) return 'sent';
  if (error instanceof ApiError && refusedForGood(error.status)) return { error: error.message };
  return 'offline';
}
