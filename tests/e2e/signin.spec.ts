/**
 * Signing in the way people already do, in Chromium against tests/e2e/signin-stack.ts:
 * - OpenID Connect through a real OpenID Provider's own login and consent pages;
 * - passkeys with Chromium's CDP virtual authenticator (WebAuthn.addVirtualAuthenticator, a
 *   real browser feature): register in Settings, sign in with no email typed, a counter that
 *   went backwards refused, an assertion made on another origin refused, a removed passkey refused;
 * - Settings › Sessions signing another device out; "Continue as guest", then an account that
 *   keeps the guest's threads.
 * The app is at http://localhost:<port> here (WebAuthn refuses an IP address as RP ID).
 */
import { test, expect, type Page, type CDPSession, type BrowserContext } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { newAccount, shoot, SIZES } from './helpers';

const root = join(import.meta.dirname, '..', '..');
let stack: ChildProcess;
let env: { base: string; issuer: string; other: string; admin: { email: string; password: string }; clientId: string; clientSecret: string };

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(120_000);
  stack = spawn('bun', [join(root, 'tests', 'e2e', 'signin-stack.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  env = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: stack.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) resolve(JSON.parse(line.slice(6)));
    });
    stack.once('exit', (code) => reject(new Error(`signin stack exited with ${code}`)));
  });
});
test.afterAll(() => {
  stack?.kill('SIGTERM');
});

async function register(page: Page) {
  const account = newAccount('Passkey Person');
  const res = await page.request.post(`${env.base}/api/auth/register`, { data: account });
  expect(res.status(), await res.text()).toBe(201);
  return { ...account, id: ((await res.json()) as { user: { id: string } }).user.id };
}

async function me(page: Page) {
  const res = await page.request.get(`${env.base}/api/auth/me`);
  return res.status() === 200 ? ((await res.json()) as { user: { id: string; role: string; email: string } }).user : null;
}

async function signOut(page: Page, context: BrowserContext) {
  await page.request.post(`${env.base}/api/auth/logout`);
  await context.clearCookies();
}

async function authenticator(page: Page): Promise<{ cdp: CDPSession; id: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, id: authenticatorId };
}

test('OpenID Connect: through the provider’s real login and consent pages and back, signed in', async ({ page }) => {
  const sequence: string[] = [];
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (res.request().resourceType() !== 'document') return;
    const location = res.headers()['location'];
    sequence.push(`${res.request().method()} ${url.origin}${url.pathname}${url.search ? '?' + [...url.searchParams.keys()].join('&') : ''} → ${res.status()}${location ? ` Location: ${location.split('?')[0]}${location.includes('?') ? '?' + [...new URL(location, url).searchParams.keys()].join('&') : ''}` : ''}`);
  });
  await page.goto(`${env.base}/login`);
  await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
  await page.waitForURL((u) => u.origin === env.issuer);
  await page.locator('input[name="login"]').fill('ada');
  await page.locator('input[name="password"]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${env.base}/`);
  await expect(page.getByRole('button', { name: 'New chat' }).first()).toBeVisible();
  expect(await me(page)).toMatchObject({ email: 'ada@idp.test' });
  mkdirSync(join(import.meta.dirname, '.artifacts'), { recursive: true });
  writeFileSync(join(import.meta.dirname, '.artifacts', 'oidc-sequence.txt'), sequence.join('\n') + '\n');
});

test('sign-in page with a provider, passkeys and guests, at phone and desktop size, light and dark', async ({ page }) => {
  for (const size of SIZES) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize(size);
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(`${env.base}/login`);
      await expect(page.getByRole('button', { name: 'Continue as guest' })).toBeVisible();
      await expect(page.getByRole('button', { name: 'Sign in with a passkey' })).toBeVisible();
      await shoot(page, `signin-${size.name}-${scheme}`);
    }
  }
});

