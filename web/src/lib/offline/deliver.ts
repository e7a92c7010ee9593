/**
 * The one way an outbox entry is posted, by the page (into an open thread, whose stream then
 * shows the reply, or directly) and by the service worker alike: the normal POST with the
 * entry's id (refreshing the session on a 401 like every request of the app), its reply
 * followed to the end so the thread's next entry answers it. The entry counts as stored
 * when, and only when, the server's `user` event names it. An entry of a chat started on this
 * device (`newThread`) creates its thread first, under the id it was given here. A room's
 * entry (`roomId`) is posted to the room.
 */
import { api, ApiError } from '$lib/api';
import { ReplyStream, SEND_TIMEOUT_MS } from '$lib/thread/reply-stream';
import type { OutboxEntry } from './db';
import { postBody, refusedForGood, type Delivery } from './outbox';
import { roomsApi } from '$lib/rooms/api';

export async function deliverEntry(entry: OutboxEntry, stored: () => Promise<void>, stream = new ReplyStream({}, { batch: false })): Promise<Delivery> {
  if (entry.roomId) return deliverRoomMessage(entry, entry.roomId, stored);
  if (entry.newThread) {
    const created = await createThread(entry);
    if (created !== 'created') return created;
  }
  const error = await stream.run((signal) => api.threads.send(entry.threadId, postBody(entry), signal), {
    storedWithin: SEND_TIMEOUT_MS,
    onStored: (id) => {
      if (id === entry.id) void stored();
    },
  });
  if (stream.stored(entry.id)) return 'sent';
  if (error instanceof ApiError && refusedForGood(error.status, error.code)) return { error: error.message };
  return 'offline';
}

/**
 * A chat started on this device: its thread first, with the id it was given here (201 made,
 * 200 already there: both fine). 409 means the id is not ours to use (another account's, or
 * the thread was deleted meanwhile): refused for good, like a 4xx for the message itself.
 */
async function createThread(entry: OutboxEntry): Promise<'created' | Delivery> {
  try {
    await api.threads.create({ ...entry.newThread, id: entry.threadId });
    return 'created';
  } catch (error) {
    if (error instanceof ApiError && (error.status === 409 || refusedForGood(error.status, error.code))) {
      return { error: `the new chat could not be made (${error.message})` };
    }
    return 'offline';
  }
}

/**
 * A message written offline in a room: the normal POST with its id (the server answers the
 * stored message again for an id it has, so a retry after a lost answer posts nothing new).
 * The assistant's answer, if it was called, reaches the room's stream like anyone's.
 */
async function deliverRoomMessage(entry: OutboxEntry, roomId: string, stored: () => Promise<void>): Promise<Delivery> {
  try {
    await roomsApi.post(roomId, entry.id, entry.content);
  } catch (error) {
    if (error instanceof ApiError && refusedForGood(error.status, error.code)) return { error: error.message };
    return 'offline';
  }
  await stored();
  return 'sent';
}
