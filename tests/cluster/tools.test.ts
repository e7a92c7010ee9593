/**
 * Tool approvals across instances: a reply generating on A pauses for the user's approval
 * of a sensitive MCP tool; the approval POST reaching B (another instance behind nginx) is
 * checked there against the stored waiting state and relayed over the bus to A, which runs
 * the tool and completes the reply. Someone else, a call that is not waiting, and a denial
 * relayed the same way behave as on one instance.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client, signUp, via } from '../support/client';
import { startParleyCluster, type ParleyCluster } from '../support/cluster';
import { startMcpServer, type TestMcpServer } from '../support/mcp-server';
import { SseReader, type SseEvent } from '../support/sse';
import { newThread } from '../support/threads';

let c: ParleyCluster;
let mcp: TestMcpServer;
let A: string;
let B: string;
let user: Client;

beforeAll(async () => {
  mcp = await startMcpServer();
  c = await startParleyCluster({ instances: 2, env: { TOOL_APPROVAL_TIMEOUT_MS: '20000' } });
  A = c.instanceUrl(0);
  B = c.instanceUrl(1);
  const admin = (await signUp(A, 'admin')).client; // the first account is the admin
  const added = await admin.json('POST', '/api/admin/mcp-servers', { name: 'facts', url: mcp.url, requireApproval: true });
  expect(added.status).toBe(201);
  user = (await signUp(A, 'user')).client;
}, 90_000);

afterAll(async () => {
  await c?.stop();
  mcp?.stop();
}, 30_000);

/** Posts on A and reads until the tool call waits for approval. */
async function waitingOnA(callId: string, args: Record<string, number>) {
  const thread = await newThread(via(user, A));
  c.fake.chat.script({ toolCalls: [{ name: 'facts__add', arguments: args, id: callId }] });
  const res = await via(user, A).post(`/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: 'Add' });
  expect(res.status).toBe(200);
  const stream = new SseReader(res);
  let event: SseEvent | null;
  while ((event = await stream.next()) && event.event !== 'tool');
  expect(event!.data).toMatchObject({ status: 'approval', call: { id: callId } });
  return { stream, messageId: event!.data.id as string };
}

describe('tool approvals on another instance', () => {
  test('approved through B, the call waiting in A runs and the reply completes; others and wrong calls get 404', async () => {
    const { stream, messageId } = await waitingOnA('call-b', { a: 20, b: 22 });
    // B has no generation for it: the stored row says the call waits.
    const [row] = await c.sql<{ status: string; toolCalls: { id: string; status: string }[] }[]>`
      select status, tool_calls from messages where id = ${messageId}`;
    expect(row).toMatchObject({ status: 'streaming', toolCalls: [{ id: 'call-b', status: 'approval' }] });

    const stranger = (await signUp(B, 'stranger')).client;
    expect((await stranger.json('POST', `/api/messages/${messageId}/tool-calls/call-b`, { approve: true })).status).toBe(404);
    expect((await via(user, B).json('POST', `/api/messages/${messageId}/tool-calls/nope`, { approve: true })).status).toBe(404);
    expect(mcp.calls).toHaveLength(0);

    const answer = await via(user, B).json('POST', `/api/messages/${messageId}/tool-calls/call-b`, { approve: true });
    expect(answer).toMatchObject({ status: 200, body: { approved: true } });
    const rest = await stream.all();
    expect(rest.at(-1)!.data.message).toMatchObject({ status: 'complete', content: 'Tools said: 42' });
    expect(mcp.calls).toEqual([{ tool: 'add', args: { a: 20, b: 22 } }]);

    // Answered, the call no longer waits: a second answer through B is a 404.
    expect((await via(user, B).json('POST', `/api/messages/${messageId}/tool-calls/call-b`, { approve: true })).status).toBe(404);
  }, 60_000);

  test('denied through B, the tool does not run and the model is told', async () => {
    mcp.calls.length = 0;
    const { stream, messageId } = await waitingOnA('call-deny', { a: 1, b: 1 });
    const answer = await via(user, B).json('POST', `/api/messages/${messageId}/tool-calls/call-deny`, { approve: false });
    expect(answer).toMatchObject({ status: 200, body: { approved: false } });
    const rest = await stream.all();
    const done = rest.at(-1)!.data.message!;
    expect(done.toolCalls).toMatchObject([{ id: 'call-deny', status: 'denied' }]);
    expect(mcp.calls).toHaveLength(0);
  }, 60_000);
});
