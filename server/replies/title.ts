/**
 * Thread titles. The first message gives a provisional title at once (so a new
 * thread never shows as "Untitled" in the list); after the first reply, the model
 * is asked for a short one, which replaces the provisional title unless the user
 * renamed the thread meanwhile, and is sent to the client as a `title` event
 * before the reply's stream ends.
 */
import { setGeneratedTitle } from '../conversations/writes';
import type { CompletionStep, RunnerDeps } from './types';

const TITLE_TIMEOUT_MS = 15_000;

/** The first message, on one line, cut at a word near 60 characters (the web makes the same one offline). */
export { provisionalTitle } from '../common/titles';

/** A model's answer as a title: no quotes, markup, "Title:" or final period; at most 80 characters. */
export function tidyTitle(raw: string): string {
  return raw
    .replace(/^["'“”«»\s#*]+|["'“”«»\s.*]+$/g, '')
    .replace(/^title:\s*/i, '')
    .replace(/\s+/g, ' ')
    .slice(0, 80)
    .trim();
}

/** The model's title for a conversation that begins with `firstMessage`; '' when it gives none. */
async function askTitle(deps: RunnerDeps, userId: string, model: string, firstMessage: string) {
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
      else if (event.type === 'error') return '';
      if (text.length > 200) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return tidyTitle(text);
}

/**
 * The completion step that names a new thread, whose row holds `provisional` for now:
 * it asks the reply's model, stores the title unless the user renamed the thread
 * meanwhile, and answers the `title` event.
 */
export function nameThread(deps: RunnerDeps, provisional: string): CompletionStep {
  return async ({ userId, threadId, message, context }) => {
    if (!message.model) return null;
    const first = context.findLast((m) => m.role === 'user');
    const text = typeof first?.content === 'string' ? first.content : '';
    const title = await askTitle(deps, userId, message.model, text);
    if (!title) return null;
    const stored = await setGeneratedTitle(deps.sql, userId, threadId, title, provisional);
    return stored ? { event: 'title', data: { threadId, title } } : null;
  };
}
