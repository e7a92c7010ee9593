/**
 * The first visit to a fresh install (issue 18, defect 10): nobody can sign in yet, so the
 * sign-in page offers "Create the admin account", and that first account is the admin; with no
 * provider set up yet, the model picker says so (defect 8) instead of an empty list, and a call
 * says there is no model instead of "Ready" (defect 10). Runs
 * against a server of its own on the embedded database (PGlite), as `bun run start` makes one.
 */
import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { freePort } from '../support/ports';
import { newAccount, shoot, SIZES } from './helpers';

const root = join(import.meta.dirname, '..', '..');
let server: ChildProcess | undefined;
let dataDir = '';
let base = '';

/** The environment without DATABASE_URL: unset means the embedded database. */
function withoutDatabaseUrl() {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  return env;
}

test.beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'parley-first-run-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // (Playwright runs specs in Node: the server is Bun's, started as `bun run start` would.)
  server = spawn('bun', [join(root, 'server', 'index.ts')], {
    cwd: root,
    env: { ...withoutDatabaseUrl(), NODE_ENV: 'production', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await eventually(() => fetch(`${base}/api/health`).then((r) => r.ok, () => false), { timeout: 60_000, message: 'the fresh server to start' });
});

test.afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('a fresh install offers to create the admin account, and the first account is the admin', async ({ browser }) => {
  const context = await browser.newContext({ baseURL: base, serviceWorkers: 'block' });
  const page = await context.newPage();
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.goto('/login');
    await expect(page.getByRole('heading', { name: 'Welcome to Parley' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toHaveCount(0);
    await shoot(page, `first-run-${size.name}`);
  }
  await page.getByRole('link', { name: 'Create the admin account' }).click();
  await expect(page).toHaveURL(/\/register$/);
  await expect(page.getByRole('heading', { name: 'Create the admin account' })).toBeVisible();
  const account = newAccount('Grace Hopper');
  await page.getByRole('textbox', { name: 'Name' }).fill(account.name);
  await page.getByRole('textbox', { name: 'Email' }).fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('button', { name: 'New chat' })).toBeVisible();
  const me = await (await page.request.get('/api/auth/me')).json();
  expect(me.user.role).toBe('admin');

  // No provider is set up on this install: the model picker says so instead of an empty list.
  await page.goto('/?new=1');
  const picker = page.getByRole('button', { name: /^Model/ });
  await expect(picker.locator('.name:visible')).toHaveText('No model available');
  await picker.click();
  const menu = page.getByRole('menu', { name: 'Model' });
  await expect(menu.getByText('No models available')).toBeVisible();
  await expect(menu.getByRole('menuitem', { name: 'Open Settings' })).toBeVisible();
  await expect(menu.getByRole('menuitemradio')).toHaveCount(0);
  await page.keyboard.press('Escape');

  // From now on the sign-in page is the ordinary one.
  const other = await browser.newContext({ baseURL: base, serviceWorkers: 'block' });
  const visitor = await other.newPage();
  await visitor.goto('/login');
  await expect(visitor.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(visitor.getByRole('link', { name: 'Create account' })).toBeVisible();

  // A second account is no admin: a call with no model set up says so (not "Ready"), in words for
  // someone who cannot change the server, and talking is off.
  const second = newAccount('Alan Turing');
  expect((await visitor.request.post('/api/auth/register', { data: second })).status()).toBe(201);
  await visitor.goto('/call');
  await expect(visitor.locator('main.call [aria-live]')).toHaveText('No model set up');
  const alert = visitor.getByRole('alert');
  await expect(alert).toContainText('No model is set up yet');
  await expect(alert).toContainText('ask the person who runs this Parley', { ignoreCase: true });
  await expect(alert).not.toContainText('API_KEY');
  await expect(visitor.getByRole('button', { name: 'Hold to talk' })).toBeDisabled();
  await expect(visitor.getByRole('textbox', { name: 'Type a message' })).toBeDisabled();
  await shoot(visitor, 'call-no-model-desktop');
  await other.close();
  await context.close();
});
