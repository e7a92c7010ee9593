import { folders } from '$lib/state/folders.svelte';
import { threads } from '$lib/state/threads.svelte';

export function load() {
  if (threads.status === 'idle') {
    void threads.load();
    void folders.load();
  }
}
