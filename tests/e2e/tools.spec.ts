/**
 * Connections, reasoning, web search and MCP in the browser: the seeded admin configures
 * three fake servers (chat, speech, search) and a real MCP server through the console, then
 * asks a question that makes the model think, search the web and call the MCP tool; the
 * Thinking part, the tool calls and the cited answer show; a voice call then goes through
 * the speech connection. The stack's fakes: tests/e2e/stack.ts (their URLs from the directive
 * server's GET /__stack, E2E_PORT + 2).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { chromiumArgs } from './playwright.config';
import { assistant, waitForReply } from './helpers';

const PORT = Number(process.env.E2E_PORT ?? 4321);
const at = (offset: number) => `http://127.0.0.1:${PORT + offset}`;
const ADMIN = { email: 'admin@example.test', password: process.env.E2E_ADMIN_PASSWORD ?? 'e2e admin passphrase' };
const SHOTS = join(import.meta.dirname, '.artifacts', 'screens');

const wav = join(mkdtempSync(join(tmpdir(), 'parley-tools-')), 'microphone.wav');
execFileSync('espeak-ng', ['-w', wav, 'What is the weather like?']);
test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...chromiumArgs, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`],
  },
});

// The second test uses the search connection the first one adds.
test.describe.configure({ mode: 'serial' });

/** Where the stack's SearXNG, MCP server and speech fake listen. */
let fakes: { searxng: string; mcp: string; speech: string };
test.beforeAll(async () => {
  fakes = (await (await fetch(`${at(2)}/__stack`)).json()) as typeof fakes;
});

/** The speech fake's control routes. */
async function speechFake<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${fakes.speech}/__fake/audio${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.ok).toBe(true);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

async function addConnection(page: Page, name: string, baseUrl: string, purposes: string[]) {
  const form = page.locator('form.add');
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Base URL').fill(baseUrl);
  for (const label of ['Chat', 'Speech-to-text', 'Text-to-speech', 'Images', 'Embeddings', 'Web search (SearXNG)']) {
    await form.getByLabel(label, { exact: true }).setChecked(purposes.includes(label));
  }
  await form.getByRole('button', { name: 'Add connection' }).click();
  const card = page.getByRole('listitem', { name });
  await expect(card.locator('.status')).toHaveText(/^Working/);
  return card;
}

test.afterAll(async ({ request }) => {
  // The connections serve the whole stack: take them away again.
  await request.post('/api/auth/login', { data: ADMIN });
  for (const c of (await (await request.get('/api/admin/connections')).json()).connections ?? []) await request.delete(`/api/admin/connections/${c.id}`);
  for (const s of (await (await request.get('/api/admin/mcp-servers')).json()).servers ?? []) await request.delete(`/api/admin/mcp-servers/${s.id}`);
});

