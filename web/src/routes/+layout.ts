import { connect } from '$lib/state/root';
import { session } from '$lib/state/session.svelte';

// The app's state, wired once (state/root.ts) before any screen uses it.
connect();

// A single-page app: nothing is rendered on the server or prerendered.
export const ssr = false;
export const prerender = false;

export function load() {
  // Started at once, in parallel with the screen's own data.
  void session.check().catch(() => {});
}
