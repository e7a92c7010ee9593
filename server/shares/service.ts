/**
 * Share links: a read-only copy of a thread as it was when shared, readable by
 * anyone holding the 128-bit code, revocable at once, and forkable into the
 * viewer's own account.
 *
 * Decisions:
 * - The snapshot is a copy (shares.snapshot), so messages sent later are not shared.
 * - Sharing again refreshes the snapshot and KEEPS the code: a link already pasted
 *   somewhere shows the refreshed thread. To get a new code, revoke then share.
 * - Messages still streaming and system messages are left out; message ids are
 *   replaced by fresh ones so the owner's ids never leave their account.
 * - Only the owner's own files shown by the snapshot are readable through it
 *   (shares.file_ids), at /api/shares/:code/files/:id.
 * - A fork is a new thread of the viewer's (the owner's system prompt is not
 *   shared, so it starts empty); its messages keep their original times and order.
 */
import type { Config } from '../config';
import type { Sql } from '../db';
import { badRequest, notFound } from '../errors';
import { randomToken } from '../crypto';
import { enforce } from '../infra/rate-limit';
import { copyFiles, readRow } from '../files/service';
import { getFile, getFiles } from '../files/queries';
import { CODE, CODE_BYTES, FORK_LIMIT, type Snapshot, type SnapshotMessage } from './model';
import * as q from './queries';
import * as threadQueries from '../threads/queries';

export type ShareDeps = { sql: Sql; config: Config };

export const shareUrl = (config: Config, code: string) => `${config.http.publicUrl}/s/${code}`;
export const sharedFileUrl = (code: string, fileId: string) => `/api/shares/${code}/files/${fileId}`;

const validCode = (code: string) => CODE.test(code);

function attachmentIds(messages: q.SourceMessage[]): string[] {
  const ids = new Set<string>();
  for (const m of messages) {
    for (const a of Array.isArray(m.attachments) ? m.attachments : []) {
      if (typeof a?.id === 'string' && /^[0-9a-f-]{36}$/i.test(a.id)) ids.add(a.id.toLowerCase());
    }
  }
  return [...ids];
}

/** The thread's messages as the snapshot keeps them (see the decisions above). */
function snapshotMessages(messages: q.SourceMessage[], files: Map<string, SnapshotMessage['attachments'][number]>) {
  const kept = messages.filter((m) => m.status !== 'streaming' && m.role !== 'system');
  const keptIds = new Set(kept.map((m) => m.id));
  const parentOf = new Map(messages.map((m) => [m.id, m.parentId]));
  const newId = new Map(kept.map((m) => [m.id, crypto.randomUUID()]));
  // A left-out message's children hang from its nearest kept ancestor.
  const keptAncestor = (id: string | null): string | null => {
    const seen = new Set<string>();
    while (id && !keptIds.has(id) && !seen.has(id)) {
      seen.add(id);
      id = parentOf.get(id) ?? null;
    }
    return id && keptIds.has(id) ? id : null;
  };
  return kept.map(
    (m): SnapshotMessage => ({
      id: newId.get(m.id)!,
      parentId: (() => {
        const parent = keptAncestor(m.parentId);
        return parent ? newId.get(parent)! : null;
      })(),
      role: m.role as SnapshotMessage['role'],
      content: m.content,
      status: m.status as SnapshotMessage['status'],
      model: m.model,
      createdAt: new Date(m.createdAt).toISOString(),
      attachments: (Array.isArray(m.attachments) ? m.attachments : []).flatMap((a) => {
        const file = typeof a?.id === 'string' ? files.get(a.id.toLowerCase()) : undefined;
        return file ? [file] : [];
      }),
    }),
  );
}

/** POST /api/threads/:id/share */
export async function shareThread(deps: ShareDeps, userId: string, threadId: string) {
  const saved = await deps.sql.begin(async (tx) => {
    const thread = await q.getOwnThread(tx, userId, threadId);
    if (!thread) throw notFound('Thread');
    const messages = await q.threadMessages(tx, userId, threadId);
    const rows = await getFiles(tx, userId, attachmentIds(messages));
    const files = new Map(rows.map((f) => [f.id, { id: f.id, mime: f.mime, name: f.name, size: f.size }]));
    const snapshot: Snapshot = {
      thread: { title: thread.title, model: thread.model, createdAt: new Date(thread.createdAt).toISOString() },
      messages: snapshotMessages(messages, files),
    };
    const fileIds = [...new Set(snapshot.messages.flatMap((m) => m.attachments.map((a) => a.id)))];
    return q.upsertShare(tx, { threadId, userId, code: randomToken(CODE_BYTES), snapshot, fileIds });
  });
  if (!saved) throw notFound('Thread');
  return {
    code: saved.code,
    url: shareUrl(deps.config, saved.code),
    threadId,
    createdAt: saved.createdAt,
    updatedAt: saved.updatedAt,
  };
}

