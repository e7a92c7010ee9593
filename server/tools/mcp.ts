/**
 * MCP servers (Streamable HTTP) through the official SDK's Client: an admin adds them,
 * their tools are offered to models that call tools, named `<server>__<tool>`. Header
 * values (tokens) are sealed like provider keys. A connected client per server is kept
 * and its tool list refreshed every minute; a failure drops it, and the next reply
 * connects again. Requests go through the guarded fetch (redirects re-checked).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Config } from '../config';
import type { Sql } from '../db';
import { decrypt, deriveKey, encrypt } from '../crypto';
import { guardedFetch } from '../connections/guarded-fetch';
import { notFound } from '../errors';
import { log } from '../log';
import type { CreateMcpServerBody, McpServer, UpdateMcpServerBody } from './mcp-model';
import { deleteMcpServer, insertMcpServer, selectMcpServers, updateMcpServer, type McpFields, type McpRow } from './mcp-queries';
import type { Tool } from './types';
import { shortLived } from '../infra/short-lived';

const TOOLS_TTL_MS = 60_000;
/**
 * How long the servers' rows are reused for replies (like the connections' rows): a reply
 * no longer reads the table each time. Changes here apply at once; another instance's within this.
 */
const ROWS_TTL_MS = 3_000;
const CONNECT_TIMEOUT_MS = 10_000;

interface Live {
  stamp: string;
  client: Client | null;
  tools: { name: string; description: string; inputSchema: Record<string, unknown> }[];
  error: string | null;
  listedAt: number;
  inflight: Promise<void> | null;
}

export interface McpServers {
  list(): Promise<McpServer[]>;
  create(body: CreateMcpServerBody): Promise<McpServer>;
  update(id: string, body: UpdateMcpServerBody): Promise<McpServer>;
  remove(id: string): Promise<void>;
  /** The tools of every enabled server, ready for the reply loop. */
  tools(): Promise<Tool[]>;
}

/** A name the model APIs accept (`^[a-zA-Z0-9_-]{1,64}$`). */
function toolName(server: string, tool: string): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
  return `${clean(server).slice(0, 24) || 'mcp'}__${clean(tool)}`.slice(0, 64);
}

