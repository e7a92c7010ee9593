/** The conversation a provider is given for a reply. */
import { branch } from '../conversations/queries';
import { fitToBudget } from '../documents/extract';
import type { ChatMessage, ContentPart, ModelInfo, UserView } from '../providers/types';
import type { Attachment, Message, Thread } from '../threads/model';
import type { FileReader, RunnerDeps } from './types';

/** Tokens assumed when a model's context length is unknown. */
export const DEFAULT_CONTEXT_TOKENS = 8192;
/** The share of the model's context documents may fill (the rest: the conversation and the answer). */
const DOCUMENT_SHARE = 0.6;
/** Characters per token, roughly, for text of the usual languages. */
const CHARS_PER_TOKEN = 4;

const isImage = (a: Attachment) => Boolean(a.mime?.startsWith('image/'));
const isDocument = (a: Attachment) => Boolean(a.textStatus);

/** How many characters of document text a model with this context length is given. */
export function documentBudget(contextLength: number | null | undefined): number {
  return Math.floor((contextLength || DEFAULT_CONTEXT_TOKENS) * CHARS_PER_TOKEN * DOCUMENT_SHARE);
}

/** The document budget of a resolved model id, from the models the user can see. */
export async function budgetForModel(
  deps: Pick<RunnerDeps, 'providers'>,
  userId: string,
  model: string | null,
  /** The user's models when read already (Providers.view). */
  view?: UserView,
): Promise<number> {
  const { models } = view ?? (await deps.providers.models(userId).catch(() => ({ models: [] as ModelInfo[] })));
  return documentBudget(models.find((m) => m.id === model)?.contextLength);
}

type Path = { role: Message['role']; content: string; attachments: Attachment[] }[];

/**
 * Each document's text within the budget: the newest message's documents first (they
 * share what is left equally), older ones get what remains. Returns the text per
 * attachment id and, for trimmed ones, the note the thread shows.
 */
export function planDocuments(path: Path, texts: Map<string, string>, budgetChars: number) {
  const fitted = new Map<string, { text: string; note: string | null }>();
  let remaining = budgetChars;
  for (const m of [...path].reverse()) {
    const docs = m.role === 'user' ? (m.attachments ?? []).filter((a) => isDocument(a) && texts.has(a.id)) : [];
    docs.forEach((a, i) => {
      const share = Math.floor(remaining / (docs.length - i));
      const fit = fitToBudget(a.name, texts.get(a.id)!, share);
      fitted.set(a.id, fit);
      remaining -= fit.text.length;
    });
  }
  return fitted;
}

/** A document as the model reads it: labelled with its name, or a line saying why it has no text. */
function documentPart(a: Attachment, fit: { text: string; note: string | null } | undefined): string {
  if (!fit) {
    const why = a.textError ?? (a.textStatus === 'ready' ? 'the file is no longer available' : 'no text could be read from it');
    return `[Attached document "${a.name}": ${why}.]`;
  }
  const note = fit.note ? `\n[${fit.note}]` : '';
  return `<document name="${a.name.replace(/"/g, "'")}">\n${fit.text}\n</document>${note}`;
}

/**
 * The system prompt, the branch ending at `leaf` (a message id, or its branch already being
 * read), then `extra` (the message being posted).
 * Documents attached to user messages are given as their stored text, trimmed to
 * `budget` characters in all (read only when there are documents).
 */
export async function buildContext(
  deps: Pick<RunnerDeps, 'sql'> & { files: FileReader },
  userId: string,
  thread: Pick<Thread, 'systemPrompt'>,
  leaf: string | null | Promise<Path>,
  extra: { content: string; attachments: Attachment[] } | null,
  budget: () => Promise<number> = async () => documentBudget(null),
): Promise<ChatMessage[]> {
  const path: Path = !leaf ? [] : typeof leaf === 'string' ? await branch(deps.sql, userId, leaf) : [...(await leaf)];
  if (extra) path.push({ role: 'user', ...extra });
  const documentIds = path.flatMap((m) => (m.role === 'user' ? (m.attachments ?? []).filter(isDocument).map((a) => a.id) : []));
  const fitted = documentIds.length
    ? planDocuments(path, (await deps.files.texts?.(userId, documentIds)) ?? new Map(), await budget())
    : new Map<string, { text: string; note: string | null }>();

  const messages: ChatMessage[] = [];
  if (thread.systemPrompt.trim()) messages.push({ role: 'system', content: thread.systemPrompt });
  for (const m of path) {
    if (m.role === 'system') continue;
    const attached = m.role === 'user' ? (m.attachments ?? []) : [];
    const images = attached.filter(isImage);
    const documents = attached.filter(isDocument);
    const content = [m.content.trim() ? m.content : '', ...documents.map((a) => documentPart(a, fitted.get(a.id)))]
      .filter(Boolean)
      .join('\n\n');
    if (!content.trim() && !images.length) continue; // an empty failed reply says nothing
    if (!images.length) {
      messages.push({ role: m.role, content: documents.length ? content : m.content });
      continue;
    }
    const parts: ContentPart[] = [];
    if (content.trim()) parts.push({ type: 'text', text: content });
    for (const a of images) {
      const file = await deps.files.read(userId, a.id);
      if (file) parts.push({ type: 'image', mime: file.mime, data: file.bytes });
    }
    messages.push({ role: m.role, content: parts });
  }
  return messages;
}
