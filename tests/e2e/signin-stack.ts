/**
 * The stack the sign-in specs run against (signin.spec.ts starts it as a child process and
 * reads one `READY {json}` line): a real PostgreSQL, a real OpenID Provider (panva's
 * oidc-provider, tests/support/oidc-provider.ts) and the real server, at
 * http://localhost:<port> — WebAuthn refuses an IP address as its relying party, so this app
 * is reached by name. Also a second origin (another port of localhost) serving a blank page,
 * from which the passkey spec tries a phishing-style sign-in (same RP ID, wrong origin).
 * Guests are allowed here. Port: SIGNIN_E2E_PORT (default E2E_PORT + 10).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../support/postgres';
import { startOidcProvider } from '../support/oidc-provider';
import { freePort } from '../support/ports';

const root = join(import.meta.dir, '..', '..');
const port = Number(process.env.SIGNIN_E2E_PORT ?? Number(process.env.E2E_PORT ?? 4321) + 10);
const base = `http://localhost:${port}`;

const cluster = await startCluster();
const op = await startOidcProvider({ redirectUris: [`${base}/api/auth/oidc/oidc/callback`] });
op.accounts['ada'] = { email: 'ada@idp.test', email_verified: true, name: 'Ada from the IdP' };
const otherPort = await freePort();
const other = Bun.serve({
  port: otherPort,
  hostname: '127.0.0.1',
  fetch: () => new Response('<!doctype html><title>Elsewhere</title><p>Another site', { headers: { 'content-type': 'text/html' } }),
});

const dataDir = mkdtempSync(join(tmpdir(), 'parley-signin-e2e-'));
const server = Bun.spawn(['bun', join(root, 'server', 'index.ts')], {
  cwd: root,
  env: {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: cluster.url,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: base,
    AUTH_IP_LIMIT: '100000',
    AUTH_ACCOUNT_LIMIT: '1000',
    ALLOW_GUESTS: 'true',
    OIDC_ISSUER: op.issuer,
    OIDC_CLIENT_ID: op.clientId,
    OIDC_CLIENT_SECRET: op.clientSecret,
    OIDC_NAME: 'Test IdP',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  },
  stdout: 'inherit',
  stderr: 'inherit',
});

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  server.kill('SIGTERM');
  await server.exited;
  other.stop(true);
  await op.stop();
  cluster.destroy();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

for (let i = 0; ; i++) {
  if (await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.ok, () => false)) break;
  if (i > 600) await stop(1);
  await Bun.sleep(100);
}
// An install with its admin already: the sign-in page then offers every way in.
const admin = { email: 'admin@example.test', password: `admin ${crypto.randomUUID()}` };
const seeded = await fetch(`http://127.0.0.1:${port}/api/auth/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ ...admin, name: 'Admin' }),
});
if (seeded.status !== 201) await stop(1);
console.log(`READY ${JSON.stringify({ base, issuer: op.issuer, other: `http://localhost:${otherPort}`, admin, clientId: op.clientId, clientSecret: op.clientSecret })}`);