export function createMcpServers(config: Config, sql: Sql): McpServers {
  const sealing = deriveKey(config.auth.secret, 'mcp-headers');
  const live = new Map<string, Live>();
  const rows = shortLived(() => selectMcpServers(sql), ROWS_TTL_MS);

  function headersOf(row: McpRow): Record<string, string> {
    if (!row.headersEnc) return {};
    try {
      return JSON.parse(decrypt(sealing, row.headersEnc)) as Record<string, string>;
    } catch {
      log.warn('MCP server headers do not decrypt (was APP_SECRET changed?)', { server: row.name });
      return {};
    }
  }

  async function connect(row: McpRow): Promise<Client> {
    const client = new Client({ name: 'parley', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(row.url), {
      requestInit: { headers: headersOf(row) },
      fetch: guardedFetch(row.url),
    });
    await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
    return client;
  }

  function drop(entry: Live) {
    void entry.client?.close().catch(() => {});
    entry.client = null;
  }

  async function refresh(row: McpRow, entry: Live) {
    try {
      entry.client ??= await connect(row);
      const listed = await entry.client.listTools(undefined, { timeout: CONNECT_TIMEOUT_MS });
      entry.tools = listed.tools.map((t) => ({
        name: t.name,
        description: t.description ?? '',
        inputSchema: (t.inputSchema ?? { type: 'object' }) as Record<string, unknown>,
      }));
      entry.error = null;
    } catch (error) {
      drop(entry);
      entry.tools = [];
      entry.error = `Could not list its tools: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`;
      log.warn('MCP server failed', { server: row.name, error: entry.error });
    }
    entry.listedAt = Date.now();
  }

  async function liveOf(row: McpRow): Promise<Live> {
    const stamp = `${row.updatedAt}`;
    let entry = live.get(row.id);
    if (!entry || entry.stamp !== stamp) {
      if (entry) drop(entry);
      entry = { stamp, client: null, tools: [], error: null, listedAt: 0, inflight: null };
      live.set(row.id, entry);
    }
    const e = entry;
    if (Date.now() - e.listedAt > TOOLS_TTL_MS) {
      e.inflight ??= refresh(row, e).finally(() => (e.inflight = null));
      await e.inflight;
    }
    return e;
  }

  function view(row: McpRow, entry: Live | undefined): McpServer {
    return {
      id: row.id,
      name: row.name,
      url: row.url,
      headerNames: row.headerNames,
      enabled: row.enabled,
      requireApproval: row.requireApproval,
      tools: (entry?.tools ?? []).map((t) => ({ name: t.name, description: t.description })),
      error: entry?.error ?? null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  function sealHeaders(headers: Record<string, string> | undefined, keep: McpRow | null): Pick<McpFields, 'headersEnc' | 'headerNames'> {
    if (headers === undefined) return { headersEnc: keep?.headersEnc ?? null, headerNames: keep?.headerNames ?? [] };
    const names = Object.keys(headers);
    return { headersEnc: names.length ? encrypt(sealing, JSON.stringify(headers)) : null, headerNames: names };
  }

  async function find(id: string) {
    const row = (await selectMcpServers(sql)).find((r) => r.id === id);
    if (!row) throw notFound('MCP server');
    return row;
  }

  /** The view with its tools listed now (the console wants to see what a server offers). */
  async function shown(row: McpRow) {
    return view(row, row.enabled ? await liveOf(row) : live.get(row.id));
  }

  return {
    async list() {
      const all = await selectMcpServers(sql);
      return Promise.all(all.map(shown));
    },
    async create(body) {
      const row = await insertMcpServer(sql, {
        name: body.name.trim(),
        url: body.url.trim(),
        ...sealHeaders(body.headers, null),
        enabled: body.enabled ?? true,
        requireApproval: body.requireApproval ?? false,
      });
      rows.clear(); // after the write: a read meanwhile must not keep the list without it
      return shown(row);
    },
    async update(id, body) {
      const row = await find(id);
      const updated = await updateMcpServer(sql, id, {
        name: body.name?.trim() ?? row.name,
        url: body.url?.trim() ?? row.url,
        ...sealHeaders(body.headers, row),
        enabled: body.enabled ?? row.enabled,
        requireApproval: body.requireApproval ?? row.requireApproval,
      });
      rows.clear();
      if (!updated) throw notFound('MCP server');
      return shown(updated);
    },
    async remove(id) {
      const deleted = await deleteMcpServer(sql, id);
      rows.clear();
      if (!deleted) throw notFound('MCP server');
      const entry = live.get(id);
      if (entry) drop(entry);
      live.delete(id);
    },
    async tools() {
      const enabled = (await rows.get()).filter((r) => r.enabled);
      const tools: Tool[] = [];
      for (const row of enabled) {
        const entry = await liveOf(row);
        for (const t of entry.tools) {
          tools.push({
            requireApproval: row.requireApproval,
            spec: { name: toolName(row.name, t.name), description: t.description || `${t.name} (${row.name})`, parameters: t.inputSchema },
            async run(input, ctx) {
              try {
                entry.client ??= await connect(row);
                const result = await entry.client.callTool({ name: t.name, arguments: input }, undefined, {
                  signal: ctx.signal,
                  timeout: config.tools.timeoutMs,
                });
                const parts = Array.isArray(result.content) ? (result.content as { type: string; text?: string }[]) : [];
                const text = parts.map((p) => (p.type === 'text' ? (p.text ?? '') : `[${p.type}]`)).join('\n');
                return { output: text || JSON.stringify(result.structuredContent ?? ''), isError: result.isError === true };
              } catch (error) {
                drop(entry);
                throw error;
              }
            },
          });
        }
      }
      return tools;
    },
  };
}