test('passkeys: add in Settings, sign in with no email, counters checked, another origin refused, removed refused', async ({ page, context }) => {
  const { cdp, id: authId } = await authenticator(page);
  await page.goto(`${env.base}/login`);
  const account = await register(page);
  await page.goto(`${env.base}/settings`);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Passkey added' })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Passkeys' }).getByRole('listitem')).toHaveCount(1);
  await page.setViewportSize(SIZES[0]);
  await page.getByRole('heading', { name: 'Passkeys' }).scrollIntoViewIfNeeded();
  await shoot(page, 'settings-passkeys-sessions-phone');
  await page.setViewportSize(SIZES[1]);

  // Sign in with it: no email typed.
  await signOut(page, context);
  await page.goto(`${env.base}/login`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.waitForURL(`${env.base}/`);
  expect((await me(page))?.id).toBe(account.id);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: authId });
  expect(credentials).toHaveLength(1);
  const credential = credentials[0]!;
  expect(credential.signCount).toBeGreaterThan(0);

  // A copy of the key whose counter went backwards (a cloned authenticator): refused.
  await signOut(page, context);
  await cdp.send('WebAuthn.removeCredential', { authenticatorId: authId, credentialId: credential.credentialId });
  await cdp.send('WebAuthn.addCredential', { authenticatorId: authId, credential: { ...credential, signCount: 0 } });
  await page.goto(`${env.base}/login`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('alert')).toContainText('not accepted');
  expect(await me(page)).toBeNull();
  // Back ahead of the stored counter: accepted again.
  await cdp.send('WebAuthn.removeCredential', { authenticatorId: authId, credentialId: credential.credentialId });
  await cdp.send('WebAuthn.addCredential', { authenticatorId: authId, credential: { ...credential, signCount: credential.signCount + 10 } });
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.waitForURL(`${env.base}/`);
  expect((await me(page))?.id).toBe(account.id);

  // The same passkey used on another origin (same RP ID "localhost", another port): the
  // browser signs that origin into clientDataJSON, and Parley refuses it.
  const options = (await (await page.request.post(`${env.base}/api/auth/passkeys/login/options`)).json()) as { challenge: string };
  await page.goto(env.other);
  const assertion = await page.evaluate(async (challenge) => {
    const b64u = (buf: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const bytes = Uint8Array.from(atob(challenge.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const cred = (await navigator.credentials.get({ publicKey: { challenge: bytes, rpId: 'localhost', userVerification: 'preferred' } })) as PublicKeyCredential;
    const r = cred.response as AuthenticatorAssertionResponse;
    return {
      id: cred.id,
      rawId: b64u(cred.rawId),
      type: cred.type,
      response: { clientDataJSON: b64u(r.clientDataJSON), authenticatorData: b64u(r.authenticatorData), signature: b64u(r.signature), userHandle: r.userHandle ? b64u(r.userHandle) : undefined },
      clientExtensionResults: {},
    };
  }, options.challenge);
  const clientData = JSON.parse(Buffer.from(assertion.response.clientDataJSON, 'base64url').toString()) as { origin: string };
  expect(clientData.origin).toBe(env.other);
  await context.clearCookies();
  const phished = await page.request.post(`${env.base}/api/auth/passkeys/login/verify`, { data: { response: assertion } });
  expect(phished.status()).toBe(401);
  expect(phished.headers()['set-cookie'] ?? '').not.toContain('parley_access=ey');

  // Removed in Settings: refused from then on, though the authenticator still holds it.
  await page.goto(`${env.base}/login`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.waitForURL(`${env.base}/`);
  await page.goto(`${env.base}/settings`);
  await page.getByRole('list', { name: 'Passkeys' }).getByRole('button', { name: /Remove/ }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Removed' })).toBeVisible();
  await signOut(page, context);
  await page.goto(`${env.base}/login`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('alert')).toContainText('not accepted');
  expect(await me(page)).toBeNull();
});

test('Settings › Sessions: "Sign out this device" signs the other device out at once', async ({ browser }) => {
  const phone = await browser.newContext({ userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36' });
  const laptop = await browser.newContext();
  const phonePage = await phone.newPage();
  const laptopPage = await laptop.newPage();
  await phonePage.goto(`${env.base}/login`);
  const account = await register(phonePage);
  const login = await laptopPage.request.post(`${env.base}/api/auth/login`, { data: { email: account.email, password: account.password } });
  expect(login.status()).toBe(200);
  await laptopPage.goto(`${env.base}/settings`);
  const sessions = laptopPage.getByRole('list', { name: 'Sessions' });
  await expect(sessions.getByRole('listitem')).toHaveCount(2);
  await expect(sessions).toContainText('This device');
  await expect(sessions).toContainText('Chrome on Android');
  await laptopPage.getByRole('heading', { name: 'Sessions' }).scrollIntoViewIfNeeded();
  await shoot(laptopPage, 'settings-sessions-desktop');
  await laptopPage.getByRole('button', { name: /Sign out this device/ }).click();
  await expect(sessions.getByRole('listitem')).toHaveCount(1);
  expect(await me(phonePage)).toBeNull();
  expect(await me(laptopPage)).not.toBeNull();
  await phone.close();
  await laptop.close();
});

test('Continue as guest, then create an account: the guest’s threads stay', async ({ page }) => {
  await page.goto(`${env.base}/login`);
  await page.getByRole('button', { name: 'Continue as guest' }).click();
  await page.waitForURL(`${env.base}/`);
  const guest = await me(page);
  expect(guest?.role).toBe('guest');
  const made = await page.request.post(`${env.base}/api/threads`, { data: { title: 'Asked as a guest' } });
  expect(made.status()).toBe(201);
  await page.goto(`${env.base}/settings`);
  await page.getByRole('link', { name: 'Create account' }).click();
  await page.waitForURL(`${env.base}/register`);
  const account = newAccount('Former Guest');
  await page.getByRole('textbox', { name: 'Name' }).fill(account.name);
  await page.getByRole('textbox', { name: 'Email' }).fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${env.base}/`);
  const now = await me(page);
  expect(now).toMatchObject({ id: guest!.id, role: 'user', email: account.email });
  await expect(page.getByRole('navigation', { name: 'Threads' }).getByRole('link', { name: /Asked as a guest/ })).toBeVisible();
});

test('/admin/sign-in: an admin adds an identity provider and the sign-in page offers it; others are refused', async ({ page, context }) => {
  // Someone who is not an admin is told so, and the API refuses them.
  await page.goto(`${env.base}/login`);
  await register(page);
  await page.goto(`${env.base}/admin/sign-in`);
  await expect(page.getByRole('heading', { name: 'Admins only' })).toBeVisible();
  await signOut(page, context);

  const login = await page.request.post(`${env.base}/api/auth/login`, { data: env.admin });
  expect(login.status()).toBe(200);
  await page.goto(`${env.base}/admin/sign-in`);
  await expect(page.getByRole('list', { name: 'Identity providers' })).toContainText('Test IdP');
  await page.getByLabel('Name', { exact: true }).fill('Family SSO');
  await page.getByLabel('Id', { exact: true }).fill('family');
  await page.getByLabel('Issuer').fill(env.issuer);
  await page.getByLabel('Client ID', { exact: true }).fill(env.clientId);
  await page.getByLabel('Client secret').fill(env.clientSecret);
  await page.getByRole('button', { name: 'Add provider' }).click();
  await expect(page.getByRole('list', { name: 'Identity providers' })).toContainText('Family SSO');
  await expect(page.locator('body')).not.toContainText(env.clientSecret);
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.getByRole('heading', { name: 'Sign-in', exact: true }).scrollIntoViewIfNeeded();
    await shoot(page, `admin-signin-${size.name}`);
  }
  await signOut(page, context);
  await page.goto(`${env.base}/login`);
  await expect(page.getByRole('button', { name: 'Sign in with Family SSO' })).toBeVisible();
});
