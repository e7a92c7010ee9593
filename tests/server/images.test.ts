import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { Client, signUp } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { newThread } from '../support/threads';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { makePng } from '../support/fake-provider/images';
import { checkUrl, isPublicAddress } from '../../server/http/safe-fetch';

let server: TestServer;
let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'test',
    IMAGE_PROVIDER: 'openai',
    PROVIDER_TIMEOUT_MS: '1500',
  });
}, 60_000);
afterAll(async () => {
  await server.stop();
  fake.stop();
});
beforeEach(() => fake.reset());

const fileCount = async (userId: string) =>
  Number((await server.db.sql<{ n: string }[]>`select count(*)::text as n from files where user_id = ${userId}`)[0]!.n);

async function bytesOf(client: Client, path: string) {
  const res = await client.get(path);
  expect(res.status).toBe(200);
  return { bytes: new Uint8Array(await res.arrayBuffer()), res };
}

describe('generation through the OpenAI SDK', () => {
  test('b64_json: stored, added to the thread as an assistant message, visible in messages and sync', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    const sync0 = await client.json('GET', '/api/sync');
    const image = makePng(8, 6, [10, 120, 250]);
    fake.images.image = image;

    const res = await client.json('POST', '/api/images', { prompt: 'a blue square at dawn', threadId: thread.id, size: '1024x1024' });
    expect(res.status).toBe(201);
    expect(fake.images.prompts).toEqual(['a blue square at dawn']);
    expect(fake.images.bodies[0]).toMatchObject({ prompt: 'a blue square at dawn', n: 1, size: '1024x1024' });
    const { file, message } = res.body;
    expect(file).toMatchObject({ mime: 'image/png', url: `/api/files/${file.id}`, size: image.length });
    expect(file.name).toBe('a-blue-square-at-dawn.png');
    expect(message).toMatchObject({
      threadId: thread.id,
      role: 'assistant',
      status: 'complete',
      content: 'a blue square at dawn',
      parentId: null,
      attachments: [{ id: file.id, mime: 'image/png', url: file.url }],
    });
    expect(message.model).toStartWith('openai:');

    // The download button: the same bytes, as an attachment.
    const { bytes, res: download } = await bytesOf(client, `${file.url}?download=1`);
    expect(bytes).toEqual(image);
    expect(download.headers.get('content-disposition')).toStartWith('attachment; filename="a-blue-square-at-dawn.png"');

    const listed = await client.json('GET', `/api/threads/${thread.id}/messages`);
    expect(listed.status).toBe(200);
    expect(listed.body.messages).toHaveLength(1);
    expect(listed.body.messages[0]).toMatchObject({ id: message.id, attachments: [{ id: file.id }] });

    const sync = await client.json('GET', `/api/sync?since=${sync0.body.cursor}`);
    expect(sync.body.messages.map((m: { id: string }) => m.id)).toEqual([message.id]);
    expect(sync.body.threads.map((t: { id: string }) => t.id)).toEqual([thread.id]);
    const after = (await client.json('GET', `/api/threads/${thread.id}`)).body.thread;
    expect(new Date(after.updatedAt).getTime()).toBeGreaterThan(new Date(thread.updatedAt).getTime());
  });

  test('a chat started by an image is named after its prompt; a title already given stays', async () => {
    const { client } = await signUp(server.url);
    const untitled = await newThread(client, {});
    expect(untitled.title).toBe('');
    await client.json('POST', '/api/images', { prompt: 'a lighthouse on a cliff at night, in watercolour', threadId: untitled.id });
    expect((await client.json('GET', `/api/threads/${untitled.id}`)).body.thread.title).toBe('a lighthouse on a cliff at night, in watercolour');
    // The title change reaches other devices through sync too.
    const synced = await client.json('GET', '/api/sync');
    expect(synced.body.threads.find((t: { id: string }) => t.id === untitled.id)?.title).toBe('a lighthouse on a cliff at night, in watercolour');

    const named = await newThread(client, { title: 'Holiday cards' });
    await client.json('POST', '/api/images', { prompt: 'a snowy village', threadId: named.id });
    expect((await client.json('GET', `/api/threads/${named.id}`)).body.thread.title).toBe('Holiday cards');
  });

  test('url: the image is downloaded from the provider, stored and linked; a second one follows the first', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    fake.images.mode = 'url';
    const image = makePng(5, 5, [1, 2, 3]);
    fake.images.image = image;
    const first = await client.json('POST', '/api/images', { prompt: 'first', threadId: thread.id });
    expect(first.status).toBe(201);
    expect(fake.images.downloads).toHaveLength(1);
    expect((await bytesOf(client, first.body.file.url)).bytes).toEqual(image);

    const second = await client.json('POST', '/api/images', { prompt: 'second', threadId: thread.id });
    expect(second.status).toBe(201);
    expect(second.body.message.parentId).toBe(first.body.message.id);
  });

  test('a redirect on the provider’s own origin is followed', async () => {
    const { client } = await signUp(server.url);
    fake.images.mode = 'url';
    fake.images.redirectTo = `${fake.url}/files/final.png`;
    const res = await client.json('POST', '/api/images', { prompt: 'redirected' });
    expect(res.status).toBe(201);
    expect(fake.images.downloads).toEqual([expect.stringMatching(/^\/files\/img-/), '/files/final.png']);
  });

  test('without a thread: just the file, no message', async () => {
    const { client } = await signUp(server.url);
    const res = await client.json('POST', '/api/images', { prompt: 'a cat' });
    expect(res.status).toBe(201);
    expect(res.body.message).toBeUndefined();
    expect((await bytesOf(client, res.body.file.url)).bytes).toEqual(fake.images.image);
  });
});

