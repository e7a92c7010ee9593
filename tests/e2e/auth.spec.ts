import { expect, test } from '@playwright/test';
import { newAccount, newThread, signUpByApi } from './helpers';

test('sign up shows server errors next to the right field, then creates the account', async ({ page }) => {
  const taken = await signUpByApi(page);
  await page.context().clearCookies();

  await page.goto('/register');
  await page.getByRole('textbox', { name: 'Name' }).fill('Grace');
  await page.getByRole('textbox', { name: 'Email' }).fill(taken.email);
  await page.getByLabel('Password').fill('another good passphrase here');
  await page.getByRole('button', { name: 'Create account' }).click();
  const email = page.getByRole('textbox', { name: 'Email' });
  await expect(email).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#email-error')).toContainText(/already/i);

  const account = newAccount('Grace Hopper');
  await email.fill(account.email);
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#password-error')).toBeVisible();
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');

  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('button', { name: 'New chat' }).or(page.getByRole('link', { name: 'New chat' }))).toBeVisible();
  await expect(page.getByRole('heading', { name: /Hi Grace/ })).toBeVisible();
});

test('sign in: a wrong password is refused, the right one lands in the app; sign out ends the session', async ({ page }) => {
  const account = await signUpByApi(page);
  await page.context().clearCookies();

  await page.goto('/settings');
  await expect(page).toHaveURL(/\/login\?next=%2Fsettings/);
  await page.getByRole('textbox', { name: 'Email' }).fill(account.email);
  await page.getByLabel('Password').fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('alert')).toBeVisible();

  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByText(account.email)).toBeVisible();

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();

  await page.getByRole('dialog', { name: 'Sign out?' }).getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  expect((await page.request.get('/api/auth/me')).status()).toBe(401);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole('link', { name: 'Create account' })).toBeVisible();
});

test('an expired access token is refreshed once for many concurrent requests, and the session goes on', async ({ page }) => {
  await signUpByApi(page);
  const thread = await newThread(page.request, { title: 'Refresh me' });
  // The short-lived access cookie is gone (as after 15 minutes); the refresh cookie remains.
  const cookies = await page.context().cookies();
  // (parley_device: this browser signed in before, so it keeps its own sign-in allowance.)
  expect(cookies.map((c) => c.name).sort()).toEqual(['parley_access', 'parley_device', 'parley_refresh']);
  await page.context().clearCookies({ name: 'parley_access' });

  const refreshes: number[] = [];
  const unauthorized: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/auth/refresh')) refreshes.push(Date.now());
  });
  page.on('response', (r) => {
    if (r.status() === 401) unauthorized.push(new URL(r.url()).pathname);
  });
  // Opening a thread fires several API requests at once, all answered 401 at first.
  await page.goto(`/t/${thread.id}`);
  await expect(page.getByRole('heading', { name: 'No messages yet' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Threads' }).getByRole('link', { name: 'Refresh me' })).toBeVisible();
  expect(unauthorized.length).toBeGreaterThan(1);
  expect(refreshes).toHaveLength(1);
  // A rotated token reused would have revoked the whole login: the session is alive.
  expect((await page.request.get('/api/auth/me')).status()).toBe(200);
  await page.getByRole('textbox', { name: 'Message' }).fill('Still signed in?');
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-role="assistant"]')).toContainText('Echo: Still signed in?');
});
