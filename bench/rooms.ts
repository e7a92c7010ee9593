/**
 * bun run bench:rooms — live delivery in rooms.
 *
 * 20 rooms × 10 members, every member's event stream open (200 streams); each room gets
 * 5 messages a second from its members, and one of them every 10 s calls the assistant
 * (the fake provider answers in ~1 s). Measured: for each message, the time from just
 * before its POST to its arrival on the LAST of its room's 10 streams (p50/p95/p99), how
 * many arrivals were lost or duplicated, and the server's memory. Run on one instance, then
 * on two (server processes on one PostgreSQL, half of each room's members on each).
 *
 * Options: --seconds 180  --rooms 20  --members 10  --rate 5  --instances 1,2
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../tests/support/client';
import { freePort, percentile, root, startBenchStack } from './support';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const SECONDS = Number(arg('seconds', '60'));
const ROOMS = Number(arg('rooms', '20'));
const MEMBERS = Number(arg('members', '10'));
const RATE = Number(arg('rate', '5'));
const INSTANCES = arg('instances', '1,2').split(',').map(Number);

const kb = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);

/** Reads one room stream, noting when each user message first arrived (and any second time). */
async function follow(client: Client, roomId: string, seen: Map<string, number>, dupes: { n: number }, signal: AbortSignal) {
  const res = await client.request('GET', `/api/rooms/${roomId}/events`, undefined, { signal });
  if (res.status !== 200) throw new Error(`events: ${res.status}`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!block.startsWith('id:') || !block.includes('event: message')) continue;
        const data = JSON.parse(block.slice(block.indexOf('data:') + 5));
        if (data.message.role !== 'user') continue;
        if (seen.has(data.message.id)) dupes.n++;
        else seen.set(data.message.id, performance.now());
      }
    }
  } catch {
    /* aborted at the end */
  }
}

