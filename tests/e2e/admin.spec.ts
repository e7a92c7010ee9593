/**
 * The admin console end to end: an admin invites a restricted account; that person signs in
 * through the link, sees only the allowed models and no Share button, runs out of allowance
 * and is told so plainly, and flags a reply; the admin sees the usage chart and the flag.
 * Screenshots of the console at phone and desktop sizes (judged by a person, checked by axe).
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { ADMIN, assistant, shoot, SIZES, waitForReply } from './helpers';

const ALLOWED = 'openai:gpt-4o-mini';

async function contextFor(browser: Browser, viewport: { width: number; height: number } = { width: 1280, height: 800 }) {
  return browser.newContext({ baseURL: test.info().project.use.baseURL, viewport, serviceWorkers: 'block' });
}

async function signIn(page: Page) {
  await page.goto('/login');
  await page.getByRole('textbox', { name: 'Email' }).fill(ADMIN.email);
  await page.getByRole('textbox', { name: 'Password' }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/');
}

test('an admin invites a restricted account, which runs out of allowance; the admin sees usage and the flag', async ({ browser }) => {
  test.setTimeout(120_000);
  const adminContext = await contextFor(browser);
  const admin = await adminContext.newPage();
  await signIn(admin);

  // Restricted accounts: one model only (the rest of the document as it is).
  const doc = await (await admin.request.get('/api/admin/permissions')).json();
  const saved = await admin.request.put('/api/admin/permissions', { data: { ...doc, restricted: { ...doc.restricted, models: [ALLOWED] } } });
  expect(saved.status()).toBe(200);

  // Invite through the console: the link is shown once, no password anywhere.
  await admin.goto('/admin');
  await expect(admin.getByRole('navigation', { name: 'Admin' })).toBeVisible();
  for (const name of ['Users', 'Usage', 'Flags', 'Connections', 'Permissions']) {
    await expect(admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name })).toBeVisible();
  }
  const email = `kid-${Date.now().toString(36)}@example.test`;
  await admin.getByRole('button', { name: 'Invite user' }).click();
  const inviting = admin.getByRole('dialog', { name: 'Invite user' });
  await inviting.getByRole('textbox', { name: 'Email' }).fill(email);
  await inviting.getByRole('textbox', { name: 'Name' }).fill('Robin');
  await inviting.getByRole('combobox', { name: 'Role' }).selectOption('restricted');
  await inviting.getByRole('button', { name: 'Create invitation' }).click();
  const linkBox = admin.getByRole('textbox', { name: 'One-time link' });
  await expect(linkBox).toHaveValue(/\/reset#invite=/);
  const inviteUrl = await linkBox.inputValue();
  await expect(admin.getByRole('dialog')).not.toContainText(/password:/i);
  await admin.getByRole('button', { name: 'Close' }).click();

  // A small allowance: one reply goes through, the next is refused.
  const row = admin.getByRole('listitem').filter({ hasText: email });
  await row.getByRole('button', { name: /^Quota of/ }).click();
  const quota = admin.getByRole('dialog', { name: /^Quota of/ });
  await quota.getByRole('textbox', { name: 'Balance (tokens)' }).fill('1');
  await quota.getByRole('button', { name: 'Save quota' }).click();
  await expect(row.getByRole('button', { name: /^Quota of/ })).toHaveText(/^1 tokens left/);

  // The invited person signs in through the link.
  const kidContext = await contextFor(browser, { width: 390, height: 844 });
  const kid = await kidContext.newPage();
  await kid.goto(inviteUrl);
  await expect(kid.getByRole('heading', { name: 'Welcome to Parley' })).toBeVisible();
  expect(new URL(kid.url()).hash).toBe(''); // the token leaves the address bar at once
  await kid.getByRole('textbox', { name: 'Password' }).fill('a long enough passphrase');
  await kid.getByRole('button', { name: 'Set password' }).click();
  await kid.waitForURL((url) => url.pathname === '/');

  // Only the allowed model.
  await kid.getByRole('button', { name: /^Model/ }).click();
  const items = kid.getByRole('menu', { name: 'Model' }).getByRole('menuitemradio');
  await expect(items).toHaveCount(1);
  await kid.keyboard.press('Escape');

  await kid.getByRole('textbox', { name: 'Message' }).fill('Hello there');
  await kid.getByRole('button', { name: 'Send' }).click();
  await kid.waitForURL(/\/t\/[0-9a-f-]{36}$/);
  await waitForReply(kid);
  await expect(assistant(kid).last()).toHaveAttribute('data-status', 'complete');
  await expect(kid.getByRole('button', { name: 'Share' })).toHaveCount(0);

  // Flag the reply.
  await assistant(kid).last().getByRole('button', { name: 'Flag' }).click();
  await kid.getByRole('textbox', { name: 'Reason' }).fill('It said something odd');
  await kid.getByRole('button', { name: 'Send flag' }).click();
  await expect(assistant(kid).last().getByRole('button', { name: 'Flagged' })).toBeVisible();

  // Out of allowance: said plainly, and the message comes back to the composer.
  await kid.getByRole('textbox', { name: 'Message' }).fill('And another thing');
  await kid.getByRole('button', { name: 'Send' }).click();
  await expect(kid.getByRole('alert')).toContainText(/You have used this month's allowance; it renews on/);
  await shoot(kid, 'admin-restricted-quota-phone');

  // The admin sees the usage chart (with its text alternative) and the flag.
  await admin.goto('/admin/usage');
  await expect(admin.getByRole('textbox', { name: 'From' }).or(admin.getByLabel('From'))).toBeVisible();
  const chart = admin.getByRole('img', { name: /^Tokens by day/ });
  await expect(chart).toBeVisible();
  await expect(chart).toHaveAttribute('aria-label', /Tokens in total [1-9]/);
  await expect(admin.locator('.u-over').first()).toBeVisible(); // uPlot drew it
  await expect(admin.getByRole('region', { name: 'By person', exact: true })).toContainText('Robin');
  await shoot(admin, 'admin-usage-desktop');

  await admin.goto('/admin/flags');
  const flag = admin.getByRole('list', { name: 'Flags' }).getByRole('listitem').filter({ hasText: 'It said something odd' });
  await expect(flag).toBeVisible();
  await flag.getByRole('button', { name: 'View in context' }).click();
  await expect(admin.getByRole('region', { name: 'Flagged reply in context' })).toContainText('Hello there');
  await shoot(admin, 'admin-flags-desktop');

  await admin.goto('/admin/users');
  await expect(admin.getByRole('listitem').filter({ hasText: email })).toBeVisible();
  await shoot(admin, 'admin-users-desktop');
  await admin.goto('/admin/permissions');
  await expect(admin.getByRole('button', { name: 'Save permissions' })).toBeVisible();
  await shoot(admin, 'admin-permissions-desktop');

  // Phone size.
  await admin.setViewportSize(SIZES[0]);
  for (const screen of ['users', 'usage', 'flags', 'permissions']) {
    await admin.goto(`/admin/${screen}`);
    await expect(admin.getByRole('navigation', { name: 'Admin' })).toBeVisible();
    if (screen === 'usage') await expect(admin.getByRole('img', { name: /^Tokens by day/ })).toBeVisible();
    if (screen === 'users') await expect(admin.getByRole('listitem').filter({ hasText: email })).toBeVisible();
    if (screen === 'permissions') await expect(admin.getByRole('button', { name: 'Save permissions' })).toBeVisible();
    await shoot(admin, `admin-${screen}-phone`);
  }

  // Dark mode, desktop.
  await admin.setViewportSize(SIZES[1]);
  await admin.emulateMedia({ colorScheme: 'dark' });
  await admin.goto('/admin/usage');
  await expect(admin.getByRole('img', { name: /^Tokens by day/ })).toBeVisible();
  await shoot(admin, 'admin-usage-desktop-dark');
  await admin.goto('/admin/users');
  await expect(admin.getByRole('listitem').filter({ hasText: email })).toBeVisible();
  await shoot(admin, 'admin-users-desktop-dark');

  // Put the document back for other specs.
  await admin.request.put('/api/admin/permissions', { data: doc });
  await kidContext.close();
  await adminContext.close();
});

test('a user who is not an admin is told the console is for admins, and its API refuses', async ({ browser }) => {
  const context = await contextFor(browser);
  const page = await context.newPage();
  const email = `plain-${Date.now().toString(36)}@example.test`;
  const res = await page.request.post('/api/auth/register', { data: { email, password: 'a long enough passphrase', name: 'Plain' } });
  expect(res.status()).toBe(201);
  await page.goto('/admin/users');
  await expect(page.getByRole('heading', { name: 'Admins only' })).toBeVisible();
  expect((await page.request.get('/api/admin/users')).status()).toBe(403);
  await context.close();
});