describe('refusals', () => {
  test('someone else’s thread → 404, nothing generated, nothing stored, their thread untouched', async () => {
    const a = await signUp(server.url);
    const b = await signUp(server.url);
    const thread = await newThread(a.client);
    const res = await b.client.json('POST', '/api/images', { prompt: 'sneaky', threadId: thread.id });
    expect(res.status).toBe(404);
    expect(fake.images.prompts).toEqual([]);
    expect(await fileCount(b.user.id)).toBe(0);
    expect((await a.client.json('GET', `/api/threads/${thread.id}/messages`)).body.messages).toEqual([]);
    expect((await b.client.json('POST', '/api/images', { prompt: 'x', threadId: crypto.randomUUID() })).status).toBe(404);
  });

  test('anonymous → 401; bad input → 400 with fields', async () => {
    expect((await new Client(server.url).json('POST', '/api/images', { prompt: 'x' })).status).toBe(401);
    const { client } = await signUp(server.url);
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'prompt'],
      [{ prompt: '' }, 'prompt'],
      [{ prompt: '   ' }, 'prompt'],
      [{ prompt: 'x'.repeat(4001) }, 'prompt'],
      [{ prompt: 'x', size: '10x10; rm' }, 'size'],
      [{ prompt: 'x', threadId: 'nope' }, 'threadId'],
    ];
    for (const [body, field] of cases) {
      const res = await client.json('POST', '/api/images', body);
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.error.fields)).toEqual([field]);
    }
    expect(fake.images.prompts).toEqual([]);
  });

  test('provider failure → 502, nothing stored', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client);
    fake.images.fail = { status: 500, message: 'melted' };
    const res = await client.json('POST', '/api/images', { prompt: 'x', threadId: thread.id });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('provider_error');
    expect(await fileCount(user.id)).toBe(0);
    expect((await client.json('GET', `/api/threads/${thread.id}/messages`)).body.messages).toEqual([]);
  });

  test('provider timeout → 504 within the deadline', async () => {
    const { client, user } = await signUp(server.url);
    fake.images.hang = true;
    const started = performance.now();
    const res = await client.json('POST', '/api/images', { prompt: 'slow' });
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('provider_timeout');
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await fileCount(user.id)).toBe(0);
  });

  test('an SVG or HTML "image" from the provider is refused (502), never stored', async () => {
    const { client, user } = await signUp(server.url);
    for (const payload of ['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', '<html><script>x</script>']) {
      fake.images.image = new TextEncoder().encode(payload);
      expect((await client.json('POST', '/api/images', { prompt: 'x' })).status).toBe(502);
      fake.images.mode = 'url';
    }
    expect(await fileCount(user.id)).toBe(0);
  });

  test('rate limited per user: the 21st image in 10 minutes → 429 with Retry-After', async () => {
    const { client } = await signUp(server.url);
    for (let i = 0; i < 20; i++) expect((await client.json('POST', '/api/images', { prompt: `n${i}` })).status).toBe(201);
    const limited = await client.json('POST', '/api/images', { prompt: 'one more' });
    expect(limited.status).toBe(429);
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(fake.images.prompts).toHaveLength(20);
    // Another user is not affected.
    const other = await signUp(server.url);
    expect((await other.client.json('POST', '/api/images', { prompt: 'mine' })).status).toBe(201);
  });
});

