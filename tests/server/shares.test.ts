import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { Client, signUp } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { newThread } from '../support/threads';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { makePng } from '../support/fake-provider/images';
import { nextSeq } from '../../server/infra/seq';

let server: TestServer;
let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({ OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: 'test', IMAGE_PROVIDER: 'openai' });
}, 60_000);
afterAll(async () => {
  await server.stop();
  fake.stop();
});
beforeEach(() => fake.reset());

type Msg = { id: string; parentId: string | null; role: string; content: string; attachments: { id: string; url: string }[] };

/** The body of the threads these tests share: a title and a model the fork must keep. */
const trip = (title = 'Trip plans') => ({ title, model: 'openai:gpt-4o-mini' });

/** Messages are written straight to the table (as the replies feature would), with a sync seq. */
async function addMessage(
  userId: string,
  threadId: string,
  m: { role: 'user' | 'assistant' | 'system'; content: string; parentId?: string | null; status?: string; attachments?: unknown[] },
) {
  const id = crypto.randomUUID();
  await server.db.sql.begin(async (tx) => {
    const seq = await nextSeq(tx, userId);
    await tx`insert into messages (id, thread_id, user_id, parent_id, role, content, status, attachments, seq)
             values (${id}, ${threadId}, ${userId}, ${m.parentId ?? null}, ${m.role}, ${m.content},
                     ${m.status ?? 'complete'}, ${tx.json((m.attachments ?? []) as never)}, ${seq})`;
  });
  return id;
}

async function share(client: Client, threadId: string) {
  const res = await client.json('POST', `/api/threads/${threadId}/share`);
  expect(res.status).toBe(201);
  return res.body as { code: string; url: string };
}

const anonymous = () => new Client(server.url);

describe('sharing a thread', () => {
  test('a 128-bit code and a public URL; anyone reads the snapshot, uncached', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client, trip());
    const q = await addMessage(user.id, thread.id, { role: 'user', content: 'Where should we go?' });
    await addMessage(user.id, thread.id, { role: 'assistant', content: 'Lisbon.', parentId: q });
    const { code, url } = await share(client, thread.id);
    expect(code).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(Buffer.from(code, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(url).toBe(`${server.config.http.publicUrl}/s/${code}`);
    expect((await share(client, (await newThread(client, trip())).id)).code).not.toBe(code);

    const res = await anonymous().json('GET', `/api/shares/${code}`);
    expect(res.status).toBe(200);
    expect(res.res.headers.get('cache-control')).toBe('no-store');
    expect(res.body.thread).toEqual({ title: 'Trip plans', model: 'openai:gpt-4o-mini', createdAt: expect.any(String) });
    const messages = res.body.messages as Msg[];
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'Where should we go?'],
      ['assistant', 'Lisbon.'],
    ]);
    // The tree survives, under fresh ids: the owner's message ids never leave the account.
    expect(messages[1]!.parentId).toBe(messages[0]!.id);
    expect(messages[0]!.id).not.toBe(q);
  });

  test('the snapshot excludes later messages; sharing again refreshes it and keeps the code', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client, trip());
    const first = await addMessage(user.id, thread.id, { role: 'user', content: 'one' });
    const { code } = await share(client, thread.id);
    await addMessage(user.id, thread.id, { role: 'assistant', content: 'two', parentId: first });
    const before = await anonymous().json('GET', `/api/shares/${code}`);
    expect(before.body.messages.map((m: Msg) => m.content)).toEqual(['one']);

    const again = await share(client, thread.id);
    expect(again.code).toBe(code);
    const after = await anonymous().json('GET', `/api/shares/${code}`);
    expect(after.body.messages.map((m: Msg) => m.content)).toEqual(['one', 'two']);
  });

  test('streaming and system messages are left out; their children keep a kept ancestor', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client, trip());
    const sys = await addMessage(user.id, thread.id, { role: 'system', content: 'secret instructions' });
    const q = await addMessage(user.id, thread.id, { role: 'user', content: 'hi', parentId: sys });
    await addMessage(user.id, thread.id, { role: 'assistant', content: 'half a rep', parentId: q, status: 'streaming' });
    const { code } = await share(client, thread.id);
    const res = await anonymous().json('GET', `/api/shares/${code}`);
    expect(res.body.messages).toHaveLength(1);
    expect(res.body.messages[0]).toMatchObject({ content: 'hi', parentId: null });
    expect(JSON.stringify(res.body)).not.toContain('secret instructions');
  });

  test('the user lists their active shares (paged); others’ are not there', async () => {
    const { client } = await signUp(server.url);
    const t1 = await newThread(client, trip('First'));
    const t2 = await newThread(client, trip('Second'));
    const s1 = await share(client, t1.id);
    const s2 = await share(client, t2.id);
    const other = await signUp(server.url);
    await share(other.client, (await newThread(other.client, trip('Theirs'))).id);

    const list = await client.json('GET', '/api/shares');
    expect(list.status).toBe(200);
    expect(list.body.shares).toEqual([
      { code: s2.code, url: s2.url, threadId: t2.id, title: 'Second', createdAt: expect.any(String), updatedAt: expect.any(String) },
      { code: s1.code, url: s1.url, threadId: t1.id, title: 'First', createdAt: expect.any(String), updatedAt: expect.any(String) },
    ]);
    expect(list.body.nextCursor).toBeNull();
    const page1 = await client.json('GET', '/api/shares?limit=1');
    expect(page1.body.shares.map((s: { code: string }) => s.code)).toEqual([s2.code]);
    const page2 = await client.json('GET', `/api/shares?limit=1&before=${page1.body.nextCursor}`);
    expect(page2.body.shares.map((s: { code: string }) => s.code)).toEqual([s1.code]);
    expect(page2.body.nextCursor).toBeNull();
    expect((await client.json('GET', '/api/shares?before=garbage')).status).toBe(400);
    expect((await anonymous().json('GET', '/api/shares')).status).toBe(401);
  });
});

