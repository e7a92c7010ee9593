import { sveltekit } from '@sveltejs/kit/vite';
import { SvelteKitPWA } from '@vite-pwa/sveltekit';
import { defineConfig, type Plugin } from 'vite';

/**
 * Code kept out of the app chunk, loaded when needed: syntax highlighting (when a code block
 * appears), the service worker helper (after load), voice (on first use, and the call
 * screen), image resizing and viewing, and the screens a thread view never needs
 * (settings, sign-in, sign-up, shared conversations).
 */
const LAZY = [
  // The Markdown renderer (marked, DOMPurify): a thread's first paint shows markdown/plain.ts's
  // HTML, the renderer loads right after (components/Markdown.svelte).
  /src\/lib\/markdown\/render/,
  /node_modules\/marked\//,
  /node_modules\/dompurify\//,
  // Dialogs opened on use: a thread's settings and share dialogs, a folder's (LoadFailed.svelte
  // says so when one cannot be fetched).
  /src\/lib\/components\/(ShareDialog|ThreadSettings|FolderDialog)\.svelte/,
  // The open model menu (the picker's, "Regenerate with…"'s): only their buttons are on a first screen.
  /src\/lib\/components\/ModelMenuList\.svelte/,
  // A reply's tool calls and the composer's attachments: when there are some.
  /src\/lib\/components\/(ToolCalls|AttachmentTray)\.svelte/,
  // The thread list (sidebar or drawer) and what only it uses: fetched at once on a wide
  // screen, after the first screen on a phone ((app)/+layout.svelte).
  /src\/lib\/components\/(Sidebar|ThreadItem|FolderHeader|RoomsNav|InstallHelp)\.svelte/,
  /src\/routes\/\(app\)\/settings\//,
  /src\/routes\/\(auth\)\//,
  // Sign-in, sign-up, password reset: their route files import these bodies on use.
  /src\/lib\/components\/auth\//,
  /src\/routes\/\(app\)\/call\//,
  /src\/lib\/state\/call\.svelte/,
  /node_modules\/highlight\.js\//,
  /src\/lib\/markdown\/highlight/,
  // Maths (KaTeX), when a reply holds some.
  /node_modules\/katex\//,
  /src\/lib\/markdown\/math/,
  /node_modules\/workbox-window\//,
  /src\/lib\/voice\//,
  /src\/lib\/components\/voice\//,
  /src\/routes\/\(app\)\/t\/\[id\]\/call\//,
  // Shared conversations (/s/:code), image resizing (on the first photo attached), the
  // large image viewer, and the settings page's list of share links.
  // (A route's +page.svelte is always in the first load: lazy screens import() their body.)
  /src\/routes\/s\/\[code\]\/SharePage/,
  /src\/lib\/images\/resize/,
  /src\/lib\/components\/ImageView/,
  /src\/lib\/components\/SharedLinks/,
  // Rooms: the screens, their forms and the live room state (the sidebar's list stays in).
  /src\/lib\/components\/rooms\//,
  /src\/lib\/rooms\/room\.svelte/,
  // Rooms kept on this device (offline reading), saved after a list fetch.
  /src\/lib\/rooms\/offline/,
  // Opening the offline mirror's database (the idb library): when the first mirror opens, with
  // the thread's answer already on its way (lib/offline/db.ts's loadStore).
  /src\/lib\/offline\/store/,
  /node_modules\/idb\//,
  // The admin console (its pages, its client, the chart library) and the rarely used
  // account pieces: Settings › Allowance and the Flag dialog.
  /src\/routes\/admin\//,
  /src\/lib\/admin\//,
  /node_modules\/uplot\//,
  /src\/lib\/components\/settings\/QuotaSettings/,
  /src\/lib\/components\/FlagDialog/,
  // Sign-in extras: passkeys (WebAuthn) only when a passkey button is pressed; Settings'
  // Sessions and Passkeys sections; the admin's sign-in page.
  /src\/lib\/passkeys/,
  /node_modules\/@simplewebauthn\//,
  /src\/lib\/components\/settings\/(Sessions|Passkey)Settings/,
  /src\/lib\/components\/signin\//,
  // The library: search (opened with Ctrl/Cmd+K; MiniSearch only offline) and Settings'
  // export and import.
  /src\/lib\/components\/SearchDialog/,
  /src\/lib\/search\/offline-index/,
  /node_modules\/minisearch\//,
  /src\/lib\/components\/settings\/DataSettings/,
  // Settings: the screen and its sections (the route file only imports it).
  /src\/lib\/components\/settings\//,
  /src\/lib\/components\/StorageSettings/,
];

/**
 * One app chunk. kit.output.bundleStrategy 'single' gives the app one entry file, but under
 * Vite 8 it also turns code splitting off, which would inline every lazy import. Splitting
 * goes back on with a single group: every module the entry reaches without going through a
 * LAZY one (so every route's files, and what they import). A first visit downloads the entry,
 * the app chunk and the CSS in one round of requests, since a round trip on a phone network
 * costs more than the bytes a finer split would save. A module only LAZY ones import (a form
 * field of the sign-in screens, the push client of Settings) goes with them.
 */
