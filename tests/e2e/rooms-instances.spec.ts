/**
 * Rooms across two server instances (the "Done when"): two accounts in one room, one
 * browser talking to the stack's server (instance A) and the other to a second server process
 * on the same PostgreSQL and the same DATA_DIR (instance B, started here through own-server.ts
 * with what GET /__stack names), as two instances behind a proxy would be. Each sees the other's
 * messages and the assistant's reply streaming in live, whichever instance generates it; and a
 * restricted account cannot see a private room it was not added to.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { ADMIN, newAccount, shoot, signUpByApi } from './helpers';
import { ownServer } from './own-server';

const port = Number(process.env.E2E_PORT ?? 4321);

async function person(browser: Browser, name: string, baseURL?: string) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...(baseURL ? { baseURL } : {}) });
  const page = await context.newPage();
  const account = await signUpByApi(page, newAccount(name));
  return { context, page, account };
}

const reply = (page: Page) => page.getByRole('list', { name: 'Messages' }).locator('li[data-role="assistant"]').last();

test('two browsers, one through a second instance, see each other and the assistant’s streamed reply live', async ({ browser }) => {
  test.setTimeout(120_000);
  const stack = (await (await fetch(`http://127.0.0.1:${port + 2}/__stack`)).json()) as { database: string; dataDir: string; provider: string };
  const second = await ownServer({
    env: {
      DATABASE_URL: stack.database,
      DATA_DIR: stack.dataDir,
      OPENAI_BASE_URL: `${stack.provider}/v1`,
      AUTH_IP_LIMIT: '100000',
      AUTH_ACCOUNT_LIMIT: '1000',
    },
  });
  try {
    const a = await person(browser, 'Maria'); // instance A: the stack's server
    const b = await person(browser, 'Tomás', second.url); // instance B
    const created = await a.page.request.post('/api/rooms', { data: { name: 'Across instances', visibility: 'private' } });
    expect(created.status()).toBe(201);
    const { room } = (await created.json()) as { room: { id: string } };
    const added = await a.page.request.post(`/api/rooms/${room.id}/members`, { data: { email: b.account.email } });
    expect(added.status()).toBe(201);
    await added.body();

    await a.page.goto(`/rooms/${room.id}`);
    await b.page.goto(`/rooms/${room.id}`);
    expect(new URL(b.page.url()).origin).toBe(second.url);
    expect(new URL(a.page.url()).origin).not.toBe(second.url);
    // Presence crosses instances too: each sees the other here.
    await expect(a.page.getByRole('list', { name: 'Members' }).getByRole('listitem').filter({ hasText: 'Tomás' })).toContainText('(here)');
    await expect(b.page.getByRole('list', { name: 'Members' }).getByRole('listitem').filter({ hasText: 'Maria' })).toContainText('(here)');

    // A → B and B → A.
    await a.page.getByRole('textbox', { name: 'Message' }).fill('Hello from instance A');
    await a.page.getByRole('button', { name: 'Send' }).click();
    await expect(b.page.getByRole('list', { name: 'Messages' }).getByText('Hello from instance A')).toBeVisible();
    await b.page.getByRole('textbox', { name: 'Message' }).fill('And hello from instance B');
    await b.page.getByRole('button', { name: 'Send' }).click();
    await expect(a.page.getByRole('list', { name: 'Messages' }).getByText('And hello from instance B')).toBeVisible();

    // B calls the assistant (a slow reply, ~80 words over ~10 s): both watch it stream in,
    // partly written first, then whole, and once.
    await b.page.getByRole('textbox', { name: 'Message' }).fill('@ai #slow tell us a long story');
    await b.page.getByRole('button', { name: 'Send' }).click();
    for (const p of [a.page, b.page]) {
      await expect(reply(p)).toHaveAttribute('data-status', 'streaming', { timeout: 20_000 });
      await expect(reply(p)).toContainText('word3', { timeout: 20_000 });
    }
    // Still streaming when both have seen its start: live, not delivered whole at the end.
    await expect(reply(a.page)).not.toContainText('word80');
    for (const p of [a.page, b.page]) {
      await expect(reply(p)).toHaveAttribute('data-status', 'complete', { timeout: 40_000 });
      await expect(reply(p)).toContainText('word80');
      await expect(p.getByRole('list', { name: 'Messages' }).locator('li[data-role="assistant"]')).toHaveCount(1);
      await expect(p.getByRole('list', { name: 'Messages' }).getByText('Hello from instance A')).toHaveCount(1);
    }
    await shoot(b.page, 'rooms-second-instance-desktop');
    await a.context.close();
    await b.context.close();
  } finally {
    await second.destroy();
  }
});

test('a restricted account sees only the rooms it was added to: a private room it is not in is not there', async ({ browser }) => {
  const owner = await person(browser, 'Owner');
  const child = await person(browser, 'Kid');
  // The seeded admin makes the second account restricted.
  const adminContext = await browser.newContext();
  const admin = adminContext.request;
  const login = await admin.post('/api/auth/login', { data: { email: ADMIN.email, password: ADMIN.password } });
  expect(login.status()).toBe(200);
  await login.body();
  const me = (await (await child.page.request.get('/api/auth/me')).json()) as { user: { id: string } };
  const patched = await admin.patch(`/api/admin/users/${me.user.id}`, { data: { role: 'restricted' } });
  expect(patched.status(), await patched.text()).toBe(200);

  const make = async (name: string, visibility: 'public' | 'private') => {
    const res = await owner.page.request.post('/api/rooms', { data: { name, visibility } });
    return ((await res.json()) as { room: { id: string } }).room;
  };
  const secret = await make('Grown-ups only', 'private');
  const open = await make('Open to all', 'public');
  const given = await make('Homework help', 'private');
  expect((await owner.page.request.post(`/api/rooms/${given.id}/members`, { data: { email: child.account.email } })).status()).toBe(201);

  // A fresh sign-in, so the new role is in the session.
  await child.context.clearCookies();
  const again = await child.page.request.post('/api/auth/login', { data: { email: child.account.email, password: child.account.password } });
  expect(again.status()).toBe(200);
  await again.body();
  await child.page.goto(`/rooms/${secret.id}`);
  await expect(child.page.getByRole('heading', { name: "This room isn't available" })).toBeVisible();
  await child.page.goto(`/rooms/${open.id}`);
  await expect(child.page.getByRole('heading', { name: "This room isn't available" })).toBeVisible();
  const nav = child.page.getByRole('navigation', { name: 'Rooms' });
  await expect(nav.getByRole('link', { name: /Homework help/ })).toBeVisible();
  await expect(nav).not.toContainText('Grown-ups only');
  await expect(nav).not.toContainText('Open to all');
  expect((await child.page.request.get(`/api/rooms/${secret.id}/messages`)).status()).toBe(404);
  await owner.context.close();
  await child.context.close();
  await adminContext.close();
});
