import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** A single-page app: every route is rendered in the browser from index.html. */
export default {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    // The PWA plugin's worker is registered by src/lib/state/pwa.svelte.ts (workbox-window).
    serviceWorker: { register: false },
    // The server adds the CSP (with hashes of index.html's inline scripts); no kit-side CSP.
    version: { pollInterval: 0 },
    // One JS file and one CSS file for the app (dynamic imports, like highlighting, stay
    // separate): on a high-latency phone network, each extra round of requests costs more
    // than the bytes it saves.
    output: { bundleStrategy: 'single' },
    // The server's schemas are the contract: the app imports their types from there.
    // Type-only (`import type`): nothing of the server (nor elysia's `t`) reaches the bundle.
    alias: { $server: '../server' },
  },
};
