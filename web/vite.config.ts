import { sveltekit } from '@sveltejs/kit/vite';
import { SvelteKitPWA } from '@vite-pwa/sveltekit';
import { defineConfig } from 'vite';

const BRAND = '#5046e5';
const BACKGROUND = '#101124';

export default defineConfig({
  plugins: [
    sveltekit(),
    SvelteKitPWA({
      strategies: 'generateSW',
      // 'prompt': a new worker waits until the user accepts "Update available"
      // (never while a reply streams); see src/lib/state/pwa.svelte.ts.
      registerType: 'prompt',
      injectRegister: false,
      manifestFilename: 'manifest.webmanifest',
      manifest: {
        id: '/',
        name: 'Parley',
        short_name: 'Parley',
        description: 'Your self-hosted, voice-first AI assistant: talk or type, and keep every thread.',
        lang: 'en',
        dir: 'ltr',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        display_override: ['standalone'],
        orientation: 'any',
        theme_color: BRAND,
        background_color: BACKGROUND,
        categories: ['productivity', 'utilities'],
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: '/icons/maskable-192.png', sizes: '192x192', type: 'image/png', purpose: 'maskable' },
        ],
        shortcuts: [
          {
            name: 'New chat',
            short_name: 'New chat',
            description: 'Start a new conversation',
            url: '/?new=1',
            icons: [{ src: '/icons/shortcut-chat-96.png', sizes: '96x96', type: 'image/png' }],
          },
          {
            name: 'Voice call',
            short_name: 'Voice call',
            description: 'Start a new voice call',
            url: '/call',
            icons: [{ src: '/icons/shortcut-call-96.png', sizes: '96x96', type: 'image/png' }],
          },
        ],
      },
      workbox: {
        // The app shell only. API responses are never cached by the worker: they hold one
        // account's data and a shared device may hold several accounts (security item 13).
        globPatterns: ['client/**/*.{js,css,ico,png,svg,webmanifest}'],
        navigateFallback: '/',
        navigateFallbackDenylist: [/^\/api\//],
        clientsClaim: true,
        cleanupOutdatedCaches: true,
      },
      kit: { adapterFallback: 'index.html', spa: { fallbackMapping: '/' } },
      devOptions: { enabled: false },
    }),
  ],
  server: {
    proxy: {
      // `bun run dev` sets PARLEY_API to the server's URL; the Origin stays Vite's (PUBLIC_URL in dev).
      '/api': { target: process.env.PARLEY_API ?? 'http://localhost:3000' },
    },
  },
  build: { target: 'es2022' },
});