test('an admin connects chat, speech, search and MCP in the console; a reply thinks, searches, calls the tool and cites; a call uses the speech server', async ({ page }) => {
  test.setTimeout(120_000);
  expect((await page.request.post('/api/auth/login', { data: ADMIN })).status()).toBe(200);

  // The console: three servers, each tested as it is added.
  await page.goto('/admin/connections');
  await expect(page.getByRole('heading', { name: 'Connections', level: 1 })).toBeVisible();
  const lab = await addConnection(page, 'Lab', `${at(2)}/v1`, ['Chat']);
  await expect(lab.getByRole('table', { name: 'Models of Lab' })).toContainText('lab:gpt-4o');
  await expect(lab).toContainText('Local address');
  await addConnection(page, 'Voice box', `${fakes.speech}/v1`, ['Speech-to-text', 'Text-to-speech']);
  await addConnection(page, 'Searx', fakes.searxng, ['Web search (SearXNG)']);
  await page.screenshot({ path: join(SHOTS, 'admin-connections-desktop.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(SHOTS, 'admin-connections-phone-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.goto('/admin/mcp');
  const mcp = page.locator('form.add');
  await mcp.getByLabel('Name', { exact: true }).fill('Facts');
  await mcp.getByLabel('URL', { exact: true }).fill(fakes.mcp);
  await mcp.getByLabel('Header value').fill('Bearer e2e-mcp-token');
  await mcp.getByRole('button', { name: 'Add MCP server' }).click();
  await expect(page.getByRole('list', { name: 'Tools of Facts' })).toContainText('lookup');
  await page.screenshot({ path: join(SHOTS, 'admin-mcp-desktop.png'), fullPage: true });

  // A new chat with the Lab's model.
  await page.goto('/?new=1');
  await page.getByRole('button', { name: /^Model/ }).click();
  await page.locator('[role="menuitemradio"][title="lab:gpt-4o"]').click();
  await page.getByRole('textbox', { name: 'Message' }).fill('What is Parley? #tools');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForURL(/\/t\/[0-9a-f-]{36}$/);

  // Thinking streams first (open while the model thinks), then the tool calls, then the answer.
  const reply = assistant(page).last();
  const thinking = reply.locator('details.thinking');
  await expect(thinking.getByText('Thinking', { exact: true })).toBeVisible();
  await expect(thinking).toContainText('I should search the web first');
  const calls = reply.getByRole('list', { name: 'Tool calls' }).getByRole('listitem');
  await expect(calls.nth(0)).toContainText('Web search');
  await expect(calls.nth(1)).toContainText('facts · lookup');
  await waitForReply(page);
  await expect(calls.nth(0)).toHaveAttribute('data-status', 'done');
  await expect(calls.nth(1)).toHaveAttribute('data-status', 'done');
  await expect(reply).toContainText('Parley is a self-hosted, voice-first assistant [1]. The handbook says the answer is 42.');
  const source = reply.getByRole('navigation', { name: 'Sources' }).getByRole('link', { name: /\[1\] Parley, a voice-first assistant/ });
  await expect(source).toHaveAttribute('href', 'https://example.org/parley');
  // Once answered, Thinking folds away; opening a call shows what went in and came out.
  await expect(thinking).not.toHaveAttribute('open', '');
  await calls.nth(1).locator('summary').click();
  await expect(calls.nth(1)).toContainText('Handbook: the answer about "Parley" is 42.');
  await page.screenshot({ path: join(SHOTS, 'tools-reply-desktop.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SHOTS, 'tools-reply-phone.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(SHOTS, 'tools-reply-phone-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });

  // A voice call in this thread: the recording goes to the speech connection, and so does the spoken reply.
  await speechFake('/reset', {});
  await speechFake('/transcript', { text: 'What is the weather like?' });
  await page.goto(`${page.url()}/call`);
  const talk = page.getByRole('button', { name: 'Hold to talk' });
  await expect(talk).toBeEnabled();
  const box = (await talk.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.waitForTimeout(2000); // the length of the recording: the user holds the button this long
  await page.mouse.up();
  await expect(page.locator('.captions [data-role="user"]').last()).toContainText('What is the weather like?');
  await expect.poll(async () => (await speechFake<unknown[]>('/transcriptions')).length).toBe(1);
  await expect.poll(async () => (await speechFake<unknown[]>('/speeches')).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
});

test('"Search the web" in the composer searches for one message, and the reply lists its sources', async ({ page }) => {
  expect((await page.request.post('/api/auth/login', { data: ADMIN })).status()).toBe(200);
  await page.goto('/?new=1');
  await page.getByRole('button', { name: 'Add photos or create an image' }).click();
  await page.getByRole('button', { name: 'Search the web' }).click();
  const composer = page.locator('form.composer');
  await expect(composer.getByText('Web search', { exact: true })).toBeVisible();
  await page.getByRole('textbox', { name: 'Message' }).fill('weather in Lyon');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForURL(/\/t\/[0-9a-f-]{36}$/);
  await waitForReply(page);
  const reply = assistant(page).last();
  await expect(reply.getByRole('list', { name: 'Tool calls' }).getByRole('listitem')).toHaveAttribute('data-status', 'done');
  await expect(reply.getByRole('navigation', { name: 'Sources' }).getByRole('link')).toHaveCount(2);
  // Once sent, the next message does not search unless asked again.
  await expect(composer.getByText('Web search', { exact: true })).toHaveCount(0);
});
