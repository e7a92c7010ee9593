/**
 * The whole test suite, as the README's test command runs it:
 *   1. server tests on a real PostgreSQL (started by the harness from the system's binaries),
 *      with the unit tier of pure server logic (tests/server/unit/);
 *   2. the database-sensitive server tests again on the embedded PGlite;
 *   3. the two-instance fault tests (tests/cluster/: two Parley processes behind Debian's nginx
 *      on one PostgreSQL; SIGTERM, SIGKILL, database restart), in their own step;
 *   4. unit tests of the web app's logic (bun:test, web/src/**.test.ts);
 *   5. the Playwright end-to-end tests in Debian's Chromium against the built app;
 *   6. the WebKit smoke (tests/webkit/smoke.ts) in WebKitGTK over W3C WebDriver, under Xvfb.
 * Prints one closing line "N passed, N failed" (", N skipped" when some were) with the totals;
 * tests that passed only on a retry are counted in "passed" and named on the line above it.
 * Pass file filters to run a subset: `bun run test auth` (server only).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readE2eReport } from './e2e-report';

const root = join(import.meta.dir, '..');
const filters = process.argv.slice(2);
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures: string[] = [];
/** Tests that failed, then passed on a retry: counted as passed, but named, never hidden. */
const flaky: string[] = [];

// Files whose behaviour depends on the database engine run on PGlite too.
const EMBEDDED_TOO = ['auth', 'database', 'threads', 'replies', 'sync', 'blob-stores', 'rooms'];
// The tests of stored files run once more per blob store the PostgreSQL run did not use
// (it uses the default there, `postgres`): every file test against every store.
const EVERY_STORE = ['files', 'images', 'shares'];
const OTHER_STORES = ['directory', 's3'];

async function run(label: string, cmd: string[], env: Record<string, string> = {}) {
  console.log(`\n━━ ${label}: ${cmd.join(' ')}`);
  const proc = Bun.spawn(cmd, {
    cwd: root,
    env: { ...process.env, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let out = '';
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      out += text;
      sink.write(text);
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  const code = await proc.exited;
  return { code, out };
}

function countBun(label: string, out: string, code: number) {
  const pass = Number(out.match(/^\s*(\d+) pass$/m)?.[1] ?? 0);
  const fail = Number(out.match(/^\s*(\d+) fail$/m)?.[1] ?? 0);
  const skip = Number(out.match(/^\s*(\d+) skip$/m)?.[1] ?? 0);
  totals.passed += pass;
  totals.failed += fail;
  totals.skipped += skip;
  if (code !== 0 && fail === 0) {
    totals.failed += 1; // crashed before reporting: count it, never hide it
    failures.push(`${label}: exited ${code} without a failing test reported`);
  } else if (fail) failures.push(`${label}: ${fail} failed`);
}

// tests/server/*.test.ts, plus the unit tier (tests/server/unit/: pure logic, no database).
const testsIn = (dir: string) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir))
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => `${dir}/${f}`)
    : [];
const serverFiles = [...testsIn('tests/server'), ...testsIn('tests/server/unit')].filter(
  (f) => !filters.length || filters.some((x) => f.slice(f.lastIndexOf('/') + 1).includes(x)),
);

if (serverFiles.length) {
  const real = await run('server tests (PostgreSQL)', ['bun', 'test', ...serverFiles]);
  countBun('server tests (PostgreSQL)', real.out, real.code);
  const storeFiles = serverFiles.filter((f) => EVERY_STORE.some((name) => f.endsWith(`/${name}.test.ts`)));
  for (const store of storeFiles.length ? OTHER_STORES : []) {
    const label = `file tests (BLOB_STORE=${store})`;
    const result = await run(label, ['bun', 'test', ...storeFiles], { PARLEY_TEST_BLOB_STORE: store });
    countBun(label, result.out, result.code);
  }
  const embeddedFiles = serverFiles.filter((f) => EMBEDDED_TOO.some((name) => f.endsWith(`/${name}.test.ts`)));
  if (embeddedFiles.length) {
    const emb = await run('server tests (embedded PGlite)', ['bun', 'test', ...embeddedFiles], { PARLEY_TEST_DB: 'embedded' });
    countBun('server tests (embedded PGlite)', emb.out, emb.code);
  }
}

