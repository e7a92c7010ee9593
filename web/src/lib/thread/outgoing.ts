/**
 * What a thread sends, built in one place: the user's message as shown before the server
 * answers, its outbox entry (same id: the server deduplicates it), the POST body, and the
 * placeholder shown while an image is made. Pure.
 */
import type { OutboxEntry } from '$lib/offline/db';
import type { Attachment } from '$server/threads/model';
import type { ViewMessage } from '$lib/view-types';

/** What a message made on this device says before the server stored it. */
const LOCAL = { error: null, tokensIn: null, tokensOut: null, reasoning: '' } as const;

const fileIds = (attachments: Pick<Attachment, 'id'>[]) => attachments.flatMap((a) => (a.id ? [{ id: a.id }] : []));

/** The user's message as shown at once. */
export function userMessage(threadId: string, id: string, text: string, parentId: string | null, attachments: Attachment[]): ViewMessage {
  return { id, threadId, parentId, role: 'user', content: text, status: 'complete', model: null, createdAt: new Date().toISOString(), attachments, ...LOCAL, toolCalls: [], sources: [] };
}

/**
 * An outbox entry, or null when there is nothing to send. `first`: the first entry of a
 * thread answers what is on screen (`parentId`); later ones follow the reply before them.
 */
export function outboxEntry(threadId: string, id: string, content: string, parentId: string | null, attachments: Pick<Attachment, 'id'>[], first: boolean): OutboxEntry | null {
  const text = content.trim();
  const files = fileIds(attachments);
  if (!text && !files.length) return null;
  return {
    id,
    threadId,
    content: text,
    ...(first ? { parentId } : {}),
    createdAt: new Date().toISOString(),
    ...(files.length ? { attachments: files } : {}),
  };
}

/** The POST body of a message; `parentId` undefined means "after the latest". */
export function messageBody(id: string, text: string, parentId: string | null | undefined, attachments: Pick<Attachment, 'id'>[]) {
  return {
    id,
    content: text,
    ...(parentId !== undefined ? { parentId } : {}),
    ...(attachments.length ? { attachments: fileIds(attachments) } : {}),
  };
}

/** Shown, the size of the image, until the server's assistant message arrives. */
export function imagePlaceholder(threadId: string, parentId: string | null, prompt: string): ViewMessage {
  return {
    id: `pending-${crypto.randomUUID()}`,
    threadId,
    parentId,
    role: 'assistant',
    content: prompt,
    status: 'complete',
    model: null,
    createdAt: new Date().toISOString(),
    attachments: [],
    ...LOCAL,
    toolCalls: [],
    sources: [],
    pending: 'image',
  };
}