function oneAppChunk(): Plugin {
  type Info = { isEntry: boolean; importers: readonly string[]; dynamicImporters: readonly string[]; importedIds: readonly string[]; dynamicallyImportedIds: readonly string[] };
  type Graph = { getModuleInfo(id: string): Info | null };
  const lazy = (id: string) => LAZY.some((re) => re.test(id));
  /** Reached from an entry without going through a LAZY module. */
  const app = new Set<string>();
  /** Walked back from, to find the entries above them: every such entry is in `app`'s walk. */
  const walked = new Set<string>();
  function inApp(id: string, graph: Graph): boolean {
    const up = [id];
    while (up.length) {
      const at = up.pop()!;
      if (walked.has(at)) continue;
      walked.add(at);
      const info = graph.getModuleInfo(at);
      if (!info) continue;
      if (info.isEntry && !lazy(at)) {
        const down = [at];
        while (down.length) {
          const next = down.pop()!;
          if (app.has(next) || lazy(next)) continue;
          app.add(next);
          const i = graph.getModuleInfo(next);
          if (i) down.push(...i.importedIds, ...i.dynamicallyImportedIds);
        }
      }
      up.push(...info.importers, ...info.dynamicImporters);
    }
    return app.has(id);
  }
  return {
    name: 'parley:one-app-chunk',
    enforce: 'post',
    buildStart() {
      app.clear();
      walked.clear();
    },
    config(config) {
      const output = config.build?.rollupOptions?.output;
      if (output && !Array.isArray(output) && 'codeSplitting' in output) {
        (output as { codeSplitting?: unknown }).codeSplitting = {
          groups: [{ name: (id: string, graph: Graph) => (inApp(id, graph) ? 'app' : null) }],
        };
      }
    },
  };
}

/**
 * The app chunk asks V8 to compile all its functions as it arrives (Chrome 136+'s explicit
 * compile hint, a comment on the file's first line). Without it, each function the first
 * screen calls is compiled on the main thread when first called, after the download; with
 * it, that work happens on a background thread while the rest of the file is still on the
 * network. The first screen calls most of this chunk (what it does not is in LAZY).
 * bench:web measured a phone's first screen about 80 ms sooner. Other browsers see a comment.
 */
const COMPILE_HINT = '//# allFunctionsCalledOnLoad\n';
function compileHint(): Plugin {
  return {
    name: 'parley:compile-hint',
    apply: 'build',
    // After Vite's own generateBundle, which writes its preload map on the chunk's first line.
    generateBundle: {
      order: 'post',
      handler(_, bundle) {
        for (const chunk of Object.values(bundle)) {
          if (chunk.type !== 'chunk' || chunk.name !== 'app' || chunk.code.startsWith(COMPILE_HINT)) continue;
          chunk.code = COMPILE_HINT + chunk.code;
          // The code moved down a line, and so do its source map's lines (PARLEY_SOURCEMAP=1
          // builds: by now the map is its own file in the bundle).
          const map = bundle[`${chunk.fileName}.map`];
          if (map?.type === 'asset' && typeof map.source === 'string') {
            const json = JSON.parse(map.source) as { mappings: string };
            map.source = JSON.stringify({ ...json, mappings: `;${json.mappings}` });
          }
        }
      },
    },
  };
}

/** `PARLEY_ANALYZE=1 bun run build`: the largest modules of each client chunk (for the JS budget). */
function analyze(): Plugin {
  return {
    name: 'parley:analyze',
    apply: 'build',
    generateBundle(_, bundle) {
      if (!process.env.PARLEY_ANALYZE) return;
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || chunk.code.length < 20_000) continue;
        const top = Object.entries(chunk.modules)
          .map(([id, m]) => [id.replace(/^.*node_modules\//, '').replace(/^.*\/web\//, ''), m.renderedLength] as const)
          .sort((a, b) => b[1] - a[1])
          .slice(0, Number(process.env.PARLEY_ANALYZE) > 1 ? Number(process.env.PARLEY_ANALYZE) : 25);
        console.log(`\n${chunk.fileName} ${chunk.code.length}\n${top.map(([id, n]) => `  ${String(n).padStart(7)} ${id}`).join('\n')}`);
      }
    },
  };
}

/**
 * The installed app's bar and splash: the same dark surface as the page's dark theme-color tag
 * (src/app.html, state/theme.svelte.ts), so the bar does not change colour as the app opens.
 * In light mode the page's own tag takes over once loaded.
 */
const THEME_DARK = '#14151f';

export default defineConfig({
  plugins: [
    sveltekit(),
    oneAppChunk(),
    compileHint(),
    analyze(),
    SvelteKitPWA({
      // Our own worker (src/service-worker.ts, built by SvelteKit): the precached shell plus
      // Background Sync for the offline outbox. Served as /sw.js. A new worker waits until
      // the user accepts "Update available" (never while a reply streams): pwa.svelte.ts.
      strategies: 'injectManifest',
      filename: 'sw.js',
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
        theme_color: THEME_DARK,
        background_color: THEME_DARK,
        categories: ['productivity', 'utilities'],
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: '/icons/maskable-192.png', sizes: '192x192', type: 'image/png', purpose: 'maskable' },
        ],
        // Parley in the share sheet: text, links and images open a new chat (src/lib/share/inbox.ts).
        share_target: {
          action: '/share',
          method: 'POST',
          enctype: 'multipart/form-data',
          params: { title: 'title', text: 'text', url: 'url', files: [{ name: 'images', accept: ['image/*'] }] },
        },
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
      injectManifest: {
        // The app shell only. API responses are never cached by the worker: they hold one
        // account's data and a shared device may hold several accounts (security item 13).
        // Navigations fall back to the shell except /api/ and /s/ (see the worker).
        globPatterns: ['client/**/*.{js,css,ico,png,svg,webmanifest}'],
        // iPhone launch images: iOS fetches the one matching its screen when it installs the app.
        globIgnores: ['**/icons/launch/**'],
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
  // PARLEY_SOURCEMAP=1: source maps next to the chunks (to read a `bench:web` PROFILE=1 profile by source).
  build: { target: 'es2022', sourcemap: process.env.PARLEY_SOURCEMAP === '1' },
});
