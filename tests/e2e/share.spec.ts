/**
 * Share links in the browser (issue 7, items 1 and 6; security items 1 and 2):
 *   - the Share button makes a link, copies it ("Link copied") or hands it to the device's
 *     share sheet, says plainly when offline that sharing needs the network;
 *   - the link opened signed out, in a fresh browser context, shows the conversation
 *     (sanitized Markdown, images through the share's own URLs); XSS payloads in messages,
 *     the title and an image prompt stay inert; "Continue this conversation" goes through
 *     sign-up and forks the thread into the viewer's account;
 *   - revoking (Settings › Shared links, or Stop sharing) makes the link 404 at once, through
 *     the API and in a browser that already visited it;
 *   - another user's thread, file and share ids answer 404 from a signed-in browser.
 * Screenshots (390×844 and 1280×800) of the share page and the share dialog land in
 * tests/e2e/.artifacts/screens/.
 */
import { expect, test, type APIRequestContext, type Browser, type Page } from '@playwright/test';
import { makePng } from '../support/fake-provider/images';
import { assistant, newAccount, newThread, signUpByApi, startChat, waitForReply, shoot, SIZES } from './helpers';


const XSS_TITLE = `Plans "><script>window.__xss='title'</script><img src=x onerror="window.__xss='title-img'">`;
const XSS_PROMPT = `a lighthouse <img src=x onerror="window.__xss='alt'">`;

/** Counts dialogs (alert/confirm) a page opens: an XSS that runs usually shows up here first. */
function watchDialogs(page: Page) {
  const seen: string[] = [];
  page.on('dialog', (d) => {
    seen.push(d.message());
    void d.dismiss();
  });
  return seen;
}

async function expectNothingRan(page: Page) {
  const state = await page.evaluate(() => ({
    xss: (window as unknown as { __xss?: unknown }).__xss ?? null,
    handlers: document.querySelectorAll('[onerror], [onload], [onclick], [ontoggle], [onmouseover]').length,
    jsLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
    // (The app's own icons are SVG; none may come from the content.)
    scripts: document.querySelectorAll('main script, main iframe, main .md svg, main object, main embed').length,
  }));
  expect(state).toEqual({ xss: null, handlers: 0, jsLinks: 0, scripts: 0 });
}

/** A thread with a reply full of payloads, an XSS title and a generated image (its prompt is a payload too). */
async function hostileThread(page: Page): Promise<string> {
  const id = await startChat(page, 'Here is the trip plan #xss');
  await waitForReply(page);
  await expect(assistant(page).last()).toContainText('Here are some payloads');
  expect((await page.request.patch(`/api/threads/${id}`, { data: { title: XSS_TITLE } })).ok()).toBe(true);
  const image = await page.request.post('/api/images', { data: { prompt: XSS_PROMPT, threadId: id } });
  expect(image.status(), await image.text()).toBe(201);
  await page.reload();
  await expect(assistant(page)).toHaveCount(2);
  return id;
}

async function freshViewer(browser: Browser, viewport: { width: number; height: number } = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ baseURL: test.info().project.use.baseURL, viewport, serviceWorkers: 'block' });
  return { context, page: await context.newPage() };
}

async function shareByApi(request: APIRequestContext, threadId: string) {
  const res = await request.post(`/api/threads/${threadId}/share`);
  expect(res.status()).toBe(201);
  return (await res.json()) as { code: string; url: string };
}

