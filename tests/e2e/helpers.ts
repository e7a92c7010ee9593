/** Shared steps for the e2e specs. */
import AxeBuilder from '@axe-core/playwright';
import { expect, type BrowserContext, type Page } from '@playwright/test';
import { join } from 'node:path';
import { eventually } from '../support/eventually';

export { newThread } from '../support/threads';

let counter = 0;

export interface Account {
  email: string;
  password: string;
  name: string;
}

export function newAccount(name = 'Ada Lovelace'): Account {
  const id = `${Date.now().toString(36)}-${process.pid}-${++counter}`;
  return { email: `e2e-${id}@example.test`, password: `correct horse ${id} battery`, name };
}

/** The admin account the e2e stack seeds (tests/e2e/stack.ts). */
export const ADMIN: Account = {
  email: 'admin@example.test',
  password: process.env.E2E_ADMIN_PASSWORD ?? 'e2e admin passphrase',
  name: 'Admin',
};

/** Registers through the API (fast); the page's context gets the session cookies. */
export async function signUpByApi(page: Page, account = newAccount()): Promise<Account> {
  const res = await page.request.post('/api/auth/register', {
    data: { email: account.email, password: account.password, name: account.name },
  });
  expect(res.status(), await res.text()).toBe(201);
  return account;
}

/** Starts a new chat from the composer and waits for the thread page. */
export async function startChat(page: Page, text: string) {
  await page.goto('/?new=1');
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForURL(/\/t\/[0-9a-f-]{36}$/);
  return page.url().split('/t/')[1]!;
}

export const assistant = (page: Page) => page.locator('[data-role="assistant"]');
export const user = (page: Page) => page.locator('[data-role="user"]');

/** Waits for the last assistant message to be final (status other than streaming). */
export async function waitForReply(page: Page, timeout = 20_000) {
  await expect(assistant(page).last()).toHaveAttribute('data-status', /complete|cancelled|error/, { timeout });
}

/** The two sizes every screen is looked at in. */
export const SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1280, height: 800 },
] as const;

const SHOTS = join(import.meta.dirname, '.artifacts', 'screens');

/**
 * A screenshot for people to look at (tests/e2e/.artifacts/screens/<name>.png), and
 * axe-core finding no serious or critical violation on the screen.
 */
export async function shoot(page: Page, name: string) {
  // Contrast is judged on the final colours, not halfway through a fade or a slide.
  await settled(page);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), animations: 'disabled' });
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, name).toEqual([]);
}

/**
 * Waits until every running finite CSS transition and animation has finished (a drawer's
 * slide, a fade), instead of sleeping for their guessed duration. Endless ones (a typing
 * indicator, a shimmer) are left running: they never settle, and screenshots freeze them.
 */
export async function settled(page: Page) {
  await page.evaluate(async () => {
    for (let round = 0; round < 5; round++) {
      const running = document
        .getAnimations()
        .filter((a) => a.playState === 'running' && a.effect?.getComputedTiming().endTime !== Infinity);
      if (!running.length) return;
      // A finished transition can start another (e.g. on transitionend): look again after.
      await Promise.all(running.map((a) => a.finished.catch(() => undefined)));
    }
  });
}

/** Waits until the service worker controls the page (an offline reload is then served by it). */
export async function installed(page: Page) {
  // Not `await navigator.serviceWorker.ready`: with no worker it never settles, and the test
  // would end in a timeout that does not say why.
  const active = () => page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active != null);
  const controlled = () => page.evaluate(() => navigator.serviceWorker.controller !== null);
  await eventually(async () => expect(await active()).toBe(true), { timeout: 15_000, message: 'an active service worker' });
  if (!(await controlled())) await page.reload();
  await eventually(async () => expect(await controlled()).toBe(true), { timeout: 15_000, message: 'the service worker controlling the page' });
}

/** The page's voice timing marks (`parley:voice:*`), as wall-clock times (voice and hands-free specs). */
export async function voiceMarks(page: Page) {
  return page.evaluate(() =>
    performance
      .getEntriesByType('mark')
      .filter((m) => m.name.startsWith('parley:voice:'))
      .map((m) => ({
        stage: m.name.slice('parley:voice:'.length),
        at: performance.timeOrigin + m.startTime,
        detail: (m as PerformanceMark).detail as Record<string, unknown> | null,
      })),
  );
}

/**
 * The app closed (no window of the origin left) and the network back, as a phone that comes
 * online with Parley in the background: returns `fire`, which dispatches the outbox's
 * Background Sync event through DevTools, as the browser would (and fires again after a failure).
 */
export async function closeAppAndGoOnline(page: Page, context: BrowserContext) {
  const cdp = await context.newCDPSession(page);
  const registration = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r: { scopeURL: string; isDeleted: boolean }) => r.scopeURL.endsWith('/') && !r.isDeleted);
      if (ours) resolve(ours.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const registrationId = await registration;
  const origin = new URL(page.url()).origin;
  await page.goto('about:blank');
  await context.setOffline(false);
  return {
    fire: (lastChance = false) => cdp.send('ServiceWorker.dispatchSyncEvent', { origin, registrationId, tag: 'parley-outbox', lastChance }),
  };
}

/** The stack's fake speech provider's control routes (/__fake/audio/…): GET without a body, POST with one. */
export async function fakeAudio<T>(path: string, body?: unknown): Promise<T> {
  const base = `http://127.0.0.1:${Number(process.env.E2E_FAKE_PORT ?? Number(process.env.E2E_PORT ?? 4321) + 1)}/__fake/audio`;
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.ok, `fake ${path}: ${res.status}`).toBe(true);
  return (res.status === 204 ? undefined : await res.json()) as T;
}
