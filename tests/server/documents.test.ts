/**
 * Documents end to end: uploaded through POST /api/files (PDF, DOCX, text, Markdown,
 * CSV, source code), read once (text kept with the file, `textStatus`/`pages`), served
 * only as downloads; their text reaches the model labelled with the file name, trimmed
 * to the model's budget with a note stored on the message; scanned PDFs go through
 * Mistral's OCR (the fake speaks its wire format, reached through the real SDK); hostile
 * files end as `failed` with a reason, at a bounded cost, and the server stays up.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { Client, signUp } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { newThread } from '../support/threads';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { makeDocx, makePdf, makeScannedPdf, makeZipBomb } from '../support/documents';
import { SseReader } from '../support/sse';
import { readDocument } from '../../server/documents/service';
import { documentBudget } from '../../server/replies/context';

let server: TestServer;
let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'test',
    MISTRAL_SERVER_URL: fake.mistralServerUrl,
    MISTRAL_API_KEY: 'server-mistral-key',
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
    PROVIDER_TIMEOUT_MS: '5000',
  });
}, 60_000);
afterAll(async () => {
  await server.stop();
  fake.stop();
}, 30_000);
afterEach(() => fake.reset());

const text = (s: string) => new TextEncoder().encode(s);

async function upload(client: Client, bytes: Uint8Array, name: string, type = '') {
  const data = new FormData();
  data.append('file', new File([bytes as Uint8Array<ArrayBuffer>], name, { type }));
  const res = await client.request('POST', '/api/files', data);
  const body = await res.text();
  return { status: res.status, body: body ? JSON.parse(body) : null };
}

async function send(client: Client, threadId: string, content: string, fileIds: string[]) {
  const res = await client.request('POST', `/api/threads/${threadId}/messages`, {
    id: crypto.randomUUID(),
    content,
    attachments: fileIds.map((id) => ({ id })),
  });
  expect(res.status).toBe(200);
  return new SseReader(res).all();
}

/** The chat requests of replies (not the ones naming threads). */
const replyRequests = () => fake.chat.requests.filter((r) => !r.messages.some((m) => String(m.content).startsWith('Name the conversation')));

/** The text of the last user message a reply's model was given. */
function lastUserText(): string {
  const request = replyRequests().at(-1)!;
  const user = [...request.messages].reverse().find((m) => m.role === 'user')!;
  return typeof user.content === 'string' ? user.content : JSON.stringify(user.content);
}

