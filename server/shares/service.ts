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
import { copyFiles, openRow } from '../files/service';
import { getFile, getFiles } from '../files/queries';
import { getThread, ownsThread, threadMessages } from '../conversations/queries';
import { copyMessages, insertThread, lockUserWrites, markThreadChanged } from '../conversations/writes';
import { parseCursor } from '../infra/paging';
import { CODE, CODE_BYTES, FORK_LIMIT, type Snapshot } from './model';
import * as q from './queries';
import { attachmentIds, snapshotMessages } from './snapshot';

export type ShareDeps = { sql: Sql; config: Config };

export const shareUrl = (config: Config, code: string) => `${config.http.publicUrl}/s/${code}`;
export const sharedFileUrl = (code: string, fileId: string) => `/api/shares/${code}/files/${fileId}`;

const validCode = (code: string) => CODE.test(code);

/** POST /api/threads/:id/share */
export async function shareThread(deps: ShareDeps, userId: string, threadId: string) {
  const saved = await deps.sql.begin(async (tx) => {
    const thread = await getThread(tx, userId, threadId);
    if (!thread) throw notFound('Thread');
    // Before the share row: the seq lock comes first in every conversation write.
    await markThreadChanged(tx, userId, threadId);
    const messages = await threadMessages(tx, userId, threadId);
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
  if (!(await ownsThread(deps.sql, userId, threadId))) throw notFound('Thread');
  await deps.sql.begin(async (tx) => {
    await markThreadChanged(tx, userId, threadId);
    await q.deleteThreadShare(tx, userId, threadId);
  });
}

/** DELETE /api/shares/:code (the settings list's revoke). */
export async function revokeShareByCode(deps: ShareDeps, userId: string, code: string) {
  if (!validCode(code)) throw notFound('Share');
  const threadId = await deps.sql.begin(async (tx) => {
    await lockUserWrites(tx, userId); // the seq lock before the share row: see conversations/writes.ts
    const id = await q.deleteShareByCode(tx, userId, code);
    if (id) await markThreadChanged(tx, userId, id);
    return id;
  });
  if (!threadId) throw notFound('Share');
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
  return row ? openRow(deps, row) : null;
}

function shareCursor(cursor: string): [string, string] {
  const parsed = parseCursor(cursor);
  if (!parsed) throw badRequest({ before: 'must be a cursor from a previous page' });
  return parsed;
}

/** GET /api/shares: the user's active shares, newest first. */
export async function listShares(deps: ShareDeps, userId: string, limit = 50, before?: string) {
  const { page, nextCursor } = await q.listShares(deps.sql, userId, limit, before ? shareCursor(before) : null);
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

/** POST /api/shares/:code/fork: a new thread in the viewer's account with a copy of the snapshot. */
export async function forkShare(deps: ShareDeps, viewerId: string, code: string) {
  if (!validCode(code)) throw notFound('Share');
  await enforce(deps.sql, [{ key: `shares:fork:${viewerId}`, ...FORK_LIMIT }]);
  return deps.sql.begin(async (tx) => {
    const share = await q.getShare(tx, code);
    if (!share) throw notFound('Share');
    const { snapshot } = share;
    // Snapshots leave the system prompt out, so the copy starts without one.
    const made = await insertThread(tx, viewerId, {
      title: snapshot.thread.title,
      model: snapshot.thread.model,
      systemPrompt: '',
    });
    if (made === 'taken') throw new Error('a fresh thread id was taken'); // ids made here are new UUIDs
    const { thread } = made;
    const copies = await copyFiles(tx, share.userId, share.fileIds, viewerId, thread.id);
    const newId = new Map(snapshot.messages.map((m) => [m.id, crypto.randomUUID()]));
    // The conversation keeps its times and order (see copyMessages).
    await copyMessages(
      tx,
      viewerId,
      thread.id,
      snapshot.messages.map((m) => ({
        id: newId.get(m.id)!,
        parentId: m.parentId ? (newId.get(m.parentId) ?? null) : null,
        role: m.role,
        content: m.content,
        status: m.status,
        model: m.model,
        attachments: m.attachments.flatMap((a) => {
          const copy = copies.get(a.id);
          return copy ? [copy] : [];
        }),
        createdAt: m.createdAt,
      })),
    );
    return thread;
  });
}
