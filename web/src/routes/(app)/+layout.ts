import { threads } from '$lib/state/threads.svelte';

export function load() {
  if (threads.status === 'idle') void threads.load();
}