describe('SSRF: image URLs from the provider', () => {
  async function refused(url: string | null, redirectTo: string | null = null) {
    const { client, user } = await signUp(server.url);
    fake.reset();
    fake.images.mode = 'url';
    fake.images.url = url;
    fake.images.redirectTo = redirectTo;
    const res = await client.json('POST', '/api/images', { prompt: 'x' });
    expect(res.status).toBe(502);
    expect(await fileCount(user.id)).toBe(0);
    return res;
  }

  test('another host, port or scheme is refused, in every spelling of loopback', async () => {
    const port = new URL(fake.url).port;
    await refused('http://127.0.0.1:1/x.png');
    await refused(`http://localhost:${port}/files/x.png`);
    await refused(`http://2130706433:${port === '80' ? 81 : 1}/x.png`);
    await refused(`http://0177.0.0.1:1/x.png`);
    await refused(`http://[::ffff:127.0.0.1]:${port}/files/x.png`);
    await refused(`https://127.0.0.1:${port}/files/x.png`);
    await refused('http://169.254.169.254/latest/meta-data/');
    await refused('https://[::1]/x.png');
    await refused('file:///etc/passwd');
    await refused('ftp://example.com/x.png');
    await refused(`http://user:pw@127.0.0.1:${port}/files/x.png`);
    // None of these reached the fake's file server under another name.
    expect(fake.images.downloads).toEqual([]);
  });

  test('an image larger than the cap is cut off while downloading (502)', async () => {
    const { client, user } = await signUp(server.url);
    fake.images.mode = 'url';
    const huge = new Uint8Array(21 * 1024 * 1024);
    huge.set(makePng());
    fake.images.image = huge;
    const res = await client.json('POST', '/api/images', { prompt: 'huge' });
    expect(res.status).toBe(502);
    expect(await fileCount(user.id)).toBe(0);
  });

  test('a redirect chain leading to another host is refused at the hop that leaves', async () => {
    const port = new URL(fake.url).port;
    await refused(null, `http://localhost:${port}/files/elsewhere.png`);
    expect(fake.images.downloads).toHaveLength(1); // the first hop only
    await refused(null, 'http://169.254.169.254/latest/meta-data/');
    await refused(null, `http://[::ffff:7f00:1]:${port}/files/x.png`);
  });
});

describe('SSRF: the address rules', () => {
  test('private, loopback, link-local, multicast and mapped addresses are never public', () => {
    const cases: [string, boolean][] = [
      ['127.0.0.1', false], ['10.1.2.3', false], ['172.16.0.1', false], ['172.31.255.255', false], ['192.168.1.1', false],
      ['169.254.169.254', false], ['100.64.0.1', false], ['0.0.0.0', false], ['224.0.0.1', false], ['255.255.255.255', false],
      ['::', false], ['::1', false], ['::ffff:127.0.0.1', false], ['::ffff:7f00:1', false], ['::127.0.0.1', false],
      ['64:ff9b::a9fe:a9fe', false], ['2002:7f00:1::', false], ['fe80::1', false], ['fd12::1', false], ['ff02::1', false],
      ['8.8.8.8', true], ['172.32.0.1', true], ['::ffff:8.8.8.8', true], ['2606:4700::1111', true], ['1:2:3:4:5:6:1.2.3.4', true],
      ['not-an-ip', false], ['', false],
    ];
    for (const [address, expected] of cases) expect([address, isPublicAddress(address)]).toEqual([address, expected]);
  });

  test('URL spellings of loopback (decimal, octal, hex, short, mapped) and local names are refused', async () => {
    for (const url of ['https://2130706433/', 'https://0177.0.0.1/', 'https://0x7f.1/', 'https://127.1/', 'https://[::ffff:127.0.0.1]/',
      'https://localhost/', 'https://printer.local/', 'https://db.internal/', 'https://intranet/', 'http://8.8.8.8/']) {
      await expect(checkUrl(new URL(url), [])).rejects.toThrow();
    }
    await checkUrl(new URL('https://8.8.8.8/x.png'), []);
    await checkUrl(new URL('http://10.0.0.5:8080/v1/x.png'), ['http://10.0.0.5:8080']);
  });
});

describe('other providers', () => {
  test('IMAGE_PROVIDER=none → 503 images_disabled', async () => {
    const off = await startServer({ IMAGE_PROVIDER: 'none' });
    try {
      const { client } = await signUp(off.url);
      const res = await client.json('POST', '/api/images', { prompt: 'x' });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('images_disabled');
    } finally {
      await off.stop();
    }
  }, 30_000); // starts a server of its own

  test('Mistral: the image_generation tool of the Conversations API, file downloaded through the SDK', async () => {
    const mistral = await startServer({
      MISTRAL_SERVER_URL: fake.mistralServerUrl,
      MISTRAL_API_KEY: 'test',
      IMAGE_PROVIDER: 'mistral',
    });
    try {
      const { client } = await signUp(mistral.url);
      const thread = await newThread(client, {});
      const image = makePng(6, 6, [9, 9, 9]);
      fake.images.image = image;
      const res = await client.json('POST', '/api/images', { prompt: 'a grey tile', threadId: thread.id });
      expect(res.status).toBe(201);
      expect(fake.images.prompts).toEqual(['a grey tile']);
      expect(fake.images.bodies[0]).toMatchObject({ tools: [{ type: 'image_generation' }] });
      expect(fake.images.downloads).toEqual([expect.stringMatching(/^\/v1\/files\/fake-image-\d+\/content$/)]);
      expect(res.body.message.model).toStartWith('mistral:');
      const got = await client.get(res.body.file.url);
      expect(new Uint8Array(await got.arrayBuffer())).toEqual(image);

      fake.images.fail = { status: 500 };
      expect((await client.json('POST', '/api/images', { prompt: 'x' })).status).toBe(502);
    } finally {
      await mistral.stop();
    }
  }, 30_000); // starts a server of its own
});