// Faults a deployment meets: two real instances behind nginx (tests/support/cluster.ts).
const clusterFiles = testsIn('tests/cluster').filter(
  (f) => !filters.length || filters.some((x) => f.slice(f.lastIndexOf('/') + 1).includes(x)),
);
if (clusterFiles.length) {
  const cl = await run('two instances behind nginx', ['bun', 'test', ...clusterFiles]);
  countBun('two instances behind nginx', cl.out, cl.code);
}

// Unit tests of the web app's pure logic (sentence splitting, etc.) run under bun:test too.
if (!filters.length) {
  const webUnits = await run('web unit tests', ['bun', 'test', 'web/src']);
  countBun('web unit tests', webUnits.out, webUnits.code);
}

const specs = existsSync(join(root, 'tests/e2e'))
  ? readdirSync(join(root, 'tests/e2e')).filter((f) => f.endsWith('.spec.ts'))
  : [];
if (!filters.length && specs.length) {
  const build = await run('web build', ['bun', 'run', 'build']);
  if (build.code !== 0) {
    totals.failed += 1;
    failures.push('web build failed');
  } else {
    const report = join(root, 'test-results', 'e2e.json');
    rmSync(report, { force: true });
    const e2e = await run('end-to-end (Playwright, Chromium)', ['bunx', 'playwright', 'test', '-c', 'tests/e2e/playwright.config.ts'], {
      PLAYWRIGHT_JSON_OUTPUT_NAME: report,
    });
    if (existsSync(report)) {
      const e2eResult = readE2eReport(report);
      totals.passed += e2eResult.passed; // flaky tests included: they passed on a retry
      totals.failed += e2eResult.failed;
      totals.skipped += e2eResult.skipped;
      flaky.push(...e2eResult.flaky.map((title) => `e2e: ${title}`));
      if (e2eResult.failed) failures.push(`e2e: ${e2eResult.failed} failed`);
      if (e2e.code !== 0 && !e2eResult.failed) {
        totals.failed += 1;
        failures.push(`e2e: exited ${e2e.code}`);
      }
    } else {
      totals.failed += 1;
      failures.push(`e2e: no report (exit ${e2e.code})`);
    }
  }
}

// The WebKit smoke (iPhone's engine): WebKitGTK's WebKitWebDriver + MiniBrowser under Xvfb.
// .ci/run installs them; on a machine without them it is skipped (and counted as skipped).
if (!filters.length) {
  if (Bun.which('WebKitWebDriver') && Bun.which('Xvfb')) {
    const webkit = await run('WebKit smoke (WebDriver)', ['bun', 'tests/webkit/smoke.ts']);
    const m = webkit.out.match(/^(\d+) passed, (\d+) failed$/m);
    totals.passed += Number(m?.[1] ?? 0);
    totals.failed += Number(m?.[2] ?? 0);
    if (m && Number(m[2])) failures.push(`WebKit smoke: ${m[2]} failed`);
    if (!m || (webkit.code !== 0 && !Number(m[2]))) {
      totals.failed += 1;
      failures.push(`WebKit smoke: exited ${webkit.code}`);
    }
  } else {
    console.log('\n━━ WebKit smoke skipped: WebKitWebDriver or Xvfb is not installed (apt-get install webkit2gtk-driver xvfb)');
    totals.skipped += 1;
  }
}

console.log('');
if (failures.length) console.log(`Failures:\n  ${failures.join('\n  ')}`);
// The closing line is read by CI and must stay exactly "N passed, N failed[, N skipped]", so
// the flaky tests (included in "passed") are counted and named on the line just above it.
if (flaky.length) console.log(`Flaky (passed on retry): ${flaky.length} — ${flaky.join('; ')}`);
console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(totals.failed ? 1 : 0);
