/**
 * The library (issue 15) in the browser: importing a ChatGPT export from Settings, folders
 * (new, move by menu and by drag, new chat in a folder), archive, Ctrl/Cmd+K search online
 * and offline opening the thread at the message (in the branch that holds it), and the
 * screens' empty and error states at phone and desktop sizes (screenshots in
 * tests/e2e/.artifacts/screens/library-*.png).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { eventually } from '../support/eventually';
import { installed, shoot, signUpByApi, SIZES } from './helpers';
import { chatgptConversation } from '../support/chatgpt';

// Search's code loads on first use: offline, from the service worker's copy, as in the installed app.
test.use({ serviceWorkers: 'allow' });

test.describe.configure({ timeout: 60_000 });

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'import', 'chatgpt-conversations.json');
const nav = (page: Page) => page.getByRole('navigation', { name: 'Threads' });

async function importByApi(page: Page) {
  const res = await page.request.post('/api/import', {
    multipart: { file: { name: 'conversations.json', mimeType: 'application/json', buffer: readFileSync(FIXTURE) } },
  });
  expect(res.status()).toBe(201);
}

/** Until the offline mirror holds at least `n` messages (the first sync has run). */
async function mirrored(page: Page, n: number) {
  await eventually(
    async () => {
      const count = await page.evaluate(async () => {
        const names = (await indexedDB.databases()).map((d) => d.name).filter((x) => x?.startsWith('parley-'));
        if (!names.length) return 0;
        return new Promise<number>((resolve) => {
          const open = indexedDB.open(names[0]!);
          open.onsuccess = () => {
            const db = open.result;
            if (!db.objectStoreNames.contains('messages')) return resolve(0);
            const req = db.transaction('messages').objectStore('messages').count();
            req.onsuccess = () => {
              resolve(req.result);
              db.close();
            };
          };
          open.onerror = () => resolve(0);
        });
      });
      expect(count).toBeGreaterThanOrEqual(n);
    },
    { timeout: 20_000, message: `the mirror holding ${n} messages` },
  );
}

