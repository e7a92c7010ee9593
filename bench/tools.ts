/**
 * bun run bench:tools — what the tool loop adds to a reply's time to first token.
 *
 * A real PostgreSQL, the server as its own process, the fake provider (fixed first-token
 * delay) and a local SearXNG-format server. Each sample is one reply, sequential:
 *   plain:     a model offered tools that answers at once (one provider request);
 *   one round: the model calls web_search, Parley runs it and asks again (two requests).
 * added TTFT = first text delta − request sent − the fake's first-token delays (one per request),
 * so "one round − plain" is what a tool round costs the server: a second provider request's
 * overhead, the tool call (a local search: its own time is also printed), the events and writes.
 * Options: --samples 40  --first-token 200
 */
import { Client } from '../tests/support/client';
import { SseReader } from '../tests/support/sse';
import { startFakeSearxng } from '../tests/support/fake-searxng';
import { median, percentile, startBenchStack } from './support';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const SAMPLES = Number(arg('samples', '40'));
const FIRST_TOKEN_MS = Number(arg('first-token', '200'));

const searx = await startFakeSearxng();
console.error('starting PostgreSQL, the fake provider and the server…');
const stack = await startBenchStack({ SEARXNG_URL: searx.url }, (fake) => {
  fake.chat.defaults.firstTokenDelayMs = FIRST_TOKEN_MS;
});
const { base, fake } = stack;
const client = new Client(base);
await client.json('POST', '/api/auth/register', { email: 'bench-tools@example.test', password: `pw-${crypto.randomUUID()}` });
const thread = (await client.json('POST', '/api/threads', { title: 'bench', model: 'openai:gpt-4o' })).body.thread.id as string;

async function reply(rounds: 0 | 1) {
  fake.reset();
  fake.chat.defaults.firstTokenDelayMs = FIRST_TOKEN_MS;
  if (rounds) fake.chat.script({ toolCalls: [{ name: 'web_search', arguments: { query: 'parley' } }] }, { text: 'Here [1] it is.' });
  else fake.chat.script({ text: 'Here it is.' });
  const started = performance.now();
  const res = await client.request('POST', `/api/threads/${thread}/messages`, { id: crypto.randomUUID(), content: 'What is Parley?' });
  const sse = new SseReader(res);
  let first = 0;
  let toolMs = 0;
  for (let e = await sse.next(); e; e = await sse.next()) {
    if (e.event === 'delta' && !first) first = performance.now();
    if (e.event === 'done') toolMs = (e.data.message?.toolCalls ?? []).reduce((n, c) => n + (c.ms ?? 0), 0);
  }
  if (fake.chat.requests.length !== rounds + 1) throw new Error(`expected ${rounds + 1} provider requests, got ${fake.chat.requests.length}`);
  return { added: first - started - FIRST_TOKEN_MS * (rounds + 1), toolMs };
}

// Warm up (connections, JIT, the model list), then measure alternately.
for (let i = 0; i < 5; i++) await reply((i % 2) as 0 | 1);
const plain: number[] = [];
const round: number[] = [];
const tool: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  plain.push((await reply(0)).added);
  const r = await reply(1);
  round.push(r.added);
  tool.push(r.toolMs);
}
await stack.stop();
searx.stop();

const f = (x: number) => x.toFixed(1);
console.log(`\n${SAMPLES} replies each, fake first-token delay ${FIRST_TOKEN_MS} ms per provider request (subtracted)\n`);
console.log('| reply | added TTFT p50 | p95 |');
console.log('|---|---|---|');
console.log(`| plain (tools offered, none called) | ${f(median(plain))} ms | ${f(percentile(plain, 95))} ms |`);
console.log(`| one tool round (web_search) | ${f(median(round))} ms | ${f(percentile(round, 95))} ms |`);
console.log(`| of which the search tool itself | ${f(median(tool))} ms | ${f(percentile(tool, 95))} ms |`);
console.log(`\nA tool round adds ${f(median(round) - median(plain))} ms (p50) to the time to first token, beyond the model's own second request.`);
