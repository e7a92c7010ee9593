/**
 * The Parley export format (version 1), written by GET /api/threads/:id/export?format=json
 * and GET /api/export, and read back by POST /api/import:
 *
 *   thread JSON: {"format": "parley", "version": 1, "exportedAt", "threads": [ExportThread]}
 *   account zip: manifest.json {"format": "parley", "version": 1, "exportedAt", "folders": [...]},
 *                threads.json [ExportThread, …] (one array, so it can be read one thread at a time),
 *                markdown/<title>-<id>.md per thread, files/<fileId>-<name> per stored file.
 *
 * Every message of every branch is in `messages` (parentId links them); attachments name
 * their file in the zip by `path`.
 */
import type { ThreadMessage } from '../conversations/queries';
import type { Thread } from '../threads/model';

export const FORMAT = 'parley';
export const VERSION = 1;

export interface ExportAttachment {
  id: string;
  mime: string;
  name: string;
  size: number;
  /** Where its bytes are in an account zip (absent in a single thread's JSON). */
  path?: string;
}

export interface ExportMessage {
  id: string;
  parentId: string | null;
  role: 'user' | 'assistant' | 'system';
  content: string;
  status: string;
  model: string | null;
  createdAt: string;
  attachments: ExportAttachment[];
}

export interface ExportThread {
  id: string;
  title: string;
  model: string | null;
  systemPrompt: string;
  pinned: boolean;
  archived: boolean;
  folder: string | null;
  createdAt: string;
  updatedAt: string;
  messages: ExportMessage[];
}

const attachmentsOf = (m: ThreadMessage): ExportAttachment[] =>
  (Array.isArray(m.attachments) ? m.attachments : []).flatMap((a) => {
    const x = a as Partial<ExportAttachment>;
    return typeof x.id === 'string'
      ? [{ id: x.id, mime: String(x.mime ?? ''), name: String(x.name ?? ''), size: Number(x.size ?? 0) }]
      : [];
  });

export function toExportThread(thread: Thread, folder: string | null, messages: ThreadMessage[]): ExportThread {
  return {
    id: thread.id,
    title: thread.title,
    model: thread.model,
    systemPrompt: thread.systemPrompt,
    pinned: thread.pinned,
    archived: thread.archived,
    folder,
    createdAt: thread.createdAt,
    updatedAt: thread.updatedAt,
    messages: messages.map((m) => ({
      id: m.id,
      parentId: m.parentId,
      role: m.role,
      content: m.content,
      status: m.status,
      model: m.model,
      createdAt: m.createdAt,
      attachments: attachmentsOf(m),
    })),
  };
}

/** The branch a reader last saw: from the root to the newest message, root first. */
export function latestBranch(messages: ExportMessage[]): ExportMessage[] {
  if (!messages.length) return [];
  const byId = new Map(messages.map((m) => [m.id, m]));
  let newest = messages[0]!;
  for (const m of messages) if (m.createdAt >= newest.createdAt) newest = m;
  const path: ExportMessage[] = [];
  const seen = new Set<string>();
  for (let m: ExportMessage | undefined = newest; m && !seen.has(m.id); m = m.parentId ? byId.get(m.parentId) : undefined) {
    seen.add(m.id);
    path.push(m);
  }
  return path.reverse();
}

const ROLE_NAMES = { user: 'You', assistant: 'Assistant', system: 'System' } as const;

/** A thread as Markdown: its latest branch, each message under who said it. */
export function toMarkdown(t: ExportThread): string {
  const lines = [`# ${t.title || 'Untitled chat'}`, ''];
  lines.push(`- Created: ${t.createdAt}`, `- Updated: ${t.updatedAt}`);
  if (t.model) lines.push(`- Model: ${t.model}`);
  if (t.folder) lines.push(`- Folder: ${t.folder}`);
  lines.push('');
  if (t.systemPrompt) lines.push('## System prompt', '', t.systemPrompt, '');
  const branch = latestBranch(t.messages);
  for (const m of branch) {
    lines.push(`## ${ROLE_NAMES[m.role]}${m.model && m.role === 'assistant' ? ` (${m.model})` : ''}`, '');
    if (m.content) lines.push(m.content, '');
    for (const a of m.attachments) lines.push(`![${a.name || 'image'}](${a.path ?? `/api/files/${a.id}`})`, '');
  }
  const others = t.messages.length - branch.length;
  if (others > 0) lines.push('---', '', `_${others} more message(s) are in other branches of this chat; the JSON export keeps every branch._`, '');
  return lines.join('\n');
}

/** A file name for a thread's export: letters, digits and dashes from its title, then the id's start. */
export function exportName(t: { title: string; id: string }, extension: string) {
  const slug = t.title.normalize('NFKD').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'chat';
  return `${slug}-${t.id.slice(0, 8)}.${extension}`;
}
