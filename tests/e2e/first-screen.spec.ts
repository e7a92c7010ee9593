/**
 * The first screen of a thread (issue 17): it needs only the first-load JS (index.html's
 * scripts and what they import statically). The Markdown renderer, the thread drawer and
 * the dialogs are lazy chunks that come after it; a reply with no Markdown syntax shows
 * its final HTML from the start (the same DOM node stays when the renderer arrives), one
 * with syntax shows its text and is rendered in place once the renderer is here; a lazy
 * part that cannot be fetched says so instead of showing nothing. (The offline mirror's
 * database code is lazy too: the first screen shows the server's answer without it.)
 */
import { expect, test, type Page } from '@playwright/test';
import { assistant, shoot, signUpByApi, startChat, waitForReply } from './helpers';

test.use({ viewport: { width: 390, height: 844 } });

/** A thread with a plain reply, then one with Markdown (the fake provider echoes the message). */
async function threadWithTwoReplies(page: Page) {
  await signUpByApi(page);
  const id = await startChat(page, 'plain words only, nothing else');
  await waitForReply(page);
  await page.getByRole('textbox', { name: 'Message' }).fill('now **bold** words');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(assistant(page)).toHaveCount(2);
  await waitForReply(page);
  return id;
}

/** The JS files of a first load, as index.html names them. */
async function firstLoadScripts(page: Page) {
  const res = await page.request.get('/');
  const html = await res.text();
  const files = new Set<string>();
  for (const m of html.matchAll(/(?:href|src)="([^"]+\.js)"/g)) files.add(m[1]!);
  for (const m of html.matchAll(/import\("([^"]+\.js)"\)/g)) files.add(m[1]!);
  expect(files.size).toBeGreaterThan(0);
  return files;
}

test('a thread opens with only the first-load JS; what could not load says so', async ({ page }) => {
  const id = await threadWithTwoReplies(page);
  const allowed = await firstLoadScripts(page);
  // From here on, every script that is not part of the first load fails to arrive.
  const refused: string[] = [];
  await page.route('**/_app/**/*.js', (route) => {
    const path = new URL(route.request().url()).pathname;
    if (allowed.has(path)) return route.continue();
    refused.push(path);
    return route.abort();
  });
  await page.goto(`/t/${id}`);
  const [plain, rich] = [assistant(page).first(), assistant(page).last()];
  await expect(rich).toHaveAttribute('data-status', 'complete');
  // The plain reply is final HTML; the other is its text as typed (no renderer to make it bold).
  expect(await plain.locator('.md > *').evaluateAll((els) => els.map((e) => e.outerHTML))).toEqual(['<p>Echo: plain words only, nothing else</p>']);
  await expect(rich.locator('.md')).toContainText('Echo: now **bold** words');
  await expect(rich.locator('strong')).toHaveCount(0);
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeEnabled();
  expect(refused.length).toBeGreaterThan(0); // the renderer (and the drawer) were asked for
  // The drawer and the share dialog say they could not load.
  await page.getByRole('button', { name: 'Open threads' }).click();
  await expect(page.locator('#threads-drawer').getByRole('alert')).toContainText("Couldn't load your threads");
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Share' }).click();
  const dialog = page.getByRole('dialog', { name: 'Share thread' });
  await expect(dialog.getByRole('alert')).toContainText("Couldn't load this");
  await shoot(page, 'first-screen-load-failed-phone');
  await dialog.getByRole('button', { name: 'Close' }).last().click();
  await expect(dialog).toHaveCount(0);
  // The model menu's list is lazy too: its button says so, and focus comes back to it.
  const picker = page.getByRole('button', { name: /^Model/ });
  await picker.click();
  const models = page.getByRole('dialog', { name: 'Model' });
  await expect(models.getByRole('alert')).toContainText("Couldn't load this");
  await models.getByRole('button', { name: 'Close' }).last().click();
  await expect(models).toHaveCount(0);
  await expect(picker).toHaveAttribute('aria-expanded', 'false');
  await shoot(page, 'first-screen-without-renderer-phone');
  // Desktop, dark: the sidebar (fetched at once on a wide screen) says it could not load.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`/t/${id}`);
  await expect(page.locator('#threads-drawer').getByRole('alert')).toContainText("Couldn't load your threads");
  await page.getByRole('button', { name: 'Share' }).click();
  await expect(dialog.getByRole('alert')).toContainText("Couldn't load this");
  await shoot(page, 'first-screen-load-failed-desktop-dark');
});

test('the renderer arrives after the first paint and renders in place; a plain reply keeps its node', async ({ page }) => {
  const id = await threadWithTwoReplies(page);
  // Hold the renderer's chunk back until the first paint is checked, so the order is certain.
  const allowed = await firstLoadScripts(page);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/_app/**/*.js', async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (!allowed.has(path)) await released;
    await route.continue();
  });
  await page.goto(`/t/${id}`);
  const [plain, rich] = [assistant(page).first(), assistant(page).last()];
  await expect(rich.locator('.md')).toContainText('Echo: now **bold** words');
  await plain.locator('.md > p').evaluate((p) => ((p as HTMLElement & { first?: boolean }).first = true));
  const height = await plain.evaluate((el) => el.getBoundingClientRect().height);
  release();
  await expect(rich.locator('strong')).toHaveText('bold');
  await expect(rich.locator('.md')).not.toContainText('**');
  // The plain reply was not touched: the same paragraph node, the same height.
  expect(await plain.locator('.md > p').evaluate((p) => (p as HTMLElement & { first?: boolean }).first === true)).toBe(true);
  expect(await plain.evaluate((el) => el.getBoundingClientRect().height)).toBe(height);
});

