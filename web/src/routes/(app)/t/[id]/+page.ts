import { messagesPath, prefetching } from '$lib/api';
import { conversations } from '$lib/state/conversations.svelte';

/** How long opening the app on a thread waits for its prefetched data before showing the screen without it. */
const FIRST_PAINT_WAIT_MS = 1000;

export async function load({ params }) {
  // Fetched as soon as the route is known, before the screen renders. A thread whose
  // reply is streaming right now is already up to date.
  const conversation = conversations.get(params.id);
  if (!conversation.busy) {
    const early = prefetching(messagesPath(params.id)); // (load() takes the prefetch at once)
    const loading = conversation.load();
    // Opening the app on this thread: index.html's script has been fetching its messages
    // since the page started, usually there by now. The first render waits for them (up to
    // a bound), so the screen is built and laid out once with its messages, not twice.
    if (early) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([loading, new Promise((resolve) => (timer = setTimeout(resolve, FIRST_PAINT_WAIT_MS)))]);
      clearTimeout(timer);
    }
  }
  return { id: params.id };
}
