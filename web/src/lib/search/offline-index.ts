/**
 * Search without a network: a MiniSearch index over the offline mirror's thread titles and
 * messages, built the first time search is used offline (this module, and MiniSearch, load
 * only then) and rebuilt when the mirror has changed since.
 */
import MiniSearch from 'minisearch';
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

let built: { key: string; index: MiniSearch<Doc>; docs: Map<string, Doc>; titles: Map<string, string> } | null = null;

const tokenize = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];

async function indexFor(mirror: Mirror) {
  const [threads, messages] = await Promise.all([mirror.threads(), mirror.allMessages()]);
  const key = `${mirror.userId}:${threads.length}:${messages.length}:${await mirror.cursor()}`;
  if (built?.key === key) return built;
  const index = new MiniSearch<Doc>({
    fields: ['text'],
    storeFields: [],
    tokenize,
    searchOptions: { prefix: true, combineWith: 'AND', boost: {} },
  });
  const docs = new Map<string, Doc>();
  const titles = new Map<string, string>();
  for (const t of threads) {
    titles.set(t.id, t.title);
    docs.set(`t:${t.id}`, { id: `t:${t.id}`, threadId: t.id, messageId: null, text: t.title, createdAt: t.updatedAt });
  }
  for (const m of messages) {
    if (!m.content) continue;
    docs.set(m.id, { id: m.id, threadId: m.threadId, messageId: m.id, text: m.content, createdAt: m.createdAt });
  }
  await index.addAllAsync([...docs.values()], { chunkSize: 500 });
  built = { key, index, docs, titles };
  return built;
}

export async function searchOffline(mirror: Mirror, query: string, limit = 20): Promise<OfflineResult[]> {
  const terms = tokenize(query);
  if (!terms.length) return [];
  const { index, docs, titles } = await indexFor(mirror);
  return index
    .search(terms.join(' '), { prefix: (term: string) => term === terms[terms.length - 1], combineWith: 'AND' })
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