describe('revoking', () => {
  test('DELETE /api/threads/:id/share → 204 and the link is 404 at once (API, page, files)', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client, trip());
    const image = await client.json('POST', '/api/images', { prompt: 'x', threadId: thread.id });
    const { code } = await share(client, thread.id);
    const fileUrl = `/api/shares/${code}/files/${image.body.file.id}`;
    expect((await anonymous().get(fileUrl)).status).toBe(200);

    expect((await client.request('DELETE', `/api/threads/${thread.id}/share`)).status).toBe(204);
    expect((await anonymous().json('GET', `/api/shares/${code}`)).status).toBe(404);
    const page = await anonymous().get(`/s/${code}`);
    expect(page.status).toBe(404);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect((await anonymous().get(fileUrl)).status).toBe(404);
    expect((await client.json('GET', '/api/shares')).body.shares).toEqual([]);
    // Revoking again is fine; sharing again makes a new code.
    expect((await client.request('DELETE', `/api/threads/${thread.id}/share`)).status).toBe(204);
    expect((await share(client, thread.id)).code).not.toBe(code);
  });

  test('DELETE /api/shares/:code (from the settings list) revokes too', async () => {
    const { client } = await signUp(server.url);
    const { code } = await share(client, (await newThread(client, trip())).id);
    expect((await client.request('DELETE', `/api/shares/${code}`)).status).toBe(204);
    expect((await anonymous().json('GET', `/api/shares/${code}`)).status).toBe(404);
    expect((await client.request('DELETE', `/api/shares/${code}`)).status).toBe(404);
  });

  test('deleting the thread ends its share', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client, trip());
    const { code } = await share(client, thread.id);
    expect((await client.request('DELETE', `/api/threads/${thread.id}`)).status).toBe(204);
    expect((await anonymous().json('GET', `/api/shares/${code}`)).status).toBe(404);
  });
});

