/**
 * Offline use of the installed app (issue 5): the mirror in IndexedDB, the service worker's
 * shell, the outbox, replies that survive a dropped connection, images of mirrored threads,
 * and nothing of an account left behind after sign-out (security item 13).
 *
 * Service workers are allowed here (the suite blocks them by default); each test waits for
 * the worker to control the page before it goes offline. Screenshots at 390×844 land in
 * tests/e2e/.artifacts/offline/.
 */
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { assistant, installed, newAccount, newThread, settled, signUpByApi, startChat, user, waitForReply, closeAppAndGoOnline } from './helpers';

test.use({ serviceWorkers: 'allow', viewport: { width: 390, height: 844 } });

const shots = join(import.meta.dirname, '.artifacts', 'offline');
const threadLinks = (page: Page) => page.getByRole('navigation', { name: 'Threads' }).getByRole('link');
const offlineBanner = (page: Page) => page.getByRole('status').filter({ hasText: 'Offline' });
const queued = (page: Page) => page.locator('[data-role="user"][data-status="queued"]');

/** On a phone the thread list is a drawer: opened when closed. */
async function openDrawer(page: Page) {
  const button = page.getByRole('button', { name: 'Open threads' });
  await expect(button).toBeVisible();
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
}

/** A thread made through the API, with one exchange per message (each reply complete). */
async function threadByApi(request: APIRequestContext, title: string, messages: string[]): Promise<string> {
  const thread = await newThread(request, { title });
  for (const content of messages) await postByApi(request, thread.id, content);
  return thread.id;
}

/** Posts a message and reads its reply to the end (the SSE body). */
async function postByApi(request: APIRequestContext, threadId: string, content: string, extra: Record<string, unknown> = {}) {
  const res = await request.post(`/api/threads/${threadId}/messages`, { data: { id: crypto.randomUUID(), content, ...extra } });
  expect(res.status(), await res.text()).toBe(200);
}

async function serverMessages(request: APIRequestContext, threadId: string): Promise<{ id: string; parentId: string | null; role: string; content: string; status: string }[]> {
  const res = await request.get(`/api/threads/${threadId}/messages?limit=200`);
  expect(res.status()).toBe(200);
  return (await res.json()).messages;
}

async function userId(page: Page): Promise<string> {
  return (await (await page.request.get('/api/auth/me')).json()).user.id;
}

/** What the account's mirror holds (read without creating the database if it is not there). */
function mirror(page: Page, id: string) {
  return page.evaluate(async (name) => {
    if (!(await indexedDB.databases()).some((d) => d.name === name)) return null;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const all = <T,>(store: string) =>
      new Promise<T[]>((resolve, reject) => {
        const req = db.transaction(store).objectStore(store).getAll();
        req.onsuccess = () => resolve(req.result as T[]);
        req.onerror = () => reject(req.error);
      });
    try {
      if (!db.objectStoreNames.contains('meta')) return null;
      const meta = await new Promise<unknown>((resolve) => {
        const req = db.transaction('meta').objectStore('meta').get('complete');
        req.onsuccess = () => resolve(req.result);
      });
      const files = await all<{ id: string; blob: Blob | null }>('files');
      return {
        complete: meta === true,
        threads: (await all<{ id: string }>('threads')).map((t) => t.id),
        messages: (await all<{ content: string }>('messages')).length,
        outbox: (await all<{ content: string; createdAt: string }>('outbox'))
          .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
          .map((e) => e.content),
        images: files.filter((f) => f.blob).map((f) => ({ id: f.id, size: f.blob!.size })),
      };
    } finally {
      db.close();
    }
  }, `parley-${id}`);
}

async function synced(page: Page, id: string, expected: { threads: number; messages: number }) {
  await expect
    .poll(async () => {
      const m = await mirror(page, id);
      return m && m.complete ? { threads: m.threads.length, messages: m.messages } : null;
    }, { timeout: 20_000 })
    .toEqual(expected);
}