/** DELETE /api/threads/:id/share: 404 unless the thread is the user's; revoking nothing is fine. */
export async function revokeThreadShare(deps: ShareDeps, userId: string, threadId: string) {
  if (!(await q.getOwnThread(deps.sql, userId, threadId))) throw notFound('Thread');
  await q.deleteThreadShare(deps.sql, userId, threadId);
}

/** DELETE /api/shares/:code (the settings list's revoke). */
export async function revokeShareByCode(deps: ShareDeps, userId: string, code: string) {
  if (!validCode(code) || !(await q.deleteShareByCode(deps.sql, userId, code))) throw notFound('Share');
}

/** The share, or null when unknown or revoked. */
export async function findShare(deps: ShareDeps, code: string) {
  return validCode(code) ? q.getShare(deps.sql, code) : null;
}

/** GET /api/shares/:code: the snapshot, with file URLs that work through the share. */
export async function readShare(deps: ShareDeps, code: string) {
  const share = await findShare(deps, code);
  if (!share) throw notFound('Share');
  return {
    thread: share.snapshot.thread,
    messages: share.snapshot.messages.map((m) => ({
      ...m,
      attachments: m.attachments.map((a) => ({ ...a, url: sharedFileUrl(share.code, a.id) })),
    })),
    sharedAt: share.updatedAt,
  };
}

/** GET /api/shares/:code/files/:id */
export async function readSharedFile(deps: ShareDeps, code: string, fileId: string) {
  if (!validCode(code)) return null;
  const found = await q.sharedFile(deps.sql, code, fileId);
  if (!found) return null;
  const row = await getFile(deps.sql, found.userId, found.id);
  return row ? readRow(deps, row) : null;
}

function parseCursor(cursor: string): [string, string] {
  const match = cursor.match(/^([0-9]{1,20})_([0-9a-f-]{36})$/);
  if (!match) throw badRequest({ before: 'must be a cursor from a previous page' });
  return [match[1]!, match[2]!];
}

/** GET /api/shares: the user's active shares, newest first. */
export async function listShares(deps: ShareDeps, userId: string, limit = 50, before?: string) {
  const { page, nextCursor } = await q.listShares(deps.sql, userId, limit, before ? parseCursor(before) : null);
  return {
    shares: page.map((s) => ({
      code: s.code,
      url: shareUrl(deps.config, s.code),
      threadId: s.threadId,
      title: s.title,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    })),
    nextCursor,
  };
}

/** Parents before children, whatever order the snapshot lists them in (linear time). */
function parentsFirst(messages: SnapshotMessage[]): SnapshotMessage[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const placed = new Set<string>();
  const out: SnapshotMessage[] = [];
  for (const m of messages) {
    // Climb to the first ancestor already placed, then place the chain top-down.
    const chain: SnapshotMessage[] = [];
    const seen = new Set<string>();
    let current: SnapshotMessage | undefined = m;
    while (current && !placed.has(current.id) && !seen.has(current.id)) {
      seen.add(current.id);
      chain.push(current);
      current = current.parentId ? byId.get(current.parentId) : undefined;
    }
    for (const c of chain.reverse()) {
      placed.add(c.id);
      out.push(c);
    }
  }
  return out;
}

/** POST /api/shares/:code/fork: a new thread in the viewer's account with a copy of the snapshot. */
export async function forkShare(deps: ShareDeps, viewerId: string, code: string) {
  if (!validCode(code)) throw notFound('Share');
  await enforce(deps.sql, [{ key: `shares:fork:${viewerId}`, ...FORK_LIMIT }]);
  return deps.sql.begin(async (tx) => {
    const share = await q.getShare(tx, code);
    if (!share) throw notFound('Share');
    const { snapshot } = share;
    // Snapshots leave the system prompt out, so the copy starts without one.
    const thread = await threadQueries.insertThread(tx, viewerId, {
      title: snapshot.thread.title,
      model: snapshot.thread.model,
      systemPrompt: '',
    });
    const copies = await copyFiles(tx, share.userId, share.fileIds, viewerId, thread.id);
    const newId = new Map(snapshot.messages.map((m) => [m.id, crypto.randomUUID()]));
    const order = new Map(snapshot.messages.map((m, i) => [m.id, i]));
    for (const m of parentsFirst(snapshot.messages)) {
      await q.insertMessage(tx, viewerId, {
        id: newId.get(m.id)!,
        threadId: thread.id,
        parentId: m.parentId ? (newId.get(m.parentId) ?? null) : null,
        role: m.role,
        content: m.content,
        status: m.status,
        model: m.model,
        attachments: m.attachments.flatMap((a) => {
          const copy = copies.get(a.id);
          return copy ? [copy] : [];
        }),
        // The conversation keeps its times. The snapshot's are milliseconds (and the
        // embedded database's clock is too), so a microsecond per position keeps the
        // order strict: messages list by (created_at, id) and ids are random.
        createdAt: m.createdAt,
        order: order.get(m.id)!,
      });
    }
    return thread;
  });
}