describe('someone else’s ids', () => {
  test('another user cannot share, revoke or list someone’s thread or share: 404 and nothing changes', async () => {
    const owner = await signUp(server.url);
    const intruder = await signUp(server.url);
    const thread = await newThread(owner.client, trip());
    await addMessage(owner.user.id, thread.id, { role: 'user', content: 'private' });
    expect((await intruder.client.json('POST', `/api/threads/${thread.id}/share`)).status).toBe(404);
    const [none] = await server.db.sql`select 1 from shares where thread_id = ${thread.id}`;
    expect(none).toBeUndefined();

    const { code } = await share(owner.client, thread.id);
    expect((await intruder.client.request('DELETE', `/api/threads/${thread.id}/share`)).status).toBe(404);
    expect((await intruder.client.request('DELETE', `/api/shares/${code}`)).status).toBe(404);
    expect((await intruder.client.json('GET', '/api/shares')).body.shares).toEqual([]);
    expect((await anonymous().json('GET', `/api/shares/${code}`)).status).toBe(200);
    expect((await intruder.client.json('POST', `/api/threads/${crypto.randomUUID()}/share`)).status).toBe(404);
  });

  test('unknown and malformed codes are the same 404', async () => {
    for (const code of ['A'.repeat(22), 'short', '..%2F..%2Fetc', 'x'.repeat(150), "'; drop table shares; --"]) {
      expect((await anonymous().json('GET', `/api/shares/${encodeURIComponent(code)}`)).status).toBe(404);
      expect((await anonymous().get(`/s/${encodeURIComponent(code)}`)).status).toBe(404);
    }
  });

  test('a share exposes only the files its snapshot shows, and only its owner’s', async () => {
    const { client, user } = await signUp(server.url);
    const shown = await newThread(client, trip('shown'));
    const hidden = await newThread(client, trip('hidden'));
    fake.images.image = makePng(7, 7, [1, 1, 1]);
    const inShare = (await client.json('POST', '/api/images', { prompt: 'in', threadId: shown.id })).body.file;
    fake.images.image = makePng(7, 7, [2, 2, 2]);
    const notInShare = (await client.json('POST', '/api/images', { prompt: 'out', threadId: hidden.id })).body.file;
    // Another user's file id, smuggled into this user's message: never served through the share.
    const other = await signUp(server.url);
    const theirs = (await other.client.json('POST', '/api/images', { prompt: 'theirs' })).body.file;
    await addMessage(user.id, shown.id, { role: 'user', content: 'look', attachments: [theirs] });
    const { code } = await share(client, shown.id);

    const body = (await anonymous().json('GET', `/api/shares/${code}`)).body;
    const attachments = (body.messages as Msg[]).flatMap((m) => m.attachments);
    expect(attachments.map((a) => a.id)).toEqual([inShare.id]);
    expect(attachments[0]!.url).toBe(`/api/shares/${code}/files/${inShare.id}`);

    const ok = await anonymous().get(attachments[0]!.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(new Uint8Array(await ok.arrayBuffer())).toEqual(makePng(7, 7, [1, 1, 1]));
    expect((await anonymous().get(`/api/shares/${code}/files/${notInShare.id}`)).status).toBe(404);
    expect((await anonymous().get(`/api/shares/${code}/files/${theirs.id}`)).status).toBe(404);
    // The owner's own route stays private.
    expect((await anonymous().get(inShare.url)).status).toBe(401);
  });
});

describe('the /s/:code page', () => {
  test('the app shell with escaped Open Graph tags, never cached', async () => {
    const { client, user } = await signUp(server.url);
    const title = `"><script>alert(1)</script> & $& $' Tom's`;
    const thread = await newThread(client, trip(title));
    await addMessage(user.id, thread.id, { role: 'user', content: `  Plan   a <b>trip</b>\n\nto "Lisbon"  ${'word '.repeat(80)}` });
    const { code, url } = await share(client, thread.id);

    const res = await anonymous().get(`/s/${code}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    const escapedTitle = '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; $&amp; $&#39; Tom&#39;s';
    expect(html).toContain(`<meta property="og:title" content="${escapedTitle}">`);
    expect(html).toContain(`<title>${escapedTitle} · Parley</title>`);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain(`<meta property="og:url" content="${url}">`);
    expect(html).toContain('<meta property="og:type" content="article">');
    expect(html).toContain('<meta name="robots" content="noindex, nofollow">');
    const description = html.match(/<meta property="og:description" content="([^"]*)">/)![1]!;
    expect(description).toStartWith('Plan a &lt;b&gt;trip&lt;/b&gt; to &quot;Lisbon&quot; word word');
    expect(description).toEndWith('…');
    expect(description.length).toBeLessThan(260);
    // Exactly one og:title: the injected tags did not duplicate or break the head.
    expect(html.match(/og:title/g)).toHaveLength(1);
    expect(html.match(/<meta name="description"/g)).toHaveLength(1);
    expect(html.match(/<title>/g)).toHaveLength(1);
    expect(html.indexOf('og:title')).toBeLessThan(html.indexOf('</head>'));
  });

  test('gzipped when the browser takes it (the shell carries the stylesheet), plain when not', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client, trip('Compressed'));
    const { code } = await share(client, thread.id);
    const raw = (encoding: string) =>
      fetch(`${server.url}/s/${code}`, { headers: { 'accept-encoding': encoding }, decompress: false } as RequestInit);
    const gz = await raw('gzip, deflate, br');
    expect(gz.status).toBe(200);
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('vary')).toContain('accept-encoding');
    const zipped = new Uint8Array(await gz.arrayBuffer());
    const html = new TextDecoder().decode(Bun.gunzipSync(zipped));
    expect(html).toContain('<meta property="og:title" content="Compressed">');
    expect(zipped.length).toBeLessThan(Buffer.byteLength(html) / 2);
    const plain = await raw('identity');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(html);
  });

  test('a shared image becomes og:image, at the share’s file URL', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client, trip('Art'));
    const image = (await client.json('POST', '/api/images', { prompt: 'a fox', threadId: thread.id })).body.file;
    const { code } = await share(client, thread.id);
    const html = await (await anonymous().get(`/s/${code}`)).text();
    expect(html).toContain(`<meta property="og:image" content="${server.config.http.publicUrl}/api/shares/${code}/files/${image.id}">`);
  });
});

describe('continue this conversation (fork)', () => {
  test('the viewer gets a copy in their own account: same tree, new ids, their own copies of the files', async () => {
    const owner = await signUp(server.url);
    const viewer = await signUp(server.url);
    const thread = await newThread(owner.client, trip('Recipes'));
    const q = await addMessage(owner.user.id, thread.id, { role: 'user', content: 'Soup?' });
    await addMessage(owner.user.id, thread.id, { role: 'assistant', content: 'Tomato.', parentId: q });
    await addMessage(owner.user.id, thread.id, { role: 'assistant', content: 'Leek.', parentId: q }); // a regenerated sibling
    fake.images.image = makePng(9, 9, [4, 5, 6]);
    const image = (await owner.client.json('POST', '/api/images', { prompt: 'soup', threadId: thread.id })).body;
    const { code } = await share(owner.client, thread.id);
    const sync0 = await viewer.client.json('GET', '/api/sync');

    expect((await anonymous().json('POST', `/api/shares/${code}/fork`)).status).toBe(401);
    const fork = await viewer.client.json('POST', `/api/shares/${code}/fork`);
    expect(fork.status).toBe(201);
    const copy = fork.body.thread;
    expect(copy).toMatchObject({ title: 'Recipes', model: 'openai:gpt-4o-mini', systemPrompt: '', pinned: false });
    expect(copy.id).not.toBe(thread.id);
    expect((await viewer.client.json('GET', `/api/threads/${copy.id}`)).status).toBe(200);
    expect((await owner.client.json('GET', `/api/threads/${copy.id}`)).status).toBe(404);

    const messages = (await viewer.client.json('GET', `/api/threads/${copy.id}/messages`)).body.messages as Msg[];
    expect(messages.map((m) => m.content)).toEqual(['Soup?', 'Tomato.', 'Leek.', 'soup']);
    // Original times, strictly ordered even when the originals share a millisecond.
    const times = messages.map((m) => new Date((m as unknown as { createdAt: string }).createdAt).getTime());
    expect(times[0]).toBeLessThanOrEqual(times[3]!);
    const [ordered] = await server.db.sql<{ ok: boolean }[]>`
      select bool_and(created_at < next) as ok from (
        select created_at, lead(created_at) over (order by created_at, id) as next from messages where thread_id = ${copy.id}
      ) x where next is not null`;
    expect(ordered!.ok).toBe(true);
    const [root, a, b, img] = messages;
    expect(root!.parentId).toBeNull();
    expect(a!.parentId).toBe(root!.id);
    expect(b!.parentId).toBe(root!.id);
    expect(img!.parentId).toBe(b!.id);
    expect(root!.id).not.toBe(q);

    // The image is the viewer's own file now; the owner's id stays the owner's.
    const attachment = img!.attachments[0]!;
    expect(attachment.id).not.toBe(image.file.id);
    const got = await viewer.client.get(attachment.url);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(makePng(9, 9, [4, 5, 6]));
    expect((await viewer.client.get(image.file.url)).status).toBe(404);

    // Offline clients see the new thread and its messages through sync.
    const sync = await viewer.client.json('GET', `/api/sync?since=${sync0.body.cursor}`);
    expect(sync.body.threads.map((t: { id: string }) => t.id)).toEqual([copy.id]);
    expect(sync.body.messages).toHaveLength(4);

    // The original is untouched; later owner messages do not reach the copy.
    expect((await owner.client.json('GET', `/api/threads/${thread.id}/messages`)).body.messages).toHaveLength(4);
  });

  test('the fork survives the owner deleting everything (its own files keep their bytes)', async () => {
    const owner = await signUp(server.url);
    const viewer = await signUp(server.url);
    const thread = await newThread(owner.client, trip());
    fake.images.image = makePng(11, 3, [7, 7, 7]);
    await owner.client.json('POST', '/api/images', { prompt: 'kept', threadId: thread.id });
    const { code } = await share(owner.client, thread.id);
    const copy = (await viewer.client.json('POST', `/api/shares/${code}/fork`)).body.thread;
    expect((await owner.client.request('DELETE', '/api/auth/me')).status).toBe(204);
    const messages = (await viewer.client.json('GET', `/api/threads/${copy.id}/messages`)).body.messages as Msg[];
    const got = await viewer.client.get(messages[0]!.attachments[0]!.url);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(makePng(11, 3, [7, 7, 7]));
    expect((await anonymous().json('GET', `/api/shares/${code}`)).status).toBe(404);
  });

  test('forking a revoked or unknown share → 404, nothing created', async () => {
    const owner = await signUp(server.url);
    const viewer = await signUp(server.url);
    const thread = await newThread(owner.client, trip());
    const { code } = await share(owner.client, thread.id);
    await owner.client.request('DELETE', `/api/threads/${thread.id}/share`);
    expect((await viewer.client.json('POST', `/api/shares/${code}/fork`)).status).toBe(404);
    expect((await viewer.client.json('POST', `/api/shares/${'B'.repeat(22)}/fork`)).status).toBe(404);
    expect((await viewer.client.json('GET', '/api/threads')).body.threads).toEqual([]);
  });
});

describe('a thread says whether it is shared', () => {
  test('shared after sharing, not after revoking (by thread or by code); sync carries it; the list order stays', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    expect(thread.shared).toBe(false);
    const cursor = (await client.json('GET', '/api/sync')).body.cursor;

    const { code } = (await client.json('POST', `/api/threads/${thread.id}/share`)).body;
    const shared = (await client.json('GET', `/api/threads/${thread.id}`)).body.thread;
    expect(shared.shared).toBe(true);
    expect(shared.updatedAt).toBe(thread.updatedAt); // sharing is no new activity
    const synced = await client.json('GET', `/api/sync?since=${cursor}`);
    expect(synced.body.threads).toEqual([expect.objectContaining({ id: thread.id, shared: true })]);

    await client.json('DELETE', `/api/shares/${code}`);
    expect((await client.json('GET', `/api/threads/${thread.id}`)).body.thread.shared).toBe(false);
    const afterCode = await client.json('GET', `/api/sync?since=${synced.body.cursor}`);
    expect(afterCode.body.threads).toEqual([expect.objectContaining({ id: thread.id, shared: false })]);

    await client.json('POST', `/api/threads/${thread.id}/share`);
    expect((await client.json('GET', '/api/threads')).body.threads.find((t: { id: string }) => t.id === thread.id)?.shared).toBe(true);
    expect((await client.json('DELETE', `/api/threads/${thread.id}/share`)).status).toBe(204);
    expect((await client.json('GET', `/api/threads/${thread.id}`)).body.thread.shared).toBe(false);
  });
});