test('share → signed out in a fresh context: visible, inert, and Continue forks into a new account', async ({ page, browser }) => {
  const ownerDialogs = watchDialogs(page);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await signUpByApi(page);
  const threadId = await hostileThread(page);

  await page.getByRole('button', { name: 'Share' }).click();
  const dialog = page.getByRole('dialog', { name: 'Share thread' });
  const link = dialog.getByRole('textbox', { name: 'Link' });
  await expect(link).toHaveValue(/\/s\/[A-Za-z0-9_-]{22}$/);
  const url = await link.inputValue();
  // No share sheet in desktop Chromium on Linux: Copy link, and a visible confirmation.
  await dialog.getByRole('button', { name: 'Copy link' }).click();
  await expect(dialog.getByRole('status').filter({ hasText: 'Link copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  const viewer = await freshViewer(browser);
  const dialogs = watchDialogs(viewer.page);
  const path = new URL(url).pathname;
  const res = await viewer.page.goto(path);
  expect(res?.status()).toBe(200);
  expect(res?.headers()['cache-control']).toBe('no-store');
  await expect(viewer.page.getByRole('heading', { level: 1 })).toHaveText(XSS_TITLE);
  await expect(viewer.page.locator('[data-role="user"]').first()).toContainText('Here is the trip plan #xss');
  await expect(viewer.page.locator('[data-role="assistant"]').first()).toContainText('Here are some payloads');
  await expect(viewer.page.getByText(/Image: exfiltrate \(not loaded\)/)).toBeVisible();
  // The generated image, through the share's own file URL, with its prompt (as text) for alt.
  const image = viewer.page.getByRole('img', { name: XSS_PROMPT });
  await expect(image).toHaveAttribute('src', new RegExp(`^/api/shares/${path.split('/').pop()}/files/[0-9a-f-]{36}$`));
  await expect.poll(() => image.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBe(true);
  await expect(viewer.page.getByRole('link', { name: /Download/ })).toHaveAttribute('href', /\/api\/shares\/.+\/files\/.+\?download=1$/);
  await expect(viewer.page).toHaveTitle(`${XSS_TITLE} · Parley`);
  await expectNothingRan(viewer.page);
  expect(dialogs).toEqual([]);

  // Continue: sign up in this context, come back, and the fork happens.
  await viewer.page.getByRole('button', { name: 'Continue this conversation' }).click();
  await viewer.page.waitForURL(/\/login\?next=/);
  await viewer.page.getByRole('link', { name: 'Create account' }).click();
  const account = newAccount('Grace Hopper');
  await viewer.page.getByRole('textbox', { name: 'Name' }).fill(account.name);
  await viewer.page.getByRole('textbox', { name: 'Email' }).fill(account.email);
  await viewer.page.getByLabel('Password').fill(account.password);
  await viewer.page.getByRole('button', { name: 'Create account' }).click();
  await viewer.page.waitForURL(/\/t\/[0-9a-f-]{36}$/);
  const forkId = viewer.page.url().split('/t/')[1]!;
  expect(forkId).not.toBe(threadId);
  await expect(viewer.page.locator('[data-role="assistant"]')).toHaveCount(2);
  await expectNothingRan(viewer.page);

  // Through the viewer's API: their own thread, same title and messages under new ids.
  const me = await (await viewer.page.request.get('/api/auth/me')).json();
  expect(me.user.email).toBe(account.email);
  const fork = await (await viewer.page.request.get(`/api/threads/${forkId}`)).json();
  expect(fork.thread.title).toBe(XSS_TITLE);
  const original = (await (await page.request.get(`/api/threads/${threadId}/messages`)).json()).messages;
  const copied = (await (await viewer.page.request.get(`/api/threads/${forkId}/messages`)).json()).messages;
  expect(copied.map((m: { content: string }) => m.content)).toEqual(original.map((m: { content: string }) => m.content));
  expect(copied.some((m: { id: string }) => original.some((o: { id: string }) => o.id === m.id))).toBe(false);
  // The image became the viewer's own file.
  const file = copied.find((m: { attachments: unknown[] }) => m.attachments.length).attachments[0];
  const bytes = await viewer.page.request.get(`/api/files/${file.id}`);
  expect(bytes.status()).toBe(200);
  expect(bytes.headers()['content-type']).toBe('image/png');
  // The owner still cannot read the viewer's copy, and the other way round.
  expect((await page.request.get(`/api/threads/${forkId}`)).status()).toBe(404);
  expect((await viewer.page.request.get(`/api/threads/${threadId}`)).status()).toBe(404);

  // Back to the share page once signed in: Continue forks at once, no sign-in detour.
  await viewer.page.goto(path);
  await viewer.page.getByRole('button', { name: 'Continue this conversation' }).click();
  await viewer.page.waitForURL(/\/t\/[0-9a-f-]{36}$/);
  expect(viewer.page.url()).not.toContain(forkId);
  expect(ownerDialogs).toEqual([]);
  await viewer.context.close();
});

test('revoking in Settings makes the link 404 at once: API, files, and a browser that visited it', async ({ page, browser }) => {
  await signUpByApi(page);
  const threadId = await startChat(page, 'A recipe for bread');
  await waitForReply(page);
  await page.request.post('/api/images', { data: { prompt: 'a loaf of bread', threadId } });
  const { code, url } = await shareByApi(page.request, threadId);
  const path = new URL(url).pathname;

  const viewer = await freshViewer(browser);
  await viewer.page.goto(path);
  await expect(viewer.page.locator('[data-role="assistant"]').first()).toContainText('Echo: A recipe for bread');
  const imageSrc = await viewer.page.getByRole('img', { name: 'a loaf of bread' }).getAttribute('src');
  expect((await viewer.page.request.get(imageSrc!)).status()).toBe(200);

  await page.goto('/settings');
  const section = page.locator('section', { has: page.getByRole('heading', { name: 'Shared links' }) });
  await expect(section.getByRole('link', { name: 'A recipe for bread' })).toBeVisible();
  await expect(section.getByRole('link', { name: new RegExp(code) })).toBeVisible();
  await section.scrollIntoViewIfNeeded();
  await shoot(page, 'settings-shared-links-desktop');
  await section.getByRole('button', { name: 'Revoke link to A recipe for bread' }).click();
  await expect(section.getByText('You are not sharing any threads.')).toBeVisible();
  await expect(section.getByRole('status')).toHaveText('Stopped sharing “A recipe for bread”');

  // At once, for anyone: the snapshot, its files, and the page.
  expect((await viewer.page.request.get(`/api/shares/${code}`)).status()).toBe(404);
  expect((await viewer.page.request.get(imageSrc!)).status()).toBe(404);
  const reload = await viewer.page.reload();
  expect(reload?.status()).toBe(404);
  await expect(viewer.page.getByRole('heading', { name: 'This link was revoked or never existed' })).toBeVisible();
  await expect(viewer.page.getByText('Echo: A recipe for bread')).toHaveCount(0);
  await expect(viewer.page.getByRole('button', { name: 'Continue this conversation' })).toHaveCount(0);
  // Not from the cache after going away and back either.
  await viewer.page.goto('/login');
  await viewer.page.goBack();
  await expect(viewer.page.getByRole('heading', { name: 'This link was revoked or never existed' })).toBeVisible();
  await viewer.context.close();

  // An unknown code looks the same.
  await page.goto('/s/AAAAAAAAAAAAAAAAAAAAAA');
  await expect(page.getByRole('heading', { name: 'This link was revoked or never existed' })).toBeVisible();
});

test('Stop sharing in the dialog revokes; offline, the dialog says sharing needs the network', async ({ page, browser }) => {
  await signUpByApi(page);
  await startChat(page, 'Weekend hike');
  await waitForReply(page);

  await page.context().setOffline(true);
  try {
    await page.getByRole('button', { name: 'Share' }).click();
    const dialog = page.getByRole('dialog', { name: 'Share thread' });
    await expect(dialog.getByRole('alert')).toContainText('You are offline. Sharing needs the network');
    await expect(dialog.getByRole('textbox', { name: 'Link' })).toHaveCount(0);
    await page.context().setOffline(false);
    // Back online: the link is made without another click.
    await expect(dialog.getByRole('textbox', { name: 'Link' })).toHaveValue(/\/s\//);
    const url = await dialog.getByRole('textbox', { name: 'Link' }).inputValue();
    // Shared: the thread says so on its Share button.
    await expect(page.getByText('Shared', { exact: true })).toBeAttached();
    // Stop sharing asks first; "Keep sharing" keeps the link.
    await dialog.getByRole('button', { name: 'Stop sharing' }).click();
    await expect(dialog.getByRole('alert')).toContainText('Stop sharing? The link stops working for everyone who has it.');
    await shoot(page, 'share-stop-confirm');
    await dialog.getByRole('button', { name: 'Keep sharing' }).click();
    expect((await page.request.get(`/api/shares/${url.split('/s/')[1]}`)).status()).toBe(200);
    await dialog.getByRole('button', { name: 'Stop sharing' }).click();
    await dialog.getByRole('button', { name: 'Stop sharing' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('status').getByText('Stopped sharing “Weekend hike”')).toBeVisible();
    await expect(page.getByText('Shared', { exact: true })).toHaveCount(0);

    const viewer = await freshViewer(browser);
    expect((await viewer.page.request.get(`/api/shares/${url.split('/s/')[1]}`)).status()).toBe(404);
    await viewer.page.goto(new URL(url).pathname);
    await expect(viewer.page.getByRole('heading', { name: 'This link was revoked or never existed' })).toBeVisible();
    await viewer.context.close();
  } finally {
    await page.context().setOffline(false);
  }
});

test('the share sheet gets the link where the device has one', async ({ page }) => {
  await page.addInitScript(() => {
    (navigator as unknown as { share: (data: ShareData) => Promise<void> }).share = async (data) => {
      (window as unknown as { __shared: ShareData }).__shared = data;
    };
  });
  await signUpByApi(page);
  await startChat(page, 'Garden ideas');
  await waitForReply(page);
  await page.getByRole('button', { name: 'Share' }).click();
  const dialog = page.getByRole('dialog', { name: 'Share thread' });
  const link = dialog.getByRole('textbox', { name: 'Link' });
  await expect(link).toHaveValue(/\/s\//);
  await dialog.getByRole('button', { name: 'Share…' }).click();
  const shared = () => page.evaluate(() => (window as unknown as { __shared?: ShareData }).__shared ?? null);
  await expect.poll(async () => (await shared())?.url).toBe(await link.inputValue());
  expect((await shared())?.title).toBe('Garden ideas');
  // Copying is still offered beside the share sheet.
  await expect(dialog.getByRole('button', { name: 'Copy link' })).toBeVisible();
});

test("another user's thread, file and share ids answer 404 in the browser", async ({ page, browser }) => {
  await signUpByApi(page);
  const threadId = await startChat(page, 'Private notes');
  await waitForReply(page);
  const upload = await page.request.post('/api/files', {
    multipart: { file: { name: 'private.png', mimeType: 'image/png', buffer: Buffer.from(makePng(8, 8)) }, threadId },
  });
  expect(upload.status()).toBe(201);
  const fileId = (await upload.json()).file.id as string;
  const { code } = await shareByApi(page.request, threadId);
  const otherThreadId = (await newThread(page.request, { title: 'Unshared' })).id;

  const intruder = await freshViewer(browser);
  await signUpByApi(intruder.page);
  const r = intruder.page.request;
  expect((await r.get(`/api/threads/${threadId}`)).status()).toBe(404);
  expect((await r.get(`/api/threads/${threadId}/messages`)).status()).toBe(404);
  expect((await r.get(`/api/files/${fileId}`)).status()).toBe(404);
  expect((await r.get(`/api/files/${fileId}?download=1`)).status()).toBe(404);
  expect((await r.post(`/api/threads/${threadId}/share`)).status()).toBe(404);
  expect((await r.delete(`/api/threads/${threadId}/share`)).status()).toBe(404);
  expect((await r.delete(`/api/shares/${code}`)).status()).toBe(404);
  expect((await r.post('/api/images', { data: { prompt: 'x', threadId } })).status()).toBe(404);
  // A file that is not in the share is not reachable through it.
  expect((await r.get(`/api/shares/${code}/files/${fileId}`)).status()).toBe(404);
  // The share still works for everyone (the failed revoke changed nothing).
  expect((await r.get(`/api/shares/${code}`)).status()).toBe(200);
  // The intruder's own list holds none of it.
  expect((await (await r.get('/api/shares')).json()).shares).toEqual([]);

  // In the app: the thread page says it isn't there; the image does not load.
  await intruder.page.goto(`/t/${otherThreadId}`);
  await expect(intruder.page.getByRole('heading', { name: "This thread isn't here" })).toBeVisible();
  const loaded = await intruder.page.evaluate(
    (src) =>
      new Promise<boolean>((resolve) => {
        const img = new Image();
        img.onload = () => resolve(true);
        img.onerror = () => resolve(false);
        img.src = src;
      }),
    `/api/files/${fileId}`,
  );
  expect(loaded).toBe(false);
  await intruder.context.close();
});

for (const size of SIZES) {
  test(`screenshots at ${size.name}: share dialog and share page`, async ({ page, browser }) => {
    await page.setViewportSize({ width: size.width, height: size.height });
    await signUpByApi(page);
    const threadId = await startChat(page, 'How do I write a greeting function in TypeScript? #code');
    await waitForReply(page);
    await page.request.patch(`/api/threads/${threadId}`, { data: { title: 'Greeting function in TypeScript' } });
    await page.request.post('/api/images', { data: { prompt: 'a friendly robot waving hello', threadId } });
    await page.reload();
    await expect(assistant(page)).toHaveCount(2);

    await page.getByRole('button', { name: 'Share' }).click();
    const dialog = page.getByRole('dialog', { name: 'Share thread' });
    await expect(dialog.getByRole('textbox', { name: 'Link' })).toHaveValue(/\/s\//);
    const url = await dialog.getByRole('textbox', { name: 'Link' }).inputValue();
    await shoot(page, `share-dialog-${size.name}`);

    const viewer = await freshViewer(browser, size);
    await viewer.page.goto(new URL(url).pathname);
    await expect(viewer.page.getByRole('heading', { name: 'Greeting function in TypeScript' })).toBeVisible();
    await expect(viewer.page.locator('.hljs-keyword').first()).toBeVisible();
    await shoot(viewer.page, `share-page-${size.name}`);
    await viewer.page.locator('main').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await shoot(viewer.page, `share-page-end-${size.name}`);

    await dialog.getByRole('button', { name: 'Stop sharing' }).click();
    await dialog.getByRole('button', { name: 'Stop sharing' }).click(); // the confirmation
    await expect(dialog).toBeHidden();
    await viewer.page.reload();
    await expect(viewer.page.getByRole('heading', { name: 'This link was revoked or never existed' })).toBeVisible();
    await shoot(viewer.page, `share-revoked-${size.name}`);
    await viewer.context.close();
  });
}

test('the share page asks for its conversation once and then rests (signed out and signed in)', async ({ page, browser }) => {
  await signUpByApi(page);
  const threadId = await startChat(page, 'A link for the group chat');
  await waitForReply(page);
  const { code } = await shareByApi(page.request, threadId);

  const count = async (viewer: Page) => {
    const hits: string[] = [];
    viewer.on('request', (r) => {
      if (new URL(r.url()).pathname === `/api/shares/${code}`) hits.push(r.url());
    });
    await viewer.goto(`/s/${code}`);
    await expect(viewer.getByRole('heading', { level: 1 })).toContainText('A link for the group');
    // networkidle: no request for 500 ms. A page that keeps asking never gets there.
    await viewer.waitForLoadState('networkidle', { timeout: 10_000 });
    return hits.length;
  };

  const { context, page: stranger } = await freshViewer(browser);
  expect(await count(stranger)).toBe(1);
  await context.close();
  expect(await count(page)).toBe(1);
});