async function run(instances: number) {
  const stack = await startBenchStack({ ROOM_MESSAGE_LIMIT: '100000', LOG_LEVEL: 'error' }, (fake) => {
    fake.chat.defaults.firstTokenDelayMs = 300;
    fake.chat.defaults.chunkDelayMs = 30;
  });
  const bases = [stack.base];
  const extra: ReturnType<typeof Bun.spawn>[] = [];
  for (let i = 1; i < instances; i++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = Bun.spawn(['bun', join(root, 'server/index.ts')], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: stack.base, // one origin, as behind a proxy
        DATA_DIR: stack.dataDir, // the same APP_SECRET
        DATABASE_URL: stack.cluster.url,
        OPENAI_BASE_URL: stack.fake.openaiBaseUrl,
        OPENAI_API_KEY: 'bench',
        DEFAULT_MODEL: 'openai:gpt-4o-mini',
        AUTH_IP_LIMIT: '1000000',
        ROOM_MESSAGE_LIMIT: '100000',
        LOG_LEVEL: 'error',
      },
      stdout: 'ignore',
      stderr: 'inherit',
    });
    extra.push(proc);
    while (!(await fetch(`${base}/api/health`).then((r) => r.ok, () => false))) await Bun.sleep(50);
    bases.push(base);
  }
  try {
    console.error(`${instances} instance(s): signing up ${ROOMS * MEMBERS} people…`);
    const people: { client: Client; email: string }[] = [];
    for (let i = 0; i < ROOMS * MEMBERS; i++) {
      const client = new Client(stack.base, { origin: stack.base });
      const email = `bench-${i}-${Date.now()}@example.test`;
      const res = await client.request('POST', '/api/auth/register', { email, password: `pw-${crypto.randomUUID()}`, name: `P${i}` });
      if (res.status !== 201) throw new Error(`register: ${res.status}`);
      people.push({ client, email });
    }
    const rooms: { id: string; members: { client: Client; email: string }[] }[] = [];
    for (let r = 0; r < ROOMS; r++) {
      const members = people.slice(r * MEMBERS, (r + 1) * MEMBERS);
      const res = await members[0]!.client.request('POST', '/api/rooms', { name: `Room ${r}`, visibility: 'private' });
      const { room } = await res.json();
      for (const m of members.slice(1)) await members[0]!.client.request('POST', `/api/rooms/${room.id}/members`, { email: m.email });
      rooms.push({ id: room.id, members });
    }

    // Every member's stream, spread over the instances.
    const stop = new AbortController();
    const arrivals = rooms.map(() => [] as Map<string, number>[]);
    const dupes = { n: 0 };
    const streams: Promise<void>[] = [];
    rooms.forEach((room, r) =>
      room.members.forEach((m, i) => {
        const via = new Client(bases[i % bases.length]!, { origin: stack.base });
        via.cookies = m.client.cookies;
        const seen = new Map<string, number>();
        arrivals[r]!.push(seen);
        streams.push(follow(via, room.id, seen, dupes, stop.signal));
      }),
    );
    await Bun.sleep(1500); // streams connected (their first catch-up done)
    const pid = stack.server.pid;
    const rssWarm = kb(pid, 'VmRSS');

    console.error(`${instances} instance(s): ${SECONDS} s of traffic…`);
    const posted: { room: number; id: string; at: number }[] = [];
    let failed = 0;
    const started = performance.now();
    const interval = 1000 / RATE;
    const posts: Promise<void>[] = [];
    const tick = (r: number, n: number) => {
      const room = rooms[r]!;
      const author = room.members[n % MEMBERS]!;
      const ai = n % (RATE * 10) === 0; // one assistant call per room every 10 s
      const id = crypto.randomUUID();
      const at = performance.now();
      posted.push({ room: r, id, at });
      posts.push(
        author.client
          .request('POST', `/api/rooms/${room.id}/messages`, { id, content: ai ? `@ai summarise message ${n}` : `message ${n}` })
          .then(async (res) => {
            if (res.status !== 201) failed++;
            await res.arrayBuffer();
          }, () => void failed++),
      );
    };
    const timers = rooms.map((_, r) => {
      let n = 0;
      // Rooms start staggered over one interval, as real traffic would be.
      return setTimeout(() => {
        tick(r, n++);
        timers[r] = setInterval(() => tick(r, n++), interval) as unknown as ReturnType<typeof setTimeout>;
      }, (r * interval) / ROOMS);
    });
    await Bun.sleep(SECONDS * 1000);
    for (const t of timers) clearInterval(t as unknown as ReturnType<typeof setInterval>), clearTimeout(t);
    await Promise.all(posts);
    await Bun.sleep(3000); // the last deliveries
    stop.abort();
    await Promise.allSettled(streams);
    const elapsed = (performance.now() - started) / 1000;

    const latencies: number[] = [];
    let lost = 0;
    for (const p of posted) {
      let last = 0;
      for (const seen of arrivals[p.room]!) {
        const t = seen.get(p.id);
        if (t === undefined) lost++;
        else last = Math.max(last, t - p.at);
      }
      latencies.push(last);
    }
    const mem = { warm: rssWarm / 1024, peak: kb(pid, 'VmHWM') / 1024, after: kb(pid, 'VmRSS') / 1024 };
    return {
      instances,
      messages: posted.length,
      perSecond: posted.length / elapsed,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      lost,
      dupes: dupes.n,
      failed,
      mem,
    };
  } finally {
    for (const p of extra) p.kill('SIGTERM');
    await Promise.all(extra.map((p) => p.exited));
    await stack.stop();
  }
}

const rows = [];
for (const n of INSTANCES) rows.push(await run(n));
console.log(`\nRooms: ${ROOMS} rooms × ${MEMBERS} members (${ROOMS * MEMBERS} streams), ${RATE} messages/s per room, ${SECONDS} s\n`);
console.log('| instances | messages | msg/s | POST → every member p50 | p95 | p99 | lost | duplicated | POST errors | server RSS warm → peak → after (MB) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  console.log(
    `| ${r.instances} | ${r.messages} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(1)} ms | ${r.p95.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.lost} | ${r.dupes} | ${r.failed} | ${r.mem.warm.toFixed(0)} → ${r.mem.peak.toFixed(0)} → ${r.mem.after.toFixed(0)} |`,
  );
}
