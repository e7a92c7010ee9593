/**
 * "Not set up" errors speak to the person reading them (issue 18, defect 10): the admin is told
 * which variables to set; everyone else is told to ask the person who runs this Parley, and never
 * sees the server's variable names.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { signUp, type Client } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { SseReader } from '../support/sse';
import { newThread } from '../support/threads';

const VARIABLE = /[A-Z]+_[A-Z_]+/;

let server: TestServer;
let admin: Client;
let member: Client;
let beforeAnyAccount: unknown;

// No provider at all, and images turned off: what a fresh install looks like.
beforeAll(async () => {
  server = await startServer({ IMAGE_PROVIDER: 'none', TTS_PROVIDER: 'none', STT_PROVIDER: 'none' });
  beforeAnyAccount = await (await fetch(`${server.url}/api/auth/providers`)).json();
  admin = (await signUp(server.url, 'admin')).client; // the first account is the admin
  member = (await signUp(server.url, 'member')).client;
}, 60_000);
afterAll(() => server?.stop());

async function replyError(client: Client) {
  const thread = await newThread(client, {});
  const res = await client.request('POST', `/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: 'hello' });
  expect(res.status).toBe(200);
  const events = await new SseReader(res).all();
  const error = events.find((e) => e.event === 'error');
  expect(error).toBeTruthy();
  return (error!.data as { error: { message: string } }).error.message;
}

describe('a fresh install', () => {
  test('says it has no account yet, so the app offers to create the admin account', async () => {
    expect(beforeAnyAccount).toEqual({ password: true, passkeys: true, passwordReset: false, guests: false, oidc: [], registration: true, firstRun: true });
    const after = await (await fetch(`${server.url}/api/auth/providers`)).json();
    expect(after).toMatchObject({ firstRun: false, registration: true });
  });
});

describe('no model configured', () => {
  test('the admin is told what to configure', async () => {
    const message = await replyError(admin);
    expect(message).toContain('No model is available yet.');
    expect(message).toContain('OPENAI_API_KEY');
  });
  test('anyone else is told whom to ask, with no variable names', async () => {
    const message = await replyError(member);
    expect(message).toContain('Ask the person who runs this Parley');
    expect(message).not.toMatch(VARIABLE);
  });
});

describe('image generation turned off', () => {
  test('admin: the variable; others: whom to ask', async () => {
    const forAdmin = await admin.json('POST', '/api/images', { prompt: 'a fox' });
    expect(forAdmin.status).toBe(503);
    expect(forAdmin.body.error.message).toContain('IMAGE_PROVIDER=none');
    const forMember = await member.json('POST', '/api/images', { prompt: 'a fox' });
    expect(forMember.status).toBe(503);
    expect(forMember.body.error.code).toBe('images_disabled');
    expect(forMember.body.error.message).toContain('Ask the person who runs this Parley');
    expect(forMember.body.error.message).not.toMatch(VARIABLE);
  });
});
