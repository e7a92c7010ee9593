/**
 * Issue 18, defects 3 and 4: messages not yet stored by the server are never lost quietly.
 *
 * - A message is in the outbox from the moment Send is pressed until the server has stored
 *   it; a send whose request gets no answer ends, after a bounded wait, as "Waiting to send",
 *   survives a reload, and is sent once (the server deduplicates its client id).
 * - Sign-out asks first, and says how many messages (and drafts) it would delete.
 * - Settings with the server away: one calm notice, not an error per section.
 *
 * Screenshots at 390×844 and 1280×800 land in tests/e2e/.artifacts/unsent/.
 */
import { expect, test, type Page } from '@playwright/test';
import { join } from 'node:path';
import { assistant, SIZES, signUpByApi, startChat, user, waitForReply } from './helpers';

const shots = join(import.meta.dirname, '.artifacts', 'unsent');
const queued = (page: Page) => page.locator('[data-role="user"][data-status="queued"]');

/** POSTs of messages never get an answer; `deliver`: they reach the server first (the answer is lost on the way back). */
async function noAnswer(page: Page, deliver = false) {
  await page.route('**/api/threads/*/messages', (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    // Never fulfilled: the page hears nothing back.
    if (deliver) void route.fetch().catch(() => {});
  });
}

/** POSTs of messages fail as if the network were gone (nothing reaches the server). */
async function dropPosts(page: Page) {
  await page.route('**/api/threads/*/messages', (route) =>
    route.request().method() === 'POST' ? route.abort('internetdisconnected') : route.continue(),
  );
}

async function send(page: Page, text: string) {
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

test('a send that gets no answer becomes "Waiting to send", survives a reload, and is sent once later', async ({ page }) => {
  test.setTimeout(90_000);
  await signUpByApi(page);
  const id = await startChat(page, 'Hello there');
  await waitForReply(page);

  await noAnswer(page);
  await send(page, 'Are you still there?');
  // Shown at once, as sent from here.
  await expect(user(page).filter({ hasText: 'Are you still there?' })).toBeVisible();
  // No answer within the bounded wait: it waits in the outbox instead of spinning forever.
  const waiting = queued(page).filter({ hasText: 'Are you still there?' });
  await expect(waiting).toContainText('Waiting to send', { timeout: 25_000 });
  await expect(user(page).filter({ hasText: 'Are you still there?' })).toHaveCount(1);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(shots, `waiting-to-send-${size.name}.png`) });
  }

  // A reload never makes it vanish.
  await page.reload();
  await expect(queued(page).filter({ hasText: 'Are you still there?' })).toHaveCount(1);

  // The network answers again: it is sent, once.
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await expect(queued(page)).toHaveCount(0, { timeout: 20_000 });
  await expect(assistant(page).last()).toContainText('Echo: Are you still there?');
  const messages = (await (await page.request.get(`/api/threads/${id}/messages?limit=200`)).json()).messages as { role: string; content: string }[];
  expect(messages.filter((m) => m.role === 'user' && m.content === 'Are you still there?')).toHaveLength(1);
});

test('a send whose answer is lost on the way back ends once the server is known to have it: no spinner, no duplicate', async ({ page }) => {
  test.setTimeout(90_000);
  await signUpByApi(page);
  const id = await startChat(page, 'Hello again');
  await waitForReply(page);

  await noAnswer(page, true);
  await send(page, 'Did this arrive?');
  await expect(user(page).filter({ hasText: 'Did this arrive?' })).toBeVisible();
  // After the bounded wait the page learns from the server that it was stored (and answered).
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 25_000 });
  await expect(assistant(page).last()).toContainText('Echo: Did this arrive?');
  await expect(queued(page)).toHaveCount(0);
  await expect(user(page).filter({ hasText: 'Did this arrive?' })).toHaveCount(1);
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.reload();
  await expect(assistant(page).last()).toContainText('Echo: Did this arrive?');
  await expect(user(page).filter({ hasText: 'Did this arrive?' })).toHaveCount(1);
  await expect(queued(page)).toHaveCount(0);
  const messages = (await (await page.request.get(`/api/threads/${id}/messages?limit=200`)).json()).messages as { role: string; content: string }[];
  expect(messages.filter((m) => m.role === 'user' && m.content === 'Did this arrive?')).toHaveLength(1);
});

test('sign-out asks first, warns about unsent messages and drafts, and can be cancelled', async ({ page }) => {
  await signUpByApi(page);
  await startChat(page, 'Keep this thread');
  await waitForReply(page);

  // Nothing waiting: still confirmed, and Cancel keeps the session.
  await page.goto('/settings');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Sign out?' });
  await expect(dialog).toBeVisible();
  await expect(dialog).not.toContainText("hasn't been sent");
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(page).toHaveURL(/\/settings$/);
  expect((await page.request.get('/api/auth/me')).status()).toBe(200);

  // One message that could not be sent.
  await page.goBack();
  await dropPosts(page);
  await send(page, 'Not delivered yet');
  await expect(queued(page).filter({ hasText: 'Not delivered yet' })).toContainText('Waiting to send');
  await page.goto('/settings');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(dialog).toContainText("1 message hasn't been sent");
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(/\/settings$/);

  // Two, and a draft.
  await page.goBack();
  await send(page, 'Also not delivered');
  await expect(queued(page)).toHaveCount(2);
  await page.getByRole('textbox', { name: 'Message' }).fill('A thought for later');
  await page.goto('/settings');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(dialog).toContainText("2 messages haven't been sent");
  await expect(dialog).toContainText('1 draft');
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(shots, `sign-out-warning-${size.name}.png`) });
  }

  // Confirmed: signed out, nothing left on the device.
  await dialog.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  expect((await page.request.get('/api/auth/me')).status()).toBe(401);
});

test('settings with the server away: one calm notice instead of an error per section', async ({ page }) => {
  await signUpByApi(page);
  await page.goto('/');
  for (const path of ['**/api/settings', '**/api/models', '**/api/voice']) await page.route(path, (route) => route.abort('connectionrefused'));
  await page.goto('/settings');
  await expect(page.getByRole('status').filter({ hasText: "Can't reach your Parley server" })).toBeVisible();
  await expect(page.getByText(/Couldn't load/)).toHaveCount(0);
  await expect(page.getByRole('alert')).toHaveCount(0);
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(shots, `settings-server-away-${size.name}.png`) });
  }

  // Back: "Try again" loads everything.
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.getByRole('button', { name: 'Try again' }).click();
  await expect(page.getByRole('status').filter({ hasText: "Can't reach your Parley server" })).toHaveCount(0);
  await expect(page.getByRole('combobox', { name: 'Default model' })).toBeEnabled();
});
