/**
 * Issue 11, defects 5 and 11, in the browser:
 * - a reply of hostile Markdown (deep quotes and lists, runs of emphasis and brackets, one
 *   huge paragraph) shows, streamed and reloaded, in the thread and on its share page,
 *   and never blocks the main thread for long (measured with the Long Tasks API);
 * - remote media in every syntax a filter missed loads nothing, with the CSP switched off.
 */
import { expect, test, type Page } from '@playwright/test';
import { assistant, shoot, signUpByApi, SIZES, startChat, waitForReply } from './helpers';

/** Records every long task (≥ 50 ms on the main thread) from the first script on. */
async function watchLongTasks(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.__longTasks.push(entry.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
}
const longTasks = (page: Page) => page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
/** The Markdown renderer's own main-thread time per update (User Timing `parley:markdown`). */
const renderSteps = (page: Page) => page.evaluate(() => performance.getEntriesByName('parley:markdown').map((e) => e.duration));

/**
 * Before the fix this reply blocked the page for seconds per render (or crashed the renderer).
 * Measured after it on an idle machine: long tasks on load 50–120 ms, render steps mostly
 * under 20 ms; the bounds leave room for a shared CI machine (2 cores, other jobs running).
 */
const MAX_BLOCK_MS = 400;
/** One render step while a reply streams: the block the delta landed in, not the whole reply. */
const MAX_STEP_MS = 500;

test('a hostile reply streams, reloads and shares without freezing the page', async ({ page, browser }) => {
  test.setTimeout(150_000);
  await watchLongTasks(page);
  await signUpByApi(page);
  const id = await startChat(page, 'Be hostile #hostile');
  // 135 KB streamed into a page on a busy CI machine (two workers on two cores) takes a while.
  await waitForReply(page, 60_000);
  const reply = assistant(page).last();
  await expect(reply).toContainText('The end of the hostile reply.');
  await expect(reply).toContainText('deep quote');
  // While it streamed, the renderer never re-rendered the whole reply: each update is short.
  // (The page's own layout of a 135 KB reply still shows as long tasks while it grows: reported,
  // not asserted here; see the hand-back note.)
  const steps = await renderSteps(page);
  expect(steps.length).toBeGreaterThan(3);
  expect(Math.max(...steps), `render steps while streaming: ${steps.map(Math.round).join(', ')}`).toBeLessThan(MAX_STEP_MS);
  test.info().annotations.push({ type: 'long tasks while streaming (ms)', description: (await longTasks(page)).map(Math.round).join(', ') });
  // Quote nesting is cut, not rendered 3000 deep.
  expect(await reply.evaluate((el) => el.querySelectorAll('blockquote').length)).toBeLessThanOrEqual(8);

  // Loaded at once (not streamed): the whole reply renders in slices.
  await page.reload();
  await expect(assistant(page).last()).toContainText('The end of the hostile reply.', { timeout: 30_000 });
  await waitForReply(page, 60_000);
  const loaded = await longTasks(page);
  expect(Math.max(0, ...loaded), `long tasks on load: ${loaded.map(Math.round).join(', ')}`).toBeLessThan(MAX_BLOCK_MS);
  // The page answers input right away.
  const composer = page.getByRole('textbox', { name: 'Message' });
  const typed = performance.now();
  await composer.fill('still responsive');
  await expect(composer).toHaveValue('still responsive');
  expect(performance.now() - typed).toBeLessThan(2000);

  // The public share page renders it too (it showed nothing before: the renderer's stack overflowed).
  const share = await page.request.post(`/api/threads/${id}/share`);
  const { code } = (await share.json()) as { code: string };
  const context = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  const viewer = await context.newPage();
  await watchLongTasks(viewer);
  await viewer.goto(`/s/${code}`);
  await expect(viewer.locator('[data-role="assistant"]')).toContainText('The end of the hostile reply.');
  const shared = await longTasks(viewer);
  expect(Math.max(0, ...shared), `long tasks on the share page: ${shared.map(Math.round).join(', ')}`).toBeLessThan(MAX_BLOCK_MS);
  for (const size of SIZES) {
    await viewer.setViewportSize(size);
    await viewer.evaluate(() => window.scrollTo(0, 0));
    await shoot(viewer, `hostile-markdown-share-${size.name}`);
  }
  await context.close();
});

test('remote media in any syntax loads nothing, even with the CSP off', async ({ browser }) => {
  // The CSP would stop these requests; the sanitizer must not count on it.
  const context = await browser.newContext({ baseURL: test.info().project.use.baseURL, bypassCSP: true });
  const page = await context.newPage();
  const evil: string[] = [];
  // Another host, that is: the two backslash images resolve to same-origin paths (404s).
  const remote = (url: string) => new URL(url).hostname.endsWith('evil.example');
  page.on('request', (r) => {
    if (remote(r.url())) evil.push(r.url());
  });
  await signUpByApi(page);
  await startChat(page, 'Show media #media');
  await waitForReply(page);
  const reply = assistant(page).last();
  await expect(reply).toContainText('The end of the media reply.');
  // Remote images became links to click. (Markdown's own image syntax percent-encodes a
  // backslash, so those two stay same-origin paths: kept, and they fetch nothing remote.)
  await expect(reply.getByText(/Image: raw backslash \(not loaded\)/)).toBeVisible();
  await expect(reply.getByText(/Image: protocol-relative \(not loaded\)/)).toBeVisible();
  const left = await reply.evaluate((el) => ({
    media: el.querySelectorAll('video, audio, source, picture, track, object, embed, link, input[type="image"]').length,
    attributes: el.querySelectorAll('[srcset], [poster], [background]').length,
    remoteImages: [...el.querySelectorAll('img')].map((i) => i.src).filter((src) => !src.startsWith(location.origin)),
  }));
  expect(left).toEqual({ media: 0, attributes: 0, remoteImages: [] });
  await page.reload();
  await expect(assistant(page).last()).toContainText('The end of the media reply.');
  // Every image there is has loaded or failed: had a remote one been asked for, it would show.
  await assistant(page).last().evaluate((el) =>
    Promise.all([...el.querySelectorAll('img')].map((i) => (i.complete ? null : new Promise((r) => ((i.onload = r), (i.onerror = r)))))),
  );
  const fetched = (await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name))).filter(remote);
  expect({ requests: evil, fetched }).toEqual({ requests: [], fetched: [] });
  await context.close();
});