test('import from Settings, then folders, move, drag, archive and search (online, then offline) on a desktop', async ({ page, context }) => {
  await signUpByApi(page);
  await page.goto('/settings');
  const imports: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/import') && r.method() !== 'GET') imports.push(`${r.method()} ${new URL(r.url()).pathname.replace(/[0-9a-f-]{36}/, ':id')}`);
  });
  await page.getByLabel('Export file to import').setInputFiles(FIXTURE);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Imported 2 chats' })).toBeVisible();
  // Sent in parts (one here: the file is small), then finished.
  expect(imports).toEqual(['POST /api/import/uploads', 'PUT /api/import/uploads/:id/parts/0', 'POST /api/import/uploads/:id/finish']);
  await expect(page.getByRole('link', { name: 'Export my data' })).toHaveAttribute('href', '/api/export');

  // The imported threads are in the list.
  await expect(nav(page).getByRole('link', { name: 'Sourdough starter help' })).toBeVisible();

  // A new folder, with its own system prompt.
  await page.getByRole('button', { name: 'New folder' }).click();
  await page.getByRole('textbox', { name: 'Folder name' }).fill('Baking');
  await page.getByRole('textbox', { name: 'System prompt for new chats' }).fill('You are a baker.');
  const created = page.waitForResponse((r) => r.url().endsWith('/api/folders') && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Create folder' }).click();
  expect((await created).status()).toBe(201);
  await expect(nav(page).getByRole('group', { name: 'Folder Baking' })).toBeVisible();

  // Move by menu.
  await nav(page).getByRole('button', { name: 'Actions for Sourdough starter help' }).click();
  await page.getByRole('button', { name: 'Move to folder' }).click();
  await page.getByRole('group', { name: 'Folders' }).getByRole('button', { name: 'Baking' }).click();
  await expect(nav(page).getByRole('group', { name: 'Folder Baking' })).toContainText('1');

  // Move by drag (desktop).
  await nav(page).getByRole('link', { name: 'Custom instructions' }).dragTo(nav(page).getByRole('group', { name: 'Folder Baking' }));
  await expect(nav(page).getByRole('group', { name: 'Folder Baking' })).toContainText('2');
  await eventually(async () => {
    const { threads } = await (await page.request.get('/api/threads')).json();
    expect(threads.every((t: { folderId: string | null }) => t.folderId)).toBe(true);
  });

  // Archive and back.
  await nav(page).getByRole('button', { name: 'Actions for Custom instructions' }).click();
  await page.getByRole('button', { name: 'Archive', exact: true }).click();
  await expect(nav(page).getByRole('link', { name: 'Custom instructions' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Archived (1)' }).click();
  await expect(nav(page).getByRole('link', { name: 'Custom instructions' })).toBeVisible();
  await nav(page).getByRole('button', { name: 'Actions for Custom instructions' }).click();
  await page.getByRole('button', { name: 'Unarchive' }).click();
  await page.getByRole('button', { name: 'Back to threads' }).click();
  await expect(nav(page).getByRole('link', { name: 'Custom instructions' })).toBeVisible();

  // Search: Ctrl+K, a word from the middle of a message in the branch not shown by default.
  await page.keyboard.press('Control+k');
  const box = page.getByRole('searchbox', { name: 'Search' });
  await box.fill('flour rat');
  // Three messages have both words; the one in the branch not shown by default is opened.
  const results = page.getByRole('list', { name: 'Search results' }).getByRole('link');
  await expect(results).toHaveCount(3);
  const result = results.filter({ hasText: 'What flour ratio' });
  await expect(result.locator('mark')).toHaveText(['flour', 'ratio']);
  await result.click();
  await expect(page).toHaveURL(/\/t\/.+\?m=/);
  const hit = page.locator('[data-role="user"].search-hit');
  await expect(hit).toContainText('What flour ratio?');
  await expect(hit).toBeInViewport();

  // Offline: the mirror is searched (MiniSearch), a word in the middle of a message. Search's
  // code loads on first use, offline from the service worker's copy, as in the installed app.
  await installed(page);
  await mirrored(page, 7);
  await context.setOffline(true);
  await page.keyboard.press('Control+k');
  await page.getByRole('searchbox', { name: 'Search' }).fill('acetone');
  await expect(page.getByText("Offline: results from this device's copy.")).toBeVisible();
  await expect(page.getByRole('list', { name: 'Search results' }).getByRole('link')).toHaveCount(1);
  await expect(page.getByRole('list', { name: 'Search results' }).locator('mark')).toHaveText('acetone');
  await context.setOffline(false);
});

test('a new chat in a folder takes its system prompt', async ({ page }) => {
  await signUpByApi(page);
  const res = await page.request.post('/api/folders', { data: { name: 'Pirates', systemPrompt: 'Talk like a pirate.' } });
  const { folder } = await res.json();
  await page.goto('/');
  await nav(page).getByRole('button', { name: 'New chat in Pirates' }).click();
  await expect(page.getByText('New chat in Pirates')).toBeVisible();
  await page.getByRole('textbox', { name: 'Message' }).fill('Ahoy?');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page).toHaveURL(/\/t\//);
  await eventually(async () => {
    const { threads } = await (await page.request.get(`/api/threads?folderId=${folder.id}`)).json();
    expect(threads.map((t: { systemPrompt: string }) => t.systemPrompt)).toEqual(['Talk like a pirate.']);
  });
});

for (const size of SIZES) {
  test(`library screens at ${size.name} size: list with folders, search, empty and error states, Settings`, async ({ page }) => {
    await page.setViewportSize({ width: size.width, height: size.height });
    await signUpByApi(page);
    await page.goto('/');
    // Empty states first.
    if (size.name === 'phone') await page.getByRole('button', { name: 'Open threads' }).click();
    await expect(nav(page)).toContainText('No threads yet');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect(page.getByRole('searchbox', { name: 'Search' })).toBeFocused();
    await page.getByRole('searchbox', { name: 'Search' }).fill('nothing here');
    await expect(page.getByText('Nothing matches “nothing here”.')).toBeVisible();
    await shoot(page, `library-search-empty-${size.name}`);
    await page.keyboard.press('Escape');

    await importByApi(page);
    const made = await page.request.post('/api/folders', { data: { name: 'Baking' } });
    const { folder } = await made.json();
    const { threads } = await (await page.request.get('/api/threads')).json();
    const sourdough = threads.find((t: { title: string }) => t.title === 'Sourdough starter help');
    await page.request.patch(`/api/threads/${sourdough.id}`, { data: { folderId: folder.id } });
    await page.request.post('/api/folders', { data: { name: 'Work notes' } });
    await page.goto('/');
    if (size.name === 'phone') await page.getByRole('button', { name: 'Open threads' }).click();
    await expect(nav(page).getByRole('group', { name: 'Folder Work notes' })).toBeVisible();
    await nav(page).getByRole('button', { name: 'Actions for Custom instructions' }).click();
    await page.getByRole('button', { name: 'Move to folder' }).click();
    await shoot(page, `library-list-${size.name}`);
    await page.keyboard.press('Escape');

    await page.keyboard.press('Control+k');
    await page.getByRole('searchbox', { name: 'Search' }).fill('starter');
    await expect(page.getByRole('list', { name: 'Search results' }).getByRole('link').first()).toBeVisible();
    await shoot(page, `library-search-${size.name}`);
    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot(page, `library-search-dark-${size.name}`);
    await page.keyboard.press('Escape');
    await shoot(page, `library-list-dark-${size.name}`);
    await page.emulateMedia({ colorScheme: 'light' });

    await page.goto('/settings');
    await page.getByLabel('Export file to import').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('[{"title": "Broken", "conversation_id": "x"}]') });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect(page.getByRole('alert')).toContainText('has no mapping');
    await page.getByRole('heading', { name: 'Import' }).scrollIntoViewIfNeeded();
    await shoot(page, `library-settings-import-error-${size.name}`);
  });
}

