/**
 * Search without a network: a MiniSearch index over the offline mirror's thread titles and
 * messages, built the first time search is used offline (this module, and MiniSearch, load
 * only then) and rebuilt when the mirror has changed since.
 *
 * The build never holds the page for long: messages are read from IndexedDB a page at a
 * time and indexed between yields to the event loop, with progress reported as it goes
 * (the dialog shows "Indexing… n %"). Whether the mirror changed is told by counts and the
 * sync cursor, cheap IndexedDB reads, so a query on a built index reads nothing else.
 */
import MiniSearch from 'minisearch';
import type { Message } from '$server/threads/model';
import type { Mirror } from '$lib/offline/mirror';
import { runsAround, type Run } from './snippet';

export interface OfflineResult {
  threadId: string;
  messageId: string | null;
  title: string;
  runs: Run[];
  createdAt: string;
}

interface Doc {
  id: string;
  threadId: string;
  messageId: string | null;
  text: string;
  createdAt: string;
}

/** Progress of a build: documents indexed so far of the total. */
export type IndexProgress = (done: number, total: number) => void;

interface Built {
  key: string;
  index: MiniSearch<Doc>;
  docs: Map<string, Doc>;
  titles: Map<string, string>;
}

/** Messages read (and indexed) per step; each step is a few tens of milliseconds at most. */
const PAGE = 1000;

let built: Built | null = null;
let building: { key: string; done: Promise<Built>; listeners: Set<IndexProgress> } | null = null;

const tokenize = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
const yieldToPage = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function mirrorKey(mirror: Mirror) {
  const db = await mirror.db();
  if (!db) return { key: `${mirror.userId}:closed`, messages: 0 };
  const [threads, messages, cursor] = await Promise.all([db.count('threads'), db.count('messages'), mirror.cursor()]);
  return { key: `${mirror.userId}:${threads}:${messages}:${cursor}`, messages };
}

async function build(mirror: Mirror, total: number, key: string, progress: IndexProgress): Promise<Built> {
  const index = new MiniSearch<Doc>({ fields: ['text'], storeFields: [], tokenize, searchOptions: { prefix: true, combineWith: 'AND' } });
  const docs = new Map<string, Doc>();
  const titles = new Map<string, string>();
  const threads = await mirror.threads();
  const titleDocs: Doc[] = threads.map((t) => {
    titles.set(t.id, t.title);
    return { id: `t:${t.id}`, threadId: t.id, messageId: null, text: t.title, createdAt: t.updatedAt };
  });
  for (const d of titleDocs) docs.set(d.id, d);
  index.addAll(titleDocs);
  let done = 0;
  progress(done, total);
  // Page through the messages by key: one IndexedDB read and one slice of indexing per step.
  let after: string | null = null;
  for (;;) {
    const db = await mirror.db();
    if (!db) break;
    const page: Message[] = await db.getAll('messages', after === null ? undefined : IDBKeyRange.lowerBound(after, true), PAGE);
    if (!page.length) break;
    after = page[page.length - 1]!.id;
    const slice: Doc[] = [];
    for (const m of page) {
      if (!m.content || docs.has(m.id)) continue;
      const doc = { id: m.id, threadId: m.threadId, messageId: m.id, text: m.content, createdAt: m.createdAt };
      docs.set(m.id, doc);
      slice.push(doc);
    }
    index.addAll(slice);
    done += page.length;
    progress(Math.min(done, total), total);
    await yieldToPage();
  }
  return { key, index, docs, titles };
}

/** The index for the mirror as it is now: the one built, the one being built, or a new build. */
export async function indexFor(mirror: Mirror, progress?: IndexProgress): Promise<Built> {
  const { key, messages } = await mirrorKey(mirror);
  if (built?.key === key) return built;
  if (building?.key !== key) {
    const listeners = new Set<IndexProgress>();
    const done = build(mirror, messages, key, (d, t) => listeners.forEach((l) => l(d, t)));
    building = { key, done, listeners };
    done.then(
      (b) => {
        if (building?.done === done) building = null;
        built = b;
      },
      () => {
        if (building?.done === done) building = null;
      },
    );
  }
  const current = building;
  if (progress) current.listeners.add(progress);
  try {
    return await current.done;
  } finally {
    if (progress) current.listeners.delete(progress);
  }
}

export async function searchOffline(mirror: Mirror, query: string, limit = 20, progress?: IndexProgress): Promise<OfflineResult[]> {
  const terms = tokenize(query);
  if (!terms.length) return [];
  const { index, docs, titles } = await indexFor(mirror, progress);
  const last = terms[terms.length - 1]!;
  return index
    .search(terms.join(' '), {
      // As on the server: the last word is a prefix (it is being typed) once it has 3 letters.
      prefix: (term: string) => term === last && last.length >= 3,
      combineWith: 'AND',
    })
    .slice(0, limit)
    .map((hit) => {
      const doc = docs.get(String(hit.id))!;
      return {
        threadId: doc.threadId,
        messageId: doc.messageId,
        title: titles.get(doc.threadId) ?? '',
        runs: runsAround(doc.text, hit.terms.length ? hit.terms : terms),
        createdAt: doc.createdAt,
      };
    });
}
