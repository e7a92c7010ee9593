/**
 * Thread titles. The first message gives a provisional title at once (so a new
 * thread never shows as "Untitled" in the list); after the first reply, the model
 * is asked for a short one, which replaces the provisional title unless the user
 * renamed the thread meanwhile.
 */
import { nextSeq } from '../infra/seq';
import type { Thread } from '../threads/model';
import type { ReplyDeps } from './service';

const TITLE_TIMEOUT_MS = 15_000;

export function provisionalTitle(content: string): string {
  const oneLine = content.replace(/\s+/g, ' ').trim();
  if (oneLine.length <= 60) return oneLine || 'New chat';
  const cut = oneLine.slice(0, 60);
  const space = cut.lastIndexOf(' ');
  return (space > 30 ? cut.slice(0, space) : cut) + '…';
}

function tidy(raw: string): string {
  return raw
    .replace(/^["'“”«»\s#*]+|["'“”«»\s.*]+$/g, '')
    .replace(/^title:\s*/i, '')
    .replace(/\s+/g, ' ')
    .slice(0, 80)
    .trim();
}

export async function maybeGenerateTitle(
  deps: ReplyDeps,
  userId: string,
  thread: Thread,
  firstMessage: string,
  model: string | null,
) {
  if (!model) return;
  const provisional = thread.title;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort('timeout'), TITLE_TIMEOUT_MS);
  let text = '';
  try {
    const prompt = [
      {
        role: 'system' as const,
        content: 'You name conversations. Answer with a title of at most six words, no quotes, no punctuation at the end.',
      },
      { role: 'user' as const, content: `Name the conversation that begins with this message:\n\n${firstMessage.slice(0, 1500)}` },
    ];
    for await (const event of deps.providers.stream(userId, model, prompt, abort.signal)) {
      if (event.type === 'delta') text += event.text;
      else if (event.type === 'error') return;
      if (text.length > 200) break;
    }
  } finally {
    clearTimeout(timer);
  }
  const title = tidy(text);
  if (!title) return;
  await deps.sql.begin(async (tx) => {
    const seq = await nextSeq(tx, userId);
    // Only if the title is still the provisional one: a rename by the user wins.
    await tx`
      update threads set title = ${title}, seq = ${seq}
      where id = ${thread.id} and user_id = ${userId} and title = ${provisional}`;
  });
}