/** A ChatGPT export a little over 4 MiB (two parts): 30 conversations of 10 long messages. */
function twoPartExport() {
  const filler = 'tides and moons '.repeat(950);
  const conversations = Array.from({ length: 30 }, (_, i) =>
    chatgptConversation(i, 10, (m) => `message ${m} of part test ${i}: ${filler}`, { title: `Long chat ${i}`, id: `long-${i}` }),
  );
  return Buffer.from(JSON.stringify(conversations));
}

test('a file of two parts imports from Settings, the upload bar showing how much is sent (phone)', async ({ page, context }) => {
  test.setTimeout(90_000);
  await page.setViewportSize({ width: 390, height: 844 });
  await signUpByApi(page);
  await page.goto('/settings');
  const parts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'PUT' && r.url().includes('/api/import/uploads/')) parts.push(r.url().replace(/^.*\/parts\//, ''));
  });
  // A slow uplink (the browser's own network emulation), so the upload is seen under way.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 3 * 1024 * 1024 });
  const file = twoPartExport();
  await page.getByLabel('Export file to import').setInputFiles({ name: 'conversations.json', mimeType: 'application/json', buffer: file });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const bar = page.getByRole('progressbar', { name: 'Import progress' });
  await expect(page.getByText(/Uploading… [1-9]\d?%/)).toBeVisible({ timeout: 20_000 });
  const value = Number(await bar.getAttribute('value'));
  expect(value).toBeGreaterThan(0);
  expect(value).toBeLessThan(1);
  await page.getByRole('heading', { name: 'Import' }).scrollIntoViewIfNeeded();
  await shoot(page, 'library-settings-import-uploading-phone');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await expect(page.getByRole('status').filter({ hasText: 'Imported 30 chats' })).toBeVisible({ timeout: 60_000 });
  expect(parts).toEqual(['0', '1']);
  await shoot(page, 'library-settings-import-done-phone');
});

test('offline before the first sync has reached the end, search says this device’s copy is still being filled in', async ({ page, context }) => {
  test.setTimeout(90_000);
  await signUpByApi(page);
  // More than one sync page (2,000 messages): 24 conversations of 100 short messages.
  const conversations = Array.from({ length: 24 }, (_, i) =>
    chatgptConversation(i, 100, (m) => `note ${m} of pile ${i} about harbours`, { title: `Pile ${i}`, id: `pile-${i}`, prefix: 'p', spacing: 1000 }),
  );
  const res = await page.request.post('/api/import', {
    multipart: { file: { name: 'conversations.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(conversations)) } },
  });
  expect(res.status()).toBe(201);
  // The network drops after the first sync page: every later page fails as it would offline.
  await context.route(/\/api\/sync\?since=[1-9]/, (route) => route.abort('internetdisconnected'));
  await page.goto('/');
  await installed(page);
  await mirrored(page, 2000);
  await context.setOffline(true);
  await page.keyboard.press('Control+k');
  await page.getByRole('searchbox', { name: 'Search' }).fill('harbours');
  await expect(page.getByRole('list', { name: 'Search results' }).getByRole('link').first()).toBeVisible();
  await expect(page.getByText("Offline: results from this device's copy. This device's copy is still being filled in")).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search' }).fill('zanzibarquokka');
  await expect(page.getByText('Nothing matches “zanzibarquokka” on this device.')).toBeVisible();
  await expect(page.getByText("This device's copy is still being filled in, so some chats may not be searched yet.")).toBeVisible();
  await shoot(page, 'library-search-offline-partial-desktop');
  await context.setOffline(false);
});
