/**
 * The tools' routes: the MCP servers console (admins only), and the user's answer to a
 * tool call waiting for approval (the reply's owner only; 404 for anyone else).
 */
import { Elysia } from 'elysia';
import { getMessage } from '../conversations/queries';
import type { AppDeps } from '../deps';
import { notFound } from '../errors';
import { NoContent, withErrors } from '../http/model';
import type { Generations } from '../replies/generations';
import type { Relay } from '../replies/relay';
import { ToolApprovalAnswer, ToolApprovalBody, ToolApprovalParams } from '../replies/model';
import { IdParams } from '../threads/model';
import type { McpServers } from './mcp';
import { CreateMcpServerBody, McpServerAnswer, McpServerList, UpdateMcpServerBody } from './mcp-model';

export { createMcpServers, type McpServers } from './mcp';
export { createToolBox } from './toolbox';

export function toolsRoutes(deps: AppDeps & { mcp: McpServers; generations: Generations; relay: Relay }) {
  const mcp = deps.mcp;
  return new Elysia({ name: 'tools', prefix: '/api' })
    .use(deps.auth)
    .get(
      '/admin/mcp-servers',
      async () => {
        return { servers: await mcp.list() };
      },
      { requireRole: 'admin', response: withErrors({ 200: McpServerList }) },
    )
    .post(
      '/admin/mcp-servers',
      async ({ body, set }) => {
        set.status = 201;
        return { server: await mcp.create(body) };
      },
      { requireRole: 'admin', body: CreateMcpServerBody, response: withErrors({ 201: McpServerAnswer }) },
    )
    .patch(
      '/admin/mcp-servers/:id',
      async ({ params, body }) => {
        return { server: await mcp.update(params.id, body) };
      },
      { requireRole: 'admin', params: IdParams, body: UpdateMcpServerBody, response: withErrors({ 200: McpServerAnswer }) },
    )
    .delete(
      '/admin/mcp-servers/:id',
      async ({ params, set }) => {
        await mcp.remove(params.id);
        set.status = 204;
      },
      { requireRole: 'admin', params: IdParams, response: withErrors({ 204: NoContent }) },
    )
    .post(
      '/messages/:id/tool-calls/:callId',
      async ({ user, params, body }) => {
        const message = await getMessage(deps.sql, user.id, params.id);
        if (!message) throw notFound('Message');
        const live = deps.generations.get(params.id);
        if (live) {
          if (!live.answerApproval(params.callId, body.approve)) throw notFound('Tool call waiting for approval');
          return { approved: body.approve };
        }
        // The reply runs in another instance: its row says whether this call waits (stored
        // before the user could see it); the answer goes there over the bus.
        const waiting = message.status === 'streaming' && message.toolCalls.some((c) => c.id === params.callId && c.status === 'approval');
        if (!waiting || !(await deps.relay.answerApproval(params.id, params.callId, body.approve))) {
          throw notFound('Tool call waiting for approval');
        }
        return { approved: body.approve };
      },
      { auth: true, params: ToolApprovalParams, body: ToolApprovalBody, response: withErrors({ 200: ToolApprovalAnswer }) },
    );
}