describe('uploading documents', () => {
  test('each type is accepted, read once, and described with textStatus and pages', async () => {
    const { client } = await signUp(server.url);
    const cases: [Uint8Array, string, string, string, string][] = [
      [makePdf(3, 2), 'report.pdf', 'application/pdf', 'application/pdf', 'Page 3 line 2'],
      [makeDocx(['First paragraph of the memo.', 'Second one.']), 'memo.docx', '', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'Second one.'],
      [text('# Notes\n\nA *markdown* file.'), 'notes.md', 'text/markdown', 'text/markdown', 'A *markdown* file.'],
      [text('name,age\nada,36\n'), 'people.csv', 'text/csv', 'text/csv', 'ada,36'],
      [text('def main():\n    print("hi")\n'), 'main.py', 'text/x-python', 'text/plain', 'print("hi")'],
      [text('plain words'), 'readme.txt', 'text/plain', 'text/plain', 'plain words'],
    ];
    for (const [bytes, name, declared, mime, sample] of cases) {
      const up = await upload(client, bytes, name, declared);
      expect([name, up.status]).toEqual([name, 201]);
      expect(up.body.file).toMatchObject({ name, mime, size: bytes.length, textStatus: 'ready' });
      if (name.endsWith('.pdf')) expect(up.body.file.pages).toBe(3);
      else expect(up.body.file.pages).toBeUndefined();
      const [row] = await server.db.sql<{ text: string }[]>`select text from files where id = ${up.body.file.id}`;
      expect(row!.text).toContain(sample);

      // Served only as a download, never as a page of our origin.
      const res = await client.get(up.body.file.url);
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes as Uint8Array<ArrayBuffer>);
      expect(res.headers.get('content-disposition')).toStartWith(`attachment; filename="${name}"`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-type')).toBe(mime.startsWith('text/') ? 'text/plain; charset=utf-8' : mime);
      expect(res.headers.get('content-security-policy')).toContain('sandbox');
    }
  });

  test('an HTML file is kept as text and served as text/plain; binary named .txt and SVG are refused', async () => {
    const { client } = await signUp(server.url);
    const html = await upload(client, text('<!doctype html><script>alert(1)</script>'), 'page.html', 'text/html');
    expect(html.status).toBe(201);
    expect(html.body.file.mime).toBe('text/plain');
    const res = await client.get(html.body.file.url);
    await res.arrayBuffer();
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-disposition')).toStartWith('attachment;');

    const binary = await upload(client, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1, 2]), 'program.txt', 'text/plain');
    expect(binary.status).toBe(415);
    const svg = await upload(client, text('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'x.svg', 'image/svg+xml');
    expect(svg.status).toBe(415);
    const unknown = await upload(client, text('whatever'), 'data.bin', '');
    expect(unknown.status).toBe(415);
    expect(unknown.body.error.message).toContain('documents');
  });

  test('hostile files end as failed with a reason, quickly, and the server stays up', async () => {
    const { client } = await signUp(server.url);
    const started = performance.now();
    const bomb = await upload(client, makeZipBomb(), 'bomb.docx');
    expect(bomb.status).toBe(201);
    expect(bomb.body.file).toMatchObject({ textStatus: 'failed' });
    expect(bomb.body.file.textError).toMatch(/zip bomb|ZIP64|parts/);

    const huge = await upload(client, makePdf(501, 0), 'huge.pdf');
    expect(huge.status).toBe(201);
    expect(huge.body.file).toMatchObject({ textStatus: 'failed', textError: 'The PDF has 501 pages; at most 500 can be read' });

    const broken = await upload(client, text('%PDF-1.4\n1 0 obj << /Type /Catalog garbage'), 'broken.pdf');
    expect(broken.status).toBe(201);
    expect(broken.body.file.textStatus).toBe('failed');
    expect(broken.body.file.textError).toStartWith('The PDF could not be read');

    const notZip = await upload(client, text('PK not really a zip'), 'fake.docx');
    expect(notZip.status).toBe(201);
    expect(notZip.body.file).toMatchObject({ textStatus: 'failed', textError: 'The DOCX file is not a valid zip archive' });
    expect(performance.now() - started).toBeLessThan(15_000);

    const health = await fetch(`${server.url}/api/health`);
    await health.arrayBuffer();
    expect(health.status).toBe(200);

    // A failed document can still be sent: the model is told it could not be read.
    const thread = await newThread(client);
    await send(client, thread.id, 'What is in it?', [bomb.body.file.id]);
    expect(lastUserText()).toContain('[Attached document "bomb.docx": The DOCX file would inflate');
  });

  test("someone else's document: 404 to read, refused in a message", async () => {
    const a = await signUp(server.url);
    const b = await signUp(server.url);
    const up = await upload(a.client, text('secret plans'), 'plans.txt');
    const read = await b.client.get(up.body.file.url);
    await read.arrayBuffer();
    expect(read.status).toBe(404);
    const thread = await newThread(b.client);
    const res = await b.client.json('POST', `/api/threads/${thread.id}/messages`, {
      id: crypto.randomUUID(),
      content: 'read it',
      attachments: [{ id: up.body.file.id }],
    });
    expect(res.status).toBe(400);
    expect(fake.chat.requests).toHaveLength(0);
  });
});

describe('documents in the conversation', () => {
  test("the text reaches the model labelled with the file name, beside the user's words, and again on later turns", async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    const pdf = await upload(client, makePdf(1, 1, () => 'The secret word is pelican.'), 'secret.pdf');
    const notes = await upload(client, text('Remember the milk.'), 'notes.md');
    const events = await send(client, thread.id, 'What is the secret word?', [pdf.body.file.id, notes.body.file.id]);
    expect(events.map((e) => e.event)).toContain('done');
    const said = lastUserText();
    expect(said).toStartWith('What is the secret word?');
    expect(said).toContain('<document name="secret.pdf">\n--- Page 1 ---\nThe secret word is pelican.\n</document>');
    expect(said).toContain('<document name="notes.md">\nRemember the milk.\n</document>');
    // The user message keeps the documents as attachments, without a note (nothing trimmed).
    const user = events[0]!.data.message as { attachments: Record<string, unknown>[] };
    expect(user.attachments.map((a) => [a.name, a.textStatus, a.note])).toEqual([
      ['secret.pdf', 'ready', undefined],
      ['notes.md', 'ready', undefined],
    ]);

    // A later turn still carries the document (from the stored text).
    await send(client, thread.id, 'And again?', []);
    const again = replyRequests().at(-1)!.messages.filter((m) => m.role === 'user').map((m) => String(m.content));
    expect(again[0]).toContain('The secret word is pelican.');
  });

  test('a document larger than the budget is trimmed, said to the model and noted on the stored message', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client, { model: 'mistral:mistral-small-latest' });
    const models = (await client.json('GET', '/api/models')).body.models as { id: string; contextLength?: number }[];
    const budget = documentBudget(models.find((m) => m.id === 'mistral:mistral-small-latest')?.contextLength);
    const big = 'lorem ipsum dolor sit amet '.repeat(Math.ceil((budget * 2) / 27));
    const up = await upload(client, text(big), 'big.txt');
    expect(up.body.file.textStatus).toBe('ready');
    fake.chat.script({ text: 'A summary.' }); // not an echo of the whole document
    const events = await send(client, thread.id, 'Summarise', [up.body.file.id]);
    expect(events.map((e) => e.event)).toContain('done');
    const note = 'Only the first 50% of big.txt fits in the model\'s context; the rest was left out.';
    const said = lastUserText();
    expect(said).toContain(`</document>\n[${note}]`);
    expect(said.length).toBeLessThan(budget + 500);
    expect(said.length).toBeGreaterThan(budget - 100);

    // Stored: a reload shows the note on the message's document.
    const listed = (await client.json('GET', `/api/threads/${thread.id}/messages`)).body.messages as any[];
    const user = listed.find((m) => m.role === 'user');
    expect(user.attachments[0]).toMatchObject({ name: 'big.txt', textStatus: 'ready', note });
  }, 20_000);
});

