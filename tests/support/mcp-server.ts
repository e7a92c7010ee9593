/**
 * A real MCP server, built with the official SDK (@modelcontextprotocol/sdk), speaking
 * Streamable HTTP inside Bun.serve (a fresh stateless server and transport per request,
 * JSON responses). Its tools: `lookup` (answers a fixed fact for a query) and `add`.
 * It checks a bearer token when given one, and records each call.
 *
 * Standalone: `bun tests/support/mcp-server.ts [port] [token]`.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { z } from 'zod';

export async function startMcpServer(options: { port?: number; token?: string } = {}) {
  const calls: { tool: string; args: Record<string, unknown> }[] = [];
  const server = Bun.serve({
    port: options.port ?? 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== '/mcp') return new Response('Not Found', { status: 404 });
      if (options.token && req.headers.get('authorization') !== `Bearer ${options.token}`) {
        return Response.json({ error: 'unauthorized' }, { status: 401 });
      }
      const mcp = new McpServer({ name: 'facts', version: '1.0.0' });
      mcp.tool('lookup', 'Looks up a fact in the team handbook', { query: z.string() }, async ({ query }) => {
        calls.push({ tool: 'lookup', args: { query } });
        return { content: [{ type: 'text', text: `Handbook: the answer about "${query}" is 42.` }] };
      });
      mcp.tool('add', 'Adds two numbers', { a: z.number(), b: z.number() }, async ({ a, b }) => {
        calls.push({ tool: 'add', args: { a, b } });
        return { content: [{ type: 'text', text: String(a + b) }] };
      });
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await mcp.connect(transport);
      return transport.handleRequest(req);
    },
  });
  return { url: `http://127.0.0.1:${server.port}/mcp`, calls, stop: () => server.stop(true) };
}

export type TestMcpServer = Awaited<ReturnType<typeof startMcpServer>>;

if (import.meta.main) {
  const s = await startMcpServer({ port: Number(process.argv[2] ?? 4030), token: process.argv[3] });
  console.log(`MCP server on ${s.url}`);
}
