/**
 * "Forgot password" by email, sent with nodemailer to a real SMTP server (the `smtp-server`
 * package as a local sink), and the one-time link it carries.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { SMTPServer } from 'smtp-server';
import { Client, signUp } from '../support/client';
import { eventually } from '../support/eventually';
import { freePort } from '../support/ports';
import { startServer, type TestServer } from '../support/server';

let server: TestServer;
let smtp: SMTPServer;
const inbox: { to: string; text: string }[] = [];

beforeAll(async () => {
  const port = await freePort();
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      stream.on('end', () => {
        inbox.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), text: raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(port, '127.0.0.1', resolve));
  server = await startServer({ SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_FROM: 'Parley <parley@example.test>' });
  await signUp(server.url, 'first-admin');
}, 60_000);
afterAll(async () => {
  await server.stop();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
}, 30_000);

/** The reset link in the newest mail to `email` (quoted-printable soft breaks undone). */
async function linkFor(email: string) {
  const mail = await eventually(() => inbox.findLast((m) => m.to === email.toLowerCase() || m.to === email) ?? false, { timeout: 10_000, message: `a mail to ${email}` });
  const text = mail.text.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const url = /https?:\/\/\S+\/reset#reset=([\w-]+)/.exec(text);
  expect(url).not.toBeNull();
  return url![1]!;
}

describe('forgot password', () => {
  test('the providers say it is set up', async () => {
    const body = (await (await fetch(`${server.url}/api/auth/providers`)).json()) as { passwordReset: boolean };
    expect(body.passwordReset).toBe(true);
  });

  test('the same answer for an unknown email; a known one gets a one-time link that ends other sessions', async () => {
    const { client: other, email, password } = await signUp(server.url, 'forgetful');
    const anon = new Client(server.url);
    const unknown = await anon.json('POST', '/api/auth/forgot', { email: `nobody-${Date.now()}@example.test` });
    const known = await anon.json('POST', '/api/auth/forgot', { email });
    expect(unknown.status).toBe(202);
    expect(known.status).toBe(202);
    expect(JSON.stringify(unknown.body)).toBe(JSON.stringify(known.body));

    const token = await linkFor(email);
    expect(inbox.filter((m) => m.to.startsWith('nobody-'))).toEqual([]);
    // A weak password is refused and the link still works after.
    const weak = await anon.json('POST', '/api/auth/reset', { token, password: 'password' });
    expect(weak.status).toBe(400);
    const fresh = `new-${crypto.randomUUID()}`;
    const reset = await anon.json('POST', '/api/auth/reset', { token, password: fresh });
    expect(reset.status).toBe(200);
    expect(reset.body.user.email).toBe(email);
    expect((await anon.get('/api/auth/me')).status).toBe(200);
    // The old password and the other device are out; the link is spent.
    expect((await new Client(server.url).post('/api/auth/login', { email, password })).status).toBe(401);
    expect((await other.get('/api/auth/me')).status).toBe(401);
    expect((await new Client(server.url).json('POST', '/api/auth/reset', { token, password: `x-${crypto.randomUUID()}` })).status).toBe(400);
    expect((await new Client(server.url).post('/api/auth/login', { email, password: fresh })).status).toBe(200);
  });

  test('a made-up or expired token is refused', async () => {
    const { email, user } = await signUp(server.url, 'expired');
    expect((await new Client(server.url).post('/api/auth/reset', { token: 'made-up', password: `p-${crypto.randomUUID()}` })).status).toBe(400);
    await new Client(server.url).post('/api/auth/forgot', { email });
    const token = await linkFor(email);
    await server.db.sql`update account_links set expires_at = now() - interval '1 second' where user_id = ${user.id}`;
    expect((await new Client(server.url).post('/api/auth/reset', { token, password: `p-${crypto.randomUUID()}` })).status).toBe(400);
  });
});
