/**
 * Syntax highlighting, loaded only when a message contains a code block: highlight.js core
 * plus each language on first use, as separate chunks.
 */
import hljs from 'highlight.js/lib/core';
import './highlight.css';

type Loader = () => Promise<{ default: Parameters<typeof hljs.registerLanguage>[1] }>;

const LANGUAGES: Record<string, Loader> = {
  javascript: () => import('highlight.js/lib/languages/javascript'),
  typescript: () => import('highlight.js/lib/languages/typescript'),
  python: () => import('highlight.js/lib/languages/python'),
  bash: () => import('highlight.js/lib/languages/bash'),
  json: () => import('highlight.js/lib/languages/json'),
  xml: () => import('highlight.js/lib/languages/xml'),
  css: () => import('highlight.js/lib/languages/css'),
  sql: () => import('highlight.js/lib/languages/sql'),
  go: () => import('highlight.js/lib/languages/go'),
  rust: () => import('highlight.js/lib/languages/rust'),
  java: () => import('highlight.js/lib/languages/java'),
  c: () => import('highlight.js/lib/languages/c'),
  cpp: () => import('highlight.js/lib/languages/cpp'),
  yaml: () => import('highlight.js/lib/languages/yaml'),
  diff: () => import('highlight.js/lib/languages/diff'),
  markdown: () => import('highlight.js/lib/languages/markdown'),
};

const ALIASES: Record<string, string> = {
  js: 'javascript', jsx: 'javascript', mjs: 'javascript', ts: 'typescript', tsx: 'typescript',
  py: 'python', sh: 'bash', shell: 'bash', zsh: 'bash', console: 'bash', html: 'xml', svg: 'xml',
  svelte: 'xml', vue: 'xml', yml: 'yaml', rs: 'rust', 'c++': 'cpp', h: 'c', md: 'markdown', patch: 'diff',
};

const loading = new Map<string, Promise<boolean>>();

function ensure(name: string): Promise<boolean> {
  const lang = ALIASES[name] ?? name;
  const load = LANGUAGES[lang];
  if (!load) return Promise.resolve(false);
  let p = loading.get(lang);
  if (!p) {
    p = load()
      .then((m) => {
        hljs.registerLanguage(lang, m.default);
        for (const [alias, target] of Object.entries(ALIASES)) if (target === lang) hljs.registerAliases(alias, { languageName: lang });
        return true;
      })
      .catch(() => false);
    loading.set(lang, p);
  }
  return p;
}

/** Highlights the code blocks under `root` that are not highlighted yet. */
export async function highlightAll(root: HTMLElement) {
  const blocks = [...root.querySelectorAll<HTMLElement>('pre code[class*="language-"]:not([data-highlighted])')];
  await Promise.all(
    blocks.map(async (code) => {
      const name = /language-([\w+#-]+)/.exec(code.className)?.[1] ?? '';
      if (!(await ensure(name)) || !code.isConnected) return;
      hljs.highlightElement(code);
    }),
  );
}