/** A tiny valid PNG (2×2, red). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

test('offline: the installed app lists and opens every thread, queues what is written, sends it once; tombstones; sign-out leaves nothing', async ({ page, context }) => {
  test.setTimeout(120_000);
  await signUpByApi(page);
  const me = await userId(page);
  const specs = [
    { title: 'Packing list for Lisbon', messages: ['Sunscreen or not', 'And a jacket'] },
    { title: 'Sourdough starter', messages: ['Feed it twice a day', 'Rye or wheat'] },
    { title: 'Quarterly budget', messages: ['Cut the travel line', 'Keep the training'] },
  ];
  const ids: string[] = [];
  for (const s of specs) ids.push(await threadByApi(page.request, s.title, s.messages));

  await page.goto('/');
  await installed(page);
  await synced(page, me, { threads: 3, messages: 12 });

  // Offline: a reload and a fresh page both start from the worker, with the whole list.
  await context.setOffline(true);
  await page.reload();
  await expect(offlineBanner(page)).toBeVisible();
  await openDrawer(page);
  await expect(threadLinks(page)).toHaveCount(3);
  await settled(page); // the drawer's slide
  await page.screenshot({ path: join(shots, 'offline-list.png') });

  for (const [i, s] of specs.entries()) {
    await page.goto(`/t/${ids[i]}`);
    await expect(user(page)).toHaveCount(2);
    await expect(assistant(page)).toHaveCount(2);
    for (const text of s.messages) await expect(assistant(page).filter({ hasText: `Echo: ${text}` })).toHaveCount(1);
    await expect(page.getByRole('heading', { name: s.title })).toBeVisible();
  }

  const fresh = await context.newPage();
  await fresh.goto('/');
  await expect(offlineBanner(fresh)).toBeVisible();
  const filter = fresh.getByRole('searchbox', { name: 'Filter threads' });
  await openDrawer(fresh);
  await expect(threadLinks(fresh)).toHaveCount(3);
  await filter.fill('sour');
  await expect(threadLinks(fresh)).toHaveCount(1);
  await threadLinks(fresh).first().click();
  await expect(assistant(fresh).filter({ hasText: 'Echo: Rye or wheat' })).toBeVisible();
  await fresh.close();

  // Two messages written offline wait, survive a reload, and go once each when the network returns.
  await page.goto(`/t/${ids[0]}`);
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('Written on the plane');
  await page.getByRole('button', { name: 'Send' }).click();
  await composer.fill('And a second thought');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(queued(page)).toHaveCount(2);
  await expect(queued(page).first()).toContainText('Waiting to send');
  await expect(composer).toHaveValue('');
  await expect(offlineBanner(page)).toContainText('2 messages waiting to send');
  await page.screenshot({ path: join(shots, 'waiting-to-send.png') });

  await page.reload();
  await expect(queued(page)).toHaveCount(2);
  await expect(queued(page).nth(1)).toContainText('And a second thought');
  expect((await mirror(page, me))!.outbox).toEqual(['Written on the plane', 'And a second thought']);

  await context.setOffline(false);
  await expect(offlineBanner(page)).toHaveCount(0);
  await expect(assistant(page).filter({ hasText: 'Echo: Written on the plane' })).toHaveCount(1, { timeout: 20_000 });
  await expect(assistant(page).filter({ hasText: 'Echo: And a second thought' })).toHaveCount(1, { timeout: 20_000 });
  await waitForReply(page);
  await expect(queued(page)).toHaveCount(0);
  await expect(user(page)).toHaveCount(4);

  const onServer = await serverMessages(page.request, ids[0]!);
  const first = onServer.filter((m) => m.content === 'Written on the plane');
  const second = onServer.filter((m) => m.content === 'And a second thought');
  expect(first).toHaveLength(1);
  expect(second).toHaveLength(1);
  // The second answers the first's reply, as if typed online.
  const firstReply = onServer.find((m) => m.parentId === first[0]!.id && m.role === 'assistant')!;
  expect(firstReply.status).toBe('complete');
  expect(second[0]!.parentId).toBe(firstReply.id);
  await expect.poll(async () => (await mirror(page, me))!.outbox).toEqual([]);

  // A thread deleted elsewhere disappears at the next sync (here: the app coming back into focus).
  expect((await page.request.delete(`/api/threads/${ids[2]}`)).status()).toBe(204);
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await openDrawer(page);
  await expect(threadLinks(page)).toHaveCount(2);
  await expect.poll(async () => (await mirror(page, me))!.threads.sort()).toEqual([ids[0], ids[1]].sort());
  await page.keyboard.press('Escape');

  // Sign-out: nothing of the account in IndexedDB or the caches.
  await page.goto('/settings');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('dialog', { name: 'Sign out?' }).getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  const left = await page.evaluate(async () => {
    const urls: string[] = [];
    for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) urls.push(req.url);
    return { databases: (await indexedDB.databases()).map((d) => d.name), cached: urls.filter((u) => u.includes('/api/')), caches: await caches.keys() };
  });
  expect(left.databases).toEqual([]);
  expect(left.cached).toEqual([]);
  expect(left.caches.every((name) => name.startsWith('workbox-precache'))).toBe(true);

  // Another account on the same browser profile sees only its own threads, online and offline.
  const other = newAccount('Grace Hopper');
  await page.getByRole('link', { name: 'Create account' }).click();
  await page.getByRole('textbox', { name: 'Name' }).fill(other.name);
  await page.getByRole('textbox', { name: 'Email' }).fill(other.email);
  await page.getByLabel('Password').fill(other.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: /Hi Grace/ })).toBeVisible();
  const otherId = await userId(page);
  await threadByApi(page.request, 'Compiler notes', ['Write the linker']);
  await page.reload();
  // Sign-out's Clear-Site-Data ("storage") removed the service worker too; the app registers
  // it again a second after it starts, and only an installed worker can answer offline.
  await installed(page);
  await synced(page, otherId, { threads: 1, messages: 2 });
  await context.setOffline(true);
  await page.reload();
  await openDrawer(page);
  await expect(threadLinks(page)).toHaveCount(1);
  await expect(threadLinks(page)).toHaveText(['Compiler notes']);
  expect(await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toEqual([`parley-${otherId}`]);
  await context.setOffline(false);
});

test('signing out without a network wipes this device at once, and the server is told when it returns', async ({ page, context }) => {
  await signUpByApi(page);
  const me = await userId(page);
  await threadByApi(page.request, 'Private notes', ['My secret plan']);
  await page.goto('/');
  await installed(page);
  await synced(page, me, { threads: 1, messages: 2 });
  await context.setOffline(true);
  await page.goto('/settings');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('dialog', { name: 'Sign out?' }).getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  expect(await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toEqual([]);
  // An offline start now shows the sign-in page, not the account's threads.
  await page.goto('/');
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
  // Offline on the sign-in page: nothing is saved here any more, and signing in needs the network.
  const banner = page.getByRole('status').filter({ hasText: 'Offline' });
  await expect(banner).toContainText('signing in needs the network');
  await expect(banner).not.toContainText("saved on this device");

  // The session cookies are httpOnly: only the server can end them, as soon as it is reachable.
  await context.setOffline(false);
  // Back online, the sign-in page stops saying "Offline" at once.
  await expect(banner).toHaveCount(0);
  await expect.poll(async () => (await page.request.get('/api/auth/me')).status(), { timeout: 15_000 }).toBe(401);
  await page.reload();
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
  // The sign-in page shows before the start-up check has told the server again and cleared the mark.
  await expect.poll(() => page.evaluate(() => localStorage.getItem('parley:signed-out'))).toBeNull();
  expect(await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toEqual([]);
});

test('an offline start with no account kept on this device shows the sign-in page; a session still good signs in once the network returns', async ({ page, context }) => {
  // Signed in (cookies set), but nothing of the account on this device: as after the browser's
  // site data was cleared, or a sign-out whose request reached the server though the page saw it fail.
  await signUpByApi(page);
  await page.goto('/');
  await installed(page);
  await page.evaluate(() => localStorage.clear());
  await context.setOffline(true);
  await page.goto('/');
  // Not an empty app that cannot load anything: the sign-in page, saying it needs the network.
  await expect(page).toHaveURL(/\/login/);
  await expect(offlineBanner(page)).toContainText('signing in needs the network');
  await context.setOffline(false);
  // The server is asked again: the session's cookies still work, so the app opens by itself.
  await expect(page.getByRole('heading', { name: 'New chat' })).toBeVisible({ timeout: 15_000 });
  await expect(page).not.toHaveURL(/\/login/);
});

test('Settings › Storage: what is kept here, and Remove offline copy (it refills at the next sync)', async ({ page }) => {
  await signUpByApi(page);
  const me = await userId(page);
  await threadByApi(page.request, 'Garden plans', ['Tomatoes or peppers', 'How much water']);
  await page.goto('/settings');
  await installed(page);
  await synced(page, me, { threads: 1, messages: 4 });
  await page.reload();
  const storage = page.getByRole('region', { name: 'Storage' });
  await expect(storage).toContainText('1 thread, 4 messages');
  await expect(storage).toContainText(/Space used here\s*\d/);
  await storage.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'settings-storage.png') });
  await storage.getByRole('button', { name: 'Remove offline copy' }).click();
  await expect(storage).toContainText('0 threads, 0 messages');
  await expect(storage.getByRole('status')).toContainText('Offline copy removed');
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await synced(page, me, { threads: 1, messages: 4 });
});

test('a reply cut off by going offline is picked up again when the network returns', async ({ page, context }) => {
  await signUpByApi(page);
  await page.goto('/');
  await installed(page);
  const threadId = await startChat(page, 'Tell me everything #slow');
  await expect(assistant(page)).toContainText('word3');
  await context.setOffline(true);
  await expect(offlineBanner(page)).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('still being written on the server');
  await page.screenshot({ path: join(shots, 'reply-detached.png') });
  // While the page is offline the server writes on: wait until it stored words the page never
  // received (page.request is not the page's network, so it still reaches the server).
  const shown = Math.max(...[...(await assistant(page).innerText()).matchAll(/\bword(\d+)\b/g)].map((m) => Number(m[1])));
  await eventually(
    async () => {
      const reply = (await serverMessages(page.request, threadId)).find((m) => m.role === 'assistant');
      expect(reply?.content).toMatch(new RegExp(`\\bword${shown + 5}\\b`));
    },
    { timeout: 15_000, message: 'the server writing on while the page is offline' },
  );
  await context.setOffline(false);
  await expect(assistant(page)).toHaveAttribute('data-status', 'complete', { timeout: 30_000 });
  const text = await assistant(page).innerText();
  expect(text).toContain('word80');
  // Every word exactly once: re-attaching replaced the text, it did not append to it.
  for (const n of [1, 2, 3, 40, 80]) expect(text.match(new RegExp(`\\bword${n}\\b`, 'g'))).toHaveLength(1);
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('a reply still being written when the thread is opened again is followed to its end', async ({ page }) => {
  await signUpByApi(page);
  await page.goto('/');
  await installed(page);
  const id = await startChat(page, 'Keep going please #slow');
  await expect(assistant(page)).toContainText('word2');
  // The app goes away mid-reply (closed, or killed in the background) and is opened again.
  await page.goto('about:blank');
  await page.goto(`/t/${id}`);
  await expect(assistant(page)).toHaveAttribute('data-status', 'streaming');
  await expect(assistant(page)).toHaveAttribute('data-status', 'complete', { timeout: 30_000 });
  await expect(assistant(page)).toContainText('word80');
  expect((await assistant(page).innerText()).match(/\bword7\b/g)).toHaveLength(1);
});

test('a message removed from the outbox before the network returns is never sent', async ({ page, context }) => {
  await signUpByApi(page);
  const id = await threadByApi(page.request, 'Second thoughts', ['Hello there']);
  await page.goto(`/t/${id}`);
  await installed(page);
  await expect(assistant(page)).toHaveCount(1);
  await context.setOffline(true);
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('Something I will regret');
  await page.getByRole('button', { name: 'Send' }).click();
  await composer.fill('Something worth sending');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(queued(page)).toHaveCount(2);
  await queued(page).first().getByRole('button', { name: 'Remove message' }).click();
  await expect(queued(page)).toHaveCount(1);
  await expect(queued(page)).toContainText('Something worth sending');
  await context.setOffline(false);
  await expect(assistant(page).filter({ hasText: 'Echo: Something worth sending' })).toHaveCount(1, { timeout: 20_000 });
  await waitForReply(page);
  const contents = (await serverMessages(page.request, id)).map((m) => m.content);
  expect(contents.filter((c) => c.includes('regret'))).toEqual([]);
  expect(contents.filter((c) => c === 'Something worth sending')).toHaveLength(1);
});

test('with no window open, the worker sends the outbox itself (Background Sync)', async ({ page, context }) => {
  await signUpByApi(page);
  const me = await userId(page);
  const id = await threadByApi(page.request, 'Sent while closed', ['First things first']);
  await page.goto(`/t/${id}`);
  await installed(page);
  await expect(assistant(page)).toHaveCount(1);
  await context.setOffline(true);
  await page.getByRole('textbox', { name: 'Message' }).fill('Delivered by the worker');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(queued(page)).toHaveCount(1);

  // The app is closed (no window of the origin left); the network comes back; the browser fires the sync.
  const sync = await closeAppAndGoOnline(page, context);
  // A failed sync (the worker can still see the network as down for a moment) is retried
  // by the browser later; through DevTools we fire the retries ourselves.
  const delivered = async () =>
    (await serverMessages(page.request, id)).filter((m) => m.content === 'Delivered by the worker').length;
  for (let attempt = 0; attempt < 4 && (await delivered()) === 0; attempt++) {
    await sync.fire(attempt === 3);
    await expect.poll(delivered, { timeout: 5_000 }).toBe(1).catch(() => {});
  }
  await expect.poll(delivered, { timeout: 10_000 }).toBe(1);
  await expect
    .poll(async () => (await serverMessages(page.request, id)).filter((m) => m.role === 'assistant' && m.status === 'complete').length, { timeout: 20_000 })
    .toBe(2);

  // Opened again: the message is there once, its reply too, and the outbox is empty.
  await page.goto(`/t/${id}`);
  await expect(user(page).filter({ hasText: 'Delivered by the worker' })).toHaveCount(1);
  await expect(assistant(page).filter({ hasText: 'Echo: Delivered by the worker' })).toHaveCount(1);
  await expect(queued(page)).toHaveCount(0);
  expect((await mirror(page, me))!.outbox).toEqual([]);
});

test('images of a mirrored thread render offline', async ({ page, context }) => {
  await signUpByApi(page);
  const me = await userId(page);
  const res = await page.request.post('/api/files', { multipart: { file: { name: 'dot.png', mimeType: 'image/png', buffer: PNG } } });
  expect(res.status(), await res.text()).toBe(201);
  const { file } = await res.json();
  const thread = await newThread(page.request, { title: 'Holiday photo' });
  await postByApi(page.request, thread.id, 'What is in this picture?', { attachments: [{ id: file.id }] });

  await page.goto(`/t/${thread.id}`);
  await installed(page);
  await expect.poll(async () => (await mirror(page, me))?.images ?? [], { timeout: 20_000 }).toEqual([{ id: file.id, size: PNG.length }]);

  await context.setOffline(true);
  await page.reload();
  await expect(offlineBanner(page)).toBeVisible();
  const image = user(page).locator('img');
  await expect(image).toHaveAttribute('src', /^blob:/);
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(2);
  await page.screenshot({ path: join(shots, 'image-offline.png') });
  await context.setOffline(false);
});

// Issue 18 (defect 10) changed this on purpose: a new chat no longer refuses without a network,
// it waits in the outbox like a message (the whole path: offline-new-chat.spec.ts).
test('a new chat without a network waits to be sent, like a message', async ({ page, context }) => {
  await signUpByApi(page);
  await page.goto('/');
  await installed(page);
  await context.setOffline(true);
  await page.goto('/?new=1');
  await page.getByRole('textbox', { name: 'Message' }).fill('Start something new');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page).toHaveURL(/\/t\/[0-9a-f-]{36}$/);
  await expect(queued(page)).toHaveCount(1);
  await expect(queued(page)).toContainText('Waiting to send');
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('');
  await context.setOffline(false);
  await expect(assistant(page).filter({ hasText: 'Echo: Start something new' })).toHaveCount(1, { timeout: 20_000 });
});
