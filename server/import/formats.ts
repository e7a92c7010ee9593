/**
 * What the importer knows of each export format, turning one element of the source's
 * JSON array into a thread to insert (or an ImportError naming what is wrong with it).
 *
 * - ChatGPT (conversations.json, alone or in its zip): an array of conversations, each with
 *   a `mapping` of nodes {id, message, parent, children}; edited messages and regenerated
 *   replies are sibling nodes, so the tree becomes our branches. Message content is
 *   `{content_type, parts}` ("text", "multimodal_text" with image asset pointers, "code"
 *   with `text` and `language`); tool, browsing and reasoning nodes are left out and their
 *   children hang on the nearest message kept. Times are Unix seconds.
 * - Claude (conversations.json of its data export): an array of {uuid, name, created_at,
 *   updated_at, chat_messages: [{uuid, sender: "human"|"assistant", text, content: [{type,
 *   text}], created_at, parent_message_uuid?}]}; without parent ids the messages form one line.
 * - Parley (threads.json of an account zip, or a thread's JSON export): server/export/format.ts.
 */
import type { ImportedMessage } from '../conversations/writes';
import type { ExportThread } from '../export/format';
import { ImportError } from './streams';

export interface ImportedThread {
  importKey: string;
  title: string;
  model: string | null;
  systemPrompt: string;
  createdAt: string;
  updatedAt: string;
  pinned?: boolean;
  archived?: boolean;
  messages: (ImportedMessage & { images: { ref: string; name: string }[] })[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

function time(v: unknown, fallback: string): string {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return new Date(v * 1000).toISOString();
  if (typeof v === 'string' && v) {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  return fallback;
}

export type Format = 'chatgpt' | 'claude' | 'parley';

export function detect(item: unknown, n: number): Format {
  if (!isObject(item)) throw new ImportError(`item ${n} is not an object`);
  if ('mapping' in item || 'conversation_id' in item) return 'chatgpt';
  if ('chat_messages' in item) return 'claude';
  if ('messages' in item && 'id' in item) return 'parley';
  throw new ImportError(`item ${n} is not a ChatGPT, Claude or Parley conversation (no mapping, chat_messages or messages)`);
}

const DUMMY = new Date(0).toISOString();

/** A ChatGPT content object as Markdown text, plus the image pointers it holds. */
function chatgptContent(content: unknown): { text: string; images: { ref: string; name: string }[] } | null {
  if (!isObject(content)) return null;
  const type = str(content.content_type);
  const images: { ref: string; name: string }[] = [];
  if (type === 'text' || type === 'multimodal_text') {
    const parts = Array.isArray(content.parts) ? content.parts : [];
    const texts: string[] = [];
    for (const p of parts) {
      if (typeof p === 'string') texts.push(p);
      else if (isObject(p) && typeof p.asset_pointer === 'string') {
        const ref = p.asset_pointer.replace(/^[a-z-]+:\/\//, '');
        images.push({ ref, name: str((p.metadata as Json | undefined)?.dalle ? 'dalle.png' : '') || `${ref}.png` });
      }
    }
    return { text: texts.join('\n').trim(), images };
  }
  if (type === 'code') {
    const text = str(content.text);
    return { text: text ? '```' + str(content.language).replace(/^unknown$/, '') + '\n' + text + '\n```' : '', images };
  }
  return null; // tool output, browsing, reasoning: not part of the conversation we keep
}

export function fromChatGPT(c: Json, n: number): ImportedThread {
  const mapping = c.mapping;
  if (!isObject(mapping)) throw new ImportError(`conversation ${n} ("${str(c.title)}") has no mapping of messages`);
  const id = str(c.conversation_id) || str(c.id);
  if (!id) throw new ImportError(`conversation ${n} ("${str(c.title)}") has no id`);
  const created = time(c.create_time, DUMMY);
  const updated = time(c.update_time, created);
  const kept = new Map<string, ImportedThread['messages'][number]>();
  let systemPrompt = '';
  for (const [key, node] of Object.entries(mapping)) {
    if (!isObject(node)) throw new ImportError(`conversation ${n} ("${str(c.title)}"): node ${key} is not an object`);
    const message = node.message;
    if (!isObject(message)) continue;
    const role = str((message.author as Json | undefined)?.role);
    const metadata = isObject(message.metadata) ? message.metadata : {};
    if (metadata.is_visually_hidden_from_conversation) continue;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') continue;
    const content = chatgptContent(message.content);
    if (!content || (!content.text && !content.images.length)) continue;
    // A system message (custom instructions) is the thread's system prompt, not a message.
    if (role === 'system') {
      if (!systemPrompt && content.text) systemPrompt = content.text;
      continue;
    }
    kept.set(key, {
      sourceId: key,
      parentSourceId: null,
      role,
      content: content.text,
      model: role === 'assistant' && str(metadata.model_slug) ? `openai:${str(metadata.model_slug)}` : null,
      createdAt: time(message.create_time, created),
      attachments: [],
      images: content.images,
    });
  }
  // Each kept message hangs on its nearest kept ancestor.
  for (const [key, m] of kept) {
    let parent = (mapping[key] as Json).parent;
    const seen = new Set<string>();
    while (typeof parent === 'string' && !kept.has(parent) && !seen.has(parent)) {
      seen.add(parent);
      const node = mapping[parent];
      parent = isObject(node) ? node.parent : null;
    }
    m.parentSourceId = typeof parent === 'string' && kept.has(parent) ? parent : null;
  }
  const messages = [...kept.values()];
  const last = messages.reduce((a, m) => (m.model ? m.model : a), null as string | null);
  return { importKey: `chatgpt:${id}`, title: str(c.title).slice(0, 200), model: last, systemPrompt, createdAt: created, updatedAt: updated, messages };
}

const CLAUDE_ROOT = '00000000-0000-4000-8000-000000000000';

export function fromClaude(c: Json, n: number): ImportedThread {
  const id = str(c.uuid);
  if (!id) throw new ImportError(`conversation ${n} ("${str(c.name)}") has no uuid`);
  if (!Array.isArray(c.chat_messages)) throw new ImportError(`conversation ${n} ("${str(c.name)}"): chat_messages is not a list`);
  const created = time(c.created_at, DUMMY);
  const updated = time(c.updated_at, created);
  const ids = new Set<string>();
  let previous: string | null = null;
  const messages: ImportedThread['messages'] = [];
  c.chat_messages.forEach((raw, i) => {
    if (!isObject(raw)) throw new ImportError(`conversation ${n} ("${str(c.name)}"): message ${i + 1} is not an object`);
    const sender = str(raw.sender);
    if (sender !== 'human' && sender !== 'assistant') {
      throw new ImportError(`conversation ${n} ("${str(c.name)}"): message ${i + 1} has sender "${sender}", not human or assistant`);
    }
    const parts = Array.isArray(raw.content)
      ? raw.content.filter((p): p is Json => isObject(p) && p.type === 'text').map((p) => str(p.text))
      : [];
    const text = (parts.length ? parts.join('\n\n') : str(raw.text)).trim();
    const files = [...(Array.isArray(raw.attachments) ? raw.attachments : []), ...(Array.isArray(raw.files) ? raw.files : [])]
      .filter(isObject)
      .map((f) => str(f.file_name))
      .filter(Boolean);
    const body = files.length ? `${text}${text ? '\n\n' : ''}${files.map((f) => `📎 ${f}`).join('\n')}` : text;
    const sourceId = str(raw.uuid) || `${id}#${i}`;
    const declared = str(raw.parent_message_uuid);
    const parent = declared && declared !== CLAUDE_ROOT ? (ids.has(declared) ? declared : previous) : declared === CLAUDE_ROOT ? null : previous;
    ids.add(sourceId);
    previous = sourceId;
    messages.push({
      sourceId,
      parentSourceId: parent,
      role: sender === 'human' ? 'user' : 'assistant',
      content: body,
      model: null,
      createdAt: time(raw.created_at, created),
      attachments: [],
      images: [],
    });
  });
  return { importKey: `claude:${id}`, title: str(c.name).slice(0, 200), model: null, systemPrompt: '', createdAt: created, updatedAt: updated, messages };
}

export function fromParley(t: Json, n: number): ImportedThread {
  const x = t as unknown as ExportThread;
  if (typeof x.id !== 'string' || !Array.isArray(x.messages)) throw new ImportError(`thread ${n} has no id or no messages list`);
  const created = time(x.createdAt, DUMMY);
  const ids = new Set(x.messages.map((m) => (isObject(m) ? str(m.id) : '')));
  return {
    importKey: `parley:${x.id}`,
    title: str(x.title).slice(0, 200),
    model: typeof x.model === 'string' ? x.model : null,
    systemPrompt: str(x.systemPrompt).slice(0, 20000),
    createdAt: created,
    updatedAt: time(x.updatedAt, created),
    pinned: x.pinned === true,
    archived: x.archived === true,
    messages: x.messages.map((m, i) => {
      if (!isObject(m) || !str(m.id)) throw new ImportError(`thread ${n} ("${str(x.title)}"): message ${i + 1} has no id`);
      const role = str(m.role);
      if (role !== 'user' && role !== 'assistant' && role !== 'system') {
        throw new ImportError(`thread ${n} ("${str(x.title)}"): message ${i + 1} has role "${role}"`);
      }
      const parent = str(m.parentId);
      return {
        sourceId: str(m.id),
        parentSourceId: parent && ids.has(parent) ? parent : null,
        role,
        content: str(m.content),
        model: typeof m.model === 'string' ? m.model : null,
        createdAt: time(m.createdAt, created),
        attachments: [],
        images: (Array.isArray(m.attachments) ? m.attachments : [])
          .filter(isObject)
          .filter((a) => str(a.path))
          .map((a) => ({ ref: str(a.path), name: str(a.name) })),
      };
    }),
  };
}

export function convert(item: unknown, n: number): ImportedThread {
  const format = detect(item, n);
  const c = item as Json;
  return format === 'chatgpt' ? fromChatGPT(c, n) : format === 'claude' ? fromClaude(c, n) : fromParley(c, n);
}
