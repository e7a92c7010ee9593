/** The SQL of connections (only this module writes the table). */
import type { Sql } from '../db';
import type { ModelOverride, Purpose } from './model';

export interface ConnectionRow {
  id: string;
  name: string;
  slug: string;
  kind: 'openai' | 'mistral';
  baseUrl: string;
  keyEnc: string | null;
  keyLast4: string | null;
  models: string[] | null;
  purposes: Purpose[];
  defaultFor: Purpose[];
  overrides: Record<string, ModelOverride>;
  createdAt: string;
  updatedAt: string;
}

const columns = (sql: Sql) =>
  sql`id, name, slug, kind, base_url, key_enc, key_last4, models, purposes, default_for, overrides, created_at, updated_at`;

export async function selectConnections(sql: Sql): Promise<ConnectionRow[]> {
  return sql<ConnectionRow[]>`select ${columns(sql)} from connections order by created_at, id`;
}

export interface ConnectionFields {
  name: string;
  slug: string;
  kind: 'openai' | 'mistral';
  baseUrl: string;
  key: { enc: string; last4: string } | null;
  models: string[] | null;
  purposes: Purpose[];
  defaultFor: Purpose[];
  overrides: Record<string, ModelOverride>;
}

export async function insertConnection(sql: Sql, f: ConnectionFields): Promise<ConnectionRow> {
  const [row] = await sql<ConnectionRow[]>`
    insert into connections (name, slug, kind, base_url, key_enc, key_last4, models, purposes, default_for, overrides)
    values (${f.name}, ${f.slug}, ${f.kind}, ${f.baseUrl}, ${f.key?.enc ?? null}, ${f.key?.last4 ?? null},
            ${f.models === null ? null : sql.json(f.models)}, ${sql.json(f.purposes)}, ${sql.json(f.defaultFor)},
            ${sql.json(f.overrides as never)})
    returning ${columns(sql)}`;
  return row!;
}

export async function updateConnection(sql: Sql, id: string, f: ConnectionFields): Promise<ConnectionRow | null> {
  const [row] = await sql<ConnectionRow[]>`
    update connections set name = ${f.name}, slug = ${f.slug}, kind = ${f.kind}, base_url = ${f.baseUrl},
      key_enc = ${f.key?.enc ?? null}, key_last4 = ${f.key?.last4 ?? null},
      models = ${f.models === null ? null : sql.json(f.models)}, purposes = ${sql.json(f.purposes)},
      default_for = ${sql.json(f.defaultFor)}, overrides = ${sql.json(f.overrides as never)}, updated_at = now()
    where id = ${id}
    returning ${columns(sql)}`;
  return row ?? null;
}

export async function deleteConnection(sql: Sql, id: string): Promise<boolean> {
  const rows = await sql`delete from connections where id = ${id} returning id`;
  return rows.length > 0;
}