test('a browser without import maps runs the same page from the files', async ({ page }) => {
  const id = await threadWithTwoReplies(page);
  // As Safari before 16.4: the boot script leaves the modules to their files, preloaded.
  await page.addInitScript(() => {
    HTMLScriptElement.supports = () => false;
  });
  const scripts: string[] = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (req.resourceType() === 'script') scripts.push(url.protocol === 'blob:' ? 'blob:' : url.pathname);
  });
  await page.goto(`/t/${id}`);
  await expect(assistant(page).last()).toHaveAttribute('data-status', 'complete');
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeEnabled();
  expect(scripts.filter((path) => path.startsWith('/_app/immutable/bundle.'))).toHaveLength(1);
  expect(scripts).not.toContain('blob:');
  expect(await page.locator('link[rel="modulepreload"]').count()).toBeGreaterThanOrEqual(2);
  expect(await page.locator('textarea[data-module], script[type="importmap"]').count()).toBe(0);
});

test('opening a thread cold asks the server once for who is signed in and once for the thread', async ({ page }) => {
  const id = await threadWithTwoReplies(page);
  const asked: string[] = [];
  const stylesheets: string[] = [];
  const scripts: string[] = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith('/api/')) asked.push(`${req.method()} ${url.pathname}`);
    if (req.resourceType() === 'stylesheet') stylesheets.push(url.pathname);
    if (req.resourceType() === 'script') scripts.push(url.protocol === 'blob:' ? 'blob:' : url.pathname);
  });
  await page.goto(`/t/${id}`);
  await expect(assistant(page).last()).toHaveAttribute('data-status', 'complete');
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeEnabled();
  // The app's stylesheet came inside the page (server/web.ts): no link, no request of its own, and
  // it applies. (Lazy parts' own CSS, like the sidebar's, comes with them, after the first screen.)
  // (As the browser asks for a page: a fetch that is not one, like the service worker's, gets the shell linking the files.)
  const shell = await (await page.request.get(`/t/${id}`, { headers: { 'sec-fetch-dest': 'document' } })).text();
  expect(shell).toContain('<style>');
  expect(shell).not.toContain('rel="stylesheet"');
  expect(stylesheets.filter((path) => path.startsWith('/_app/immutable/assets/app.'))).toEqual([]);
  expect(await page.locator('.composer').evaluate((el) => getComputedStyle(el).borderRadius)).toBe('24px');
  // The first-load modules came inside the page too (server/web.ts, inlineModules): the browser
  // asked for none of their files, and the page keeps no copy once they run.
  const inlined = [...shell.matchAll(/<textarea hidden data-module="([^"]+)">/g)].map((m) => m[1]!);
  expect(inlined.length).toBeGreaterThanOrEqual(2);
  expect(shell).not.toContain('rel="modulepreload"');
  expect(scripts.filter((path) => inlined.includes(path))).toEqual([]);
  expect(scripts.filter((path) => path.startsWith('blob:'))).toHaveLength(inlined.length);
  expect(await page.locator('textarea[data-module]').count()).toBe(0);
  // The app chunk (the large one) asks V8 to compile it as it arrives: the hint only works on the
  // file's first line (web/vite.config.ts, compileHint). The small entry does not carry it.
  const bodies = await Promise.all(inlined.map(async (href) => (await page.request.get(href)).text()));
  const app = bodies.reduce((a, b) => (b.length > a.length ? b : a));
  expect(app.length).toBeGreaterThan(100_000);
  expect(app.startsWith('//# allFunctionsCalledOnLoad\n')).toBe(true);
  expect(bodies.filter((body) => body.includes('allFunctionsCalledOnLoad'))).toHaveLength(1);
  const block = shell.slice(shell.indexOf(`data-module="${inlined[bodies.indexOf(app)]}">`));
  expect(block.slice(block.indexOf('>') + 1).startsWith('//# allFunctionsCalledOnLoad\n')).toBe(true);
  // The thread list and folders come after the first screen; wait for them so nothing late is missed.
  await expect.poll(() => asked.filter((a) => a === 'GET /api/folders').length).toBeGreaterThan(0);
  // index.html's prefetch: who is signed in (its answer carries the permissions too) and the
  // thread's messages, whose page carries the thread itself: no GET /api/threads/:id.
  expect(asked.filter((a) => a === 'GET /api/auth/me')).toHaveLength(1);
  expect(asked.filter((a) => a === `GET /api/threads/${id}/messages`)).toHaveLength(1);
  expect(asked.filter((a) => a === `GET /api/threads/${id}`)).toHaveLength(0);
});
