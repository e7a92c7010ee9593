/**
 * The installable app: Chromium reports no installability errors (checked in a persistent
 * context: the default incognito one always says `in-incognito`), the manifest is complete,
 * the worker precaches the shell so the app opens offline, and an update waits for the user.
 */
import { chromium, expect, test, type BrowserContext } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseURL, chromiumArgs } from './playwright.config';
import { signUpByApi, startChat } from './helpers';

// Tracing does not follow a persistent context's pages.
test.use({ trace: 'off' });

let context: BrowserContext;
let dir: string;

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'parley-pwa-'));
  context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: chromiumArgs,
    baseURL,
    viewport: { width: 390, height: 844 },
    serviceWorkers: 'allow',
  });
});

test.afterAll(async () => {
  await context?.close();
  rmSync(dir, { recursive: true, force: true });
});

function pngSize(bytes: Buffer) {
  expect(bytes.subarray(1, 4).toString()).toBe('PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

test.describe.configure({ mode: 'serial' });

test('Chromium finds the app installable', async () => {
  const page = await context.newPage();
  await page.goto('/login');
  await page.evaluate(() => navigator.serviceWorker.ready);
  const cdp = await context.newCDPSession(page);
  await expect
    .poll(async () => ((await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: unknown[] }).installabilityErrors, {
      timeout: 15_000,
    })
    .toEqual([]);
  const manifest = (await cdp.send('Page.getAppManifest')) as { errors: unknown[]; url: string };
  expect(manifest.errors).toEqual([]);
  expect(manifest.url).toMatch(/\/manifest\.webmanifest$/);
  await page.close();
});

test('the manifest is complete and its icons are real PNGs of the stated sizes', async () => {
  const page = await context.newPage();
  const res = await page.request.get('/manifest.webmanifest');
  expect(res.headers()['cache-control']).toBe('no-cache');
  const m = await res.json();
  expect(m).toMatchObject({
    name: 'Parley',
    short_name: 'Parley',
    display: 'standalone',
    start_url: '/',
    scope: '/',
    theme_color: expect.stringMatching(/^#/),
    background_color: expect.stringMatching(/^#/),
    description: expect.any(String),
  });
  expect(m.shortcuts.map((s: { name: string }) => s.name)).toEqual(['New chat', 'Voice call']);
  const purposes = new Set<string>();
  for (const icon of m.icons as { src: string; sizes: string; purpose: string }[]) {
    const bytes = await (await page.request.get(icon.src)).body();
    const { width, height } = pngSize(bytes);
    expect(`${width}x${height}`).toBe(icon.sizes);
    purposes.add(`${icon.purpose}:${icon.sizes}`);
  }
  expect([...purposes]).toEqual(expect.arrayContaining(['any:192x192', 'any:512x512', 'maskable:512x512']));

  await page.goto('/login');
  const apple = await page.locator('link[rel="apple-touch-icon"]').getAttribute('href');
  expect(pngSize(await (await page.request.get(apple!)).body())).toEqual({ width: 180, height: 180 });
  await expect(page.locator('meta[name="apple-mobile-web-app-capable"]')).toHaveAttribute('content', 'yes');
  await expect(page.locator('meta[name="apple-mobile-web-app-title"]')).toHaveAttribute('content', 'Parley');
  await page.close();
});

test('the service worker serves the app shell offline, with the Offline banner', async () => {
  const page = await context.newPage();
  await page.goto('/login');
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  const sw = await page.request.get('/sw.js');
  expect(sw.headers()['cache-control']).toBe('no-cache');

  await context.setOffline(true);
  try {
    await page.goto('/register');
    await expect(page.getByRole('button', { name: 'Create account' })).toBeVisible();
    await expect(page.getByRole('status').filter({ hasText: 'Offline' })).toBeVisible();
  } finally {
    await context.setOffline(false);
  }
  await page.close();
});

test('where the browser offers it, an Install button appears', async () => {
  const page = await context.newPage();
  await signUpByApi(page);
  await page.goto('/settings');
  await expect(page.getByRole('region', { name: 'App' }).getByRole('button', { name: 'Install' })).toBeVisible({ timeout: 15_000 });
  await page.close();
});

test('a new version waits for the user, and never while a reply streams', async () => {
  const page = await context.newPage();
  await signUpByApi(page);
  await page.goto('/');
  await page.evaluate(() => navigator.serviceWorker.ready);
  await startChat(page, 'Keep talking #long');
  await expect(page.locator('[data-role="assistant"]')).toContainText('word2');

  // A deploy: the worker's bytes change on the server (restored right after).
  const file = join(import.meta.dirname, '..', '..', 'web', 'build', 'sw.js');
  const original = readFileSync(file, 'utf8');
  try {
    writeFileSync(file, `${original}\n// deployed ${Date.now()}\n`);
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    const toast = page.getByRole('status').filter({ hasText: 'Update available' });
    await expect(toast).toContainText('after this reply', { timeout: 15_000 });
    await expect(toast.getByRole('button', { name: 'Reload' })).toBeDisabled();

    await page.getByRole('button', { name: 'Stop' }).click();
    await expect(page.locator('[data-role="assistant"]')).toHaveAttribute('data-status', 'cancelled');
    await expect(toast.getByRole('button', { name: 'Reload' })).toBeEnabled();
    // Waiting for the reload before clicking: the new worker takes over and reloads quickly.
    const reloaded = page.waitForEvent('load');
    await toast.getByRole('button', { name: 'Reload' }).click();
    await reloaded;
    await expect(page.locator('[data-role="assistant"]')).toHaveAttribute('data-status', 'cancelled');
    await expect(page.getByRole('status').filter({ hasText: 'Update available' })).toHaveCount(0);
  } finally {
    writeFileSync(file, original);
  }
  await page.close();
});

test('robots.txt is a real one, and the manifest and the page agree on the theme colour', async ({ page }) => {
  const robots = await page.request.get('/robots.txt');
  expect(robots.status()).toBe(200);
  expect(robots.headers()['content-type']).toMatch(/^text\/plain/);
  expect(await robots.text()).toMatch(/^User-agent: \*$/m);

  const manifest = (await (await page.request.get('/manifest.webmanifest')).json()) as { theme_color: string };
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/login');
  const tags = await page.locator('meta[name="theme-color"]').evaluateAll((els) =>
    els.map((el) => ({ media: el.getAttribute('media') ?? '', content: el.getAttribute('content') })),
  );
  // The installed app opens with the manifest's colour: the dark tag's, so nothing flashes.
  expect(tags.find((t) => t.media.includes('dark'))?.content).toBe(manifest.theme_color);
});
