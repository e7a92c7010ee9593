/**
 * The JS budget of a first visit, checked on every build (`bun run build` runs it after
 * Vite): the scripts index.html loads (its modulepreload links and the entry it imports),
 * plus everything they import statically, gzipped, must stay within 90 KB (150 KB until issue 17, then 120 KB;
 * 79.7 KB once the Markdown renderer, dialogs, sign-in screens and the thread list became lazy). Dynamic
 * imports (the LAZY chunks of web/vite.config.ts: highlighting, voice, settings, …) are
 * not counted: they load on use. A module that slips out of LAZY (say, a renamed file no
 * longer matched by its pattern) lands in the app chunk and fails the build here.
 *
 * `bench/web.ts` measures the same budget in a browser, with the network; this is the
 * quick static check that runs in CI. Usage: `bun scripts/bundle-budget.ts [buildDir]`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const JS_BUDGET_BYTES = 90 * 1024;

export interface FirstLoad {
  files: { path: string; bytes: number; gzip: number }[];
  bytes: number;
  gzip: number;
}

/** The JS of a first load, from the built index.html, following static imports only. */
export function firstLoad(buildDir: string): FirstLoad {
  const html = readFileSync(join(buildDir, 'index.html'), 'utf8');
  const entries = new Set<string>();
  // <link href="/x.js" rel="modulepreload">, <script src="/x.js">, and import("/x.js") in an inline script.
  for (const tag of html.match(/<link\b[^>]*>/g) ?? []) {
    if (/rel=["']?modulepreload/.test(tag)) entries.add(tag.match(/href=["']([^"']+)["']/)![1]!);
  }
  for (const m of html.matchAll(/<script\b[^>]*\bsrc=["']([^"']+)["']/g)) entries.add(m[1]!);
  for (const m of html.matchAll(/\bimport\(\s*["']([^"']+\.js)["']\s*\)/g)) entries.add(m[1]!);
  if (!entries.size) throw new Error(`no script found in ${join(buildDir, 'index.html')}`);

  const scanner = new Bun.Transpiler({ loader: 'js' });
  const seen = new Map<string, { bytes: number; gzip: number }>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    if (!existsSync(file)) throw new Error(`index.html or a chunk refers to a missing file: ${relative(buildDir, file)}`);
    const code = readFileSync(file);
    seen.set(file, { bytes: code.length, gzip: Bun.gzipSync(code).length });
    for (const imp of scanner.scanImports(code.toString('utf8'))) {
      if (imp.kind === 'dynamic-import') continue; // loaded on use, not on first load
      if (!/^\.{0,2}\//.test(imp.path)) continue; // a bare specifier cannot be in a built file
      visit(resolve(dirname(file), imp.path));
    }
  };
  for (const url of entries) visit(join(buildDir, url.replace(/^\//, '')));

  const files = [...seen].map(([path, size]) => ({ path: relative(buildDir, path), ...size })).sort((a, b) => b.gzip - a.gzip);
  return { files, bytes: files.reduce((n, f) => n + f.bytes, 0), gzip: files.reduce((n, f) => n + f.gzip, 0) };
}

if (import.meta.main) {
  const buildDir = resolve(process.argv[2] ?? join(import.meta.dir, '..', 'web', 'build'));
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const load = firstLoad(buildDir);
  for (const f of load.files) console.log(`  ${kb(f.gzip).padStart(9)} gzipped  ${kb(f.bytes).padStart(9)} raw  ${f.path}`);
  const verdict = load.gzip <= JS_BUDGET_BYTES ? 'within' : 'OVER';
  console.log(
    `First-load JS: ${kb(load.gzip)} gzipped (${load.files.length} files, ${kb(load.bytes)} raw), ${verdict} the ${kb(JS_BUDGET_BYTES)} budget`,
  );
  if (load.gzip > JS_BUDGET_BYTES) {
    console.error(
      'The first load of a thread is over its JS budget. Keep code a thread view does not need behind a dynamic import ' +
        '(and in LAZY in web/vite.config.ts); `PARLEY_ANALYZE=1 bun run build` lists the largest modules of each chunk.',
    );
    process.exit(1);
  }
}