describe('OCR', () => {
  test("a scanned PDF is read by Mistral's OCR endpoint through the SDK, and its text reaches the model", async () => {
    const { client } = await signUp(server.url);
    fake.ocr.pages = ['# Invoice 42', 'Total due: **17 euros**'];
    const scan = makePdf(2, 0);
    const up = await upload(client, scan, 'scan.pdf');
    expect(up.status).toBe(201);
    expect(up.body.file).toMatchObject({ textStatus: 'ready', pages: 2 });
    expect(fake.ocr.bodies).toEqual([{ model: 'mistral-ocr-latest', documentName: 'scan.pdf', bytes: scan.length }]);
    const ocr = fake.received('/v1/ocr')[0]!;
    expect(ocr.headers.authorization).toBe('Bearer server-mistral-key');

    const thread = await newThread(client);
    await send(client, thread.id, 'How much?', [up.body.file.id]);
    expect(lastUserText()).toContain('--- Page 2 ---\nTotal due: **17 euros**');
  });

  test('a PDF with a text layer is not sent to OCR; a failing OCR service is a failed status with its reason', async () => {
    const { client } = await signUp(server.url);
    const plain = await upload(client, makePdf(1, 3), 'text.pdf');
    expect(plain.body.file.textStatus).toBe('ready');
    expect(fake.ocr.bodies).toHaveLength(0);

    fake.ocr.fail = { status: 500 };
    const up = await upload(client, makePdf(1, 0), 'scan.pdf');
    expect(up.body.file).toMatchObject({ textStatus: 'failed', textError: 'The OCR service answered 500' });
  });

  test("without Mistral, a scan's page images are read by the user's vision model (one request per page, as PNG)", async () => {
    const plain = await startServer({ OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: 'test', DEFAULT_MODEL: 'openai:gpt-4o-mini' });
    try {
      const { client } = await signUp(plain.url);
      const up = await upload(client, makeScannedPdf(2), 'scan.pdf');
      expect(up.status).toBe(201);
      expect(up.body.file).toMatchObject({ textStatus: 'ready', pages: 2 });
      expect(fake.ocr.bodies).toHaveLength(0);
      const reads = fake.chat.requests.filter((r) => JSON.stringify(r.messages).includes('Transcribe all the text'));
      expect(reads).toHaveLength(2);
      expect(reads[0]!.model).toBe('gpt-4o-mini');
      const part = (reads[0]!.messages[0]!.content as { type: string; image_url?: { url: string } | string }[]).find((p) => p.type === 'image_url')!;
      const url = typeof part.image_url === 'string' ? part.image_url : part.image_url!.url;
      expect(url).toStartWith('data:image/png;base64,');
      const png = Buffer.from(url.split(',')[1]!, 'base64');
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect(png.readUInt32BE(16)).toBe(16); // the page image's own width
      const [row] = await plain.db.sql<{ text: string }[]>`select text from files where id = ${up.body.file.id}`;
      expect(row!.text).toContain('--- Page 2 ---\nEcho: Transcribe all the text');
    } finally {
      await plain.stop();
    }
  }, 30_000);

  test('without a Mistral key or connection, a scan says OCR is not configured', async () => {
    const result = await readDocument({ config: { ai: { ...server.config.ai, mistral: null } } }, makePdf(1, 0), 'pdf', 'scan.pdf');
    expect(result).toMatchObject({ textStatus: 'none', pages: 1, text: null });
    expect(result.textError).toContain('no OCR is configured');
    expect(fake.ocr.bodies).toHaveLength(0);
  });
});
