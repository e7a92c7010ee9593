/** The SQL of MCP servers (only this module writes the table). */
import type { Sql } from '../db';

export interface McpRow {
  id: string;
  name: string;
  url: string;
  headersEnc: string | null;
  headerNames: string[];
  enabled: boolean;
  requireApproval: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface McpFields {
  name: string;
  url: string;
  headersEnc: string | null;
  headerNames: string[];
  enabled: boolean;
  requireApproval: boolean;
}

const columns = (sql: Sql) => sql`id, name, url, headers_enc, header_names, enabled, require_approval, created_at, updated_at`;

export const selectMcpServers = (sql: Sql) => sql<McpRow[]>`select ${columns(sql)} from mcp_servers order by created_at, id`;

export async function insertMcpServer(sql: Sql, f: McpFields) {
  const [row] = await sql<McpRow[]>`
    insert into mcp_servers (name, url, headers_enc, header_names, enabled, require_approval)
    values (${f.name}, ${f.url}, ${f.headersEnc}, ${sql.json(f.headerNames)}, ${f.enabled}, ${f.requireApproval})
    returning ${columns(sql)}`;
  return row!;
}

export async function updateMcpServer(sql: Sql, id: string, f: McpFields) {
  const [row] = await sql<McpRow[]>`
    update mcp_servers set name = ${f.name}, url = ${f.url}, headers_enc = ${f.headersEnc},
      header_names = ${sql.json(f.headerNames)}, enabled = ${f.enabled}, require_approval = ${f.requireApproval},
      updated_at = now()
    where id = ${id}
    returning ${columns(sql)}`;
  return row ?? null;
}

export async function deleteMcpServer(sql: Sql, id: string) {
  return (await sql`delete from mcp_servers where id = ${id} returning id`).length > 0;
}
