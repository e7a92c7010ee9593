/** Folders, archive, full-text search, export and import (issue 15), against a real server and database. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync, zipSync, strFromU8 } from 'fflate';
import { signUp, type Client } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { newThread } from '../support/threads';
import { makePng } from '../support/fake-provider/images';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
}, 60_000);
afterAll(() => server.stop(), 30_000);

const fixture = (name: string) => readFileSync(join(import.meta.dir, '..', 'fixtures', 'import', name));

function importForm(bytes: Uint8Array | string, name: string) {
  const form = new FormData();
  form.append('file', new Blob([bytes as BlobPart]), name);
  return form;
}

async function importFile(client: Client, bytes: Uint8Array | string, name = 'conversations.json') {
  const res = await client.post('/api/import', importForm(bytes, name));
  return { status: res.status, body: await res.json() };
}

async function allMessages(client: Client, threadId: string) {
  const { body } = await client.json('GET', `/api/threads/${threadId}/messages?limit=200`);
  return body.messages;
}

async function threadsByTitle(client: Client) {
  const { body } = await client.json('GET', '/api/threads?limit=200');
  return new Map(body.threads.map((t) => [t.title, t]));
}

describe('folders', () => {
  test('create, rename, its model and prompt apply to new threads, move, delete keeps threads unfiled', async () => {
    const { client } = await signUp(server.url);
    const made = await client.json('POST', '/api/folders', { name: ' Cooking ', systemPrompt: 'You are a chef.' });
    expect(made.status).toBe(201);
    const folder = made.body.folder;
    expect(folder).toMatchObject({ name: 'Cooking', systemPrompt: 'You are a chef.', model: null });

    const inFolder = await newThread(client, { title: 'Bread', folderId: folder.id });
    expect(inFolder).toMatchObject({ folderId: folder.id, systemPrompt: 'You are a chef.', archived: false });
    const own = await newThread(client, { title: 'Own prompt', folderId: folder.id, systemPrompt: 'Mine.' });
    expect(own.systemPrompt).toBe('Mine.');

    const renamed = await client.json('PATCH', `/api/folders/${folder.id}`, { name: 'Kitchen' });
    expect(renamed.body.folder.name).toBe('Kitchen');

    const loose = await newThread(client, { title: 'Loose' });
    const moved = await client.json('PATCH', `/api/threads/${loose.id}`, { folderId: folder.id });
    expect(moved.body.thread.folderId).toBe(folder.id);
    const listed = await client.json('GET', `/api/threads?folderId=${folder.id}`);
    expect(listed.body.threads.map((t) => t.title).sort()).toEqual(['Bread', 'Loose', 'Own prompt']);
    expect((await client.json('GET', '/api/threads?folderId=none')).body.threads).toEqual([]);

    const before = (await client.json('GET', '/api/sync')).body.cursor;
    expect((await client.delete(`/api/folders/${folder.id}`)).status).toBe(204);
    expect((await client.json('GET', `/api/folders/${folder.id}`)).status).toBe(404);
    const after = await client.json('GET', `/api/threads?folderId=none`);
    expect(after.body.threads.length).toBe(3);
    const sync = await client.json('GET', `/api/sync?since=${before}`);
    expect(sync.body.deletedFolderIds).toEqual([folder.id]);
    expect(sync.body.threads.map((t) => t.folderId)).toEqual([null, null, null]);
    expect((await client.json('GET', '/api/folders')).body.folders).toEqual([]);
  });

  test('folders sync to offline copies', async () => {
    const { client } = await signUp(server.url);
    const { body } = await client.json('POST', '/api/folders', { name: 'Work' });
    const sync = await client.json('GET', '/api/sync');
    expect(sync.body.folders.map((f) => f.id)).toEqual([body.folder.id]);
  });

  test("someone else's folder is absent: no read, rename, delete, filing or starting a thread in it", async () => {
    const { client: alice } = await signUp(server.url, 'alice');
    const { client: bob } = await signUp(server.url, 'bob');
    const { body } = await alice.json('POST', '/api/folders', { name: 'Private' });
    const id = body.folder.id;
    expect((await bob.json('GET', `/api/folders/${id}`)).status).toBe(404);
    expect((await bob.json('PATCH', `/api/folders/${id}`, { name: 'Mine' })).status).toBe(404);
    expect((await bob.delete(`/api/folders/${id}`)).status).toBe(404);
    const thread = await newThread(bob, { title: 'x' });
    expect((await bob.json('PATCH', `/api/threads/${thread.id}`, { folderId: id })).status).toBe(404);
    expect((await bob.json('POST', '/api/threads', { folderId: id })).status).toBe(404);
    expect((await alice.json('GET', `/api/folders/${id}`)).body.folder.name).toBe('Private');
  });

  test('bad input names the field', async () => {
    const { client } = await signUp(server.url);
    for (const [body, field] of [
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ name: 'ok', model: 'nope' }, 'model'],
    ] as const) {
      const res = await client.json('POST', '/api/folders', body);
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.error.fields)).toContain(field);
    }
    expect((await client.json('POST', '/api/folders', { name: '   ' })).status).toBe(400);
    expect((await client.json('GET', '/api/threads?folderId=bogus')).status).toBe(400);
  });

  test('archive and unarchive; the archived filter', async () => {
    const { client } = await signUp(server.url);
    const a = await newThread(client, { title: 'Old' });
    await newThread(client, { title: 'Current' });
    const archived = await client.json('PATCH', `/api/threads/${a.id}`, { archived: true });
    expect(archived.body.thread.archived).toBe(true);
    expect((await client.json('GET', '/api/threads?archived=true')).body.threads.map((t) => t.title)).toEqual(['Old']);
    expect((await client.json('GET', '/api/threads?archived=false')).body.threads.map((t) => t.title)).toEqual(['Current']);
    await client.json('PATCH', `/api/threads/${a.id}`, { archived: false });
    expect((await client.json('GET', '/api/threads?archived=true')).body.threads).toEqual([]);
  });
});

describe('search', () => {
  test('finds a word in the middle of a message and in titles; snippets mark only the match', async () => {
    const { client } = await signUp(server.url);
    await importFile(client, fixture('chatgpt-conversations.json'));
    const res = await client.json('GET', '/api/search?q=acetone');
    expect(res.status).toBe(200);
    expect(res.body.results.length).toBe(1);
    const [hit] = res.body.results;
    expect(hit.title).toBe('Sourdough starter help');
    expect(hit.messageId).toBeTruthy();
    expect(hit.snippet).toContain('<mark>acetone</mark>');

    const title = await client.json('GET', '/api/search?q=sourdough');
    expect(title.body.results.some((r: { messageId: string | null; snippet: string }) => r.messageId === null && r.snippet.includes('<mark>Sourdough</mark>'))).toBe(true);

    // Prefix of the last word, as while typing.
    expect((await client.json('GET', '/api/search?q=nail%20pol')).body.results.length).toBe(1);

    // HTML in a message is text in the snippet.
    const xss = await client.json('GET', '/api/search?q=treasure');
    const snippet = xss.body.results[0].snippet;
    expect(snippet).not.toContain('<script');
    expect(snippet.replace(/<\/?mark>/g, '')).not.toMatch(/[<>]/);
  });

  test("never finds someone else's messages; bad queries are 400 or empty", async () => {
    const { client: alice } = await signUp(server.url, 'alice');
    const { client: bob } = await signUp(server.url, 'bob');
    await importFile(alice, fixture('claude-conversations.json'));
    expect((await alice.json('GET', '/api/search?q=Belém')).body.results.length).toBe(1);
    expect((await bob.json('GET', '/api/search?q=Belém')).body.results).toEqual([]);
    expect((await bob.json('GET', '/api/search?q=')).status).toBe(400);
    expect((await bob.json('GET', `/api/search?q=${'x'.repeat(201)}`)).status).toBe(400);
    expect((await bob.json('GET', `/api/search?q=${encodeURIComponent("'&|!:*()")}`)).body.results).toEqual([]);
    expect((await new (alice.constructor as typeof Client)(server.url).request('GET', '/api/search?q=x')).status).toBe(401);
  });
});

describe('import', () => {
  test('a ChatGPT export: branches stay branches, titles and times kept, tools left out, code kept', async () => {
    const { client } = await signUp(server.url);
    const res = await importFile(client, fixture('chatgpt-conversations.json'));
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ imported: { threads: 2, messages: 7 }, skipped: 0 }); // the system message is the prompt
    const threads = await threadsByTitle(client);
    const sourdough = threads.get('Sourdough starter help')!;
    expect(sourdough.createdAt).toBe(new Date(1714000000123).toISOString());
    const messages = await allMessages(client, sourdough.id);
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    const a1 = messages[1]!;
    const children = messages.filter((m) => m.parentId === a1.id);
    expect(children.map((m) => m.content)).toEqual(['What flour ratio?', 'What ratio of rye to wheat flour, edited after a photo?']);
    const code = messages.find((m) => m.content.startsWith('```python'))!;
    expect(code.parentId).toBe(children[0]!.id); // the tool node between them is left out
    expect(code.model).toBe('openai:gpt-4o');
    const pirate = threads.get('Custom instructions')!;
    expect(pirate.systemPrompt).toBe('Answer like a pirate.');
  });

  test('the same file twice imports nothing new', async () => {
    const { client } = await signUp(server.url);
    await importFile(client, fixture('chatgpt-conversations.json'));
    const again = await importFile(client, fixture('chatgpt-conversations.json'));
    expect(again.body).toEqual({ imported: { threads: 0, messages: 0 }, skipped: 2 });
    expect((await threadsByTitle(client)).size).toBe(2);
  });

  test('a ChatGPT zip with its image', async () => {
    const { client } = await signUp(server.url);
    const png = makePng(3, 3, [10, 200, 30]);
    const zip = zipSync({
      'conversations.json': new Uint8Array(fixture('chatgpt-conversations.json')),
      'file-Starter01-starter.png': png,
      'chat.html': new TextEncoder().encode('<html></html>'),
    });
    const res = await importFile(client, zip, 'export.zip');
    expect(res.status).toBe(201);
    const sourdough = (await threadsByTitle(client)).get('Sourdough starter help')!;
    const withImage = (await allMessages(client, sourdough.id)).find((m) => m.attachments.length)!;
    expect(withImage.attachments[0]!.mime).toBe('image/png');
    const file = await client.get(withImage.attachments[0]!.url);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(png);
  });

  test('a Claude export, with its branch', async () => {
    const { client } = await signUp(server.url);
    const res = await importFile(client, fixture('claude-conversations.json'));
    expect(res.body.imported).toEqual({ threads: 1, messages: 3 });
    const lisbon = (await threadsByTitle(client)).get('Trip to Lisbon')!;
    const messages = await allMessages(client, lisbon.id);
    expect(messages.filter((m) => m.parentId === messages[0]!.id).length).toBe(2);
    expect(messages[2]!.content).toContain('itinerary.pdf');
  });

  test('malformed files get a clear error naming the problem, and nothing is imported', async () => {
    const { client } = await signUp(server.url);
    const good = JSON.parse(fixture('chatgpt-conversations.json').toString());
    const cases: [string | Uint8Array, RegExp][] = [
      [JSON.stringify([good[0], { title: 'Broken', conversation_id: 'b' }]), /conversation 2 \("Broken"\) has no mapping/],
      [JSON.stringify(good).slice(0, -20), /ends before it is complete/],
      ['not json at all', /neither JSON nor a zip/],
      ['', /empty/],
      [zipSync({ 'readme.txt': new TextEncoder().encode('hi') }), /no conversations.json/],
      [JSON.stringify([{ foo: 1 }]), /not a ChatGPT, Claude or Parley conversation/],
    ];
    for (const [bytes, message] of cases) {
      const res = await importFile(client, bytes);
      expect(res.status).toBe(400);
      expect(res.body.error.fields.file).toMatch(message);
    }
    expect((await client.json('GET', '/api/threads')).body.threads).toEqual([]);
    const wrongType = await client.post('/api/import', '{}', { headers: { 'content-type': 'application/json' } });
    expect(wrongType.status).toBe(415);
    const noFile = new FormData();
    noFile.append('other', 'x');
    expect((await client.post('/api/import', noFile)).status).toBe(400);
  });
});

describe('export', () => {
  test('a thread as Markdown and JSON; someone else cannot', async () => {
    const { client } = await signUp(server.url);
    await importFile(client, fixture('chatgpt-conversations.json'));
    const thread = (await threadsByTitle(client)).get('Sourdough starter help')!;
    const md = await client.get(`/api/threads/${thread.id}/export?format=md`);
    expect(md.headers.get('content-type')).toContain('text/markdown');
    expect(md.headers.get('content-disposition')).toContain('Sourdough-starter-help');
    const text = await md.text();
    expect(text).toContain('# Sourdough starter help');
    expect(text).toContain('Try 20% rye');
    expect(text).not.toContain('What flour ratio?'); // another branch: in the JSON only
    const json = await (await client.get(`/api/threads/${thread.id}/export?format=json`)).json();
    expect(json.format).toBe('parley');
    expect(json.threads[0].messages.length).toBe(6);

    const { client: other } = await signUp(server.url);
    expect((await other.get(`/api/threads/${thread.id}/export?format=md`)).status).toBe(404);
    // The thread's JSON is a Parley export: it imports into another account, branches and all.
    const again = await importFile(other, JSON.stringify(json), 'thread.json');
    expect(again.body).toEqual({ imported: { threads: 1, messages: 6 }, skipped: 0 });
    expect((await client.get(`/api/threads/${thread.id}/export?format=pdf`)).status).toBe(400);
  });

  test('the account zip re-imported into a new account reproduces its threads, branches, folders and images', async () => {
    const { client } = await signUp(server.url);
    const png = makePng(2, 2, [1, 2, 3]);
    await importFile(
      client,
      zipSync({ 'conversations.json': new Uint8Array(fixture('chatgpt-conversations.json')), 'file-Starter01.png': png }),
      'export.zip',
    );
    const { body } = await client.json('POST', '/api/folders', { name: 'Baking' });
    const sourdough = (await threadsByTitle(client)).get('Sourdough starter help')!;
    await client.json('PATCH', `/api/threads/${sourdough.id}`, { folderId: body.folder.id, pinned: true });

    const res = await client.get('/api/export');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    const zip = new Uint8Array(await res.arrayBuffer());
    const entries = unzipSync(zip);
    const names = Object.keys(entries);
    expect(names).toContain('manifest.json');
    expect(names).toContain('threads.json');
    expect(names.filter((n) => n.startsWith('markdown/')).length).toBe(2);
    expect(names.filter((n) => n.startsWith('files/')).length).toBe(1);
    const threads = JSON.parse(strFromU8(entries['threads.json']!));
    expect(threads.find((t: { title: string }) => t.title === 'Sourdough starter help').folder).toBe('Baking');

    const { client: fresh } = await signUp(server.url);
    const imported = await importFile(fresh, zip, 'parley-export.zip');
    expect(imported.body).toEqual({ imported: { threads: 2, messages: 7 }, skipped: 0 });
    const copies = await threadsByTitle(fresh);
    const copy = copies.get('Sourdough starter help')!;
    expect(copy.pinned).toBe(true);
    const original = await allMessages(client, sourdough.id);
    const copied = await allMessages(fresh, copy.id);
    const shape = (ms: typeof original) =>
      ms.map((m) => [m.role, m.content, m.createdAt, m.parentId ? ms.findIndex((p) => p.id === m.parentId) : -1, m.attachments.length]);
    expect(shape(copied)).toEqual(shape(original));
    const image = copied.find((m) => m.attachments.length)!;
    expect(new Uint8Array(await (await fresh.get(image.attachments[0]!.url)).arrayBuffer())).toEqual(png);
    // And a second time: nothing new.
    expect((await importFile(fresh, zip, 'parley-export.zip')).body.skipped).toBe(2);
  });
});
