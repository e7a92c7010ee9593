import { conversations } from '$lib/state/conversations.svelte';

export function load({ params }) {
  // Fetched as soon as the route is known, before the screen renders. A thread whose
  // reply is streaming right now is already up to date.
  const conversation = conversations.get(params.id);
  if (!conversation.busy) void conversation.load();
  return { id: params.id };
}
