/**
 * What a share keeps of a thread (pure: no database). See service.ts for the decisions:
 * streaming and system messages are left out, ids are replaced, only the owner's
 * files that still exist are kept.
 */
import type { ThreadMessage } from '../conversations/queries';
import type { SnapshotMessage } from './model';

/** The distinct file ids the messages' attachments name (lower case), ignoring malformed entries. */
export function attachmentIds(messages: ThreadMessage[]): string[] {
  const ids = new Set<string>();
  for (const m of messages) {
    for (const a of Array.isArray(m.attachments) ? m.attachments : []) {
      if (typeof a?.id === 'string' && /^[0-9a-f-]{36}$/i.test(a.id)) ids.add(a.id.toLowerCase());
    }
  }
  return [...ids];
}

/** The thread's messages as the snapshot keeps them. */
export function snapshotMessages(messages: ThreadMessage[], files: Map<string, SnapshotMessage['attachments'][number]>) {
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
