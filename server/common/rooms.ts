/**
 * What calls the assistant into a room, and the room's commands: pure code the
 * server acts on and the app shows (the composer's hint), so both agree.
 */

/** `@ai` or `@assistant` anywhere, `ai:` at the start, or "hey ai" anywhere (any case). */
export function mentionsAssistant(text: string): boolean {
  return /(^|[\s(])@(ai|assistant)\b/i.test(text) || /^\s*ai\s*:/i.test(text) || /\bhey,?\s+ai\b/i.test(text);
}

export const isHelp = (text: string) => /^\s*!help\s*$/i.test(text);

export const HELP_TEXT = [
  'Commands in this room:',
  '- `@ai …`, `@assistant …`, `ai: …` or `hey ai …`: ask the assistant. It answers everyone here, with the room’s model and instructions and the recent messages.',
  '- `!help`: show this list.',
].join('\n');

/** The handles a message mentions, lower-cased, without the `@` (`@ai`/`@assistant` included). */
export function mentionedHandles(text: string): Set<string> {
  const found = new Set<string>();
  for (const m of text.matchAll(/(?:^|[^\p{L}\p{N}_.@-])@([\p{L}\p{N}_.-]+)/gu)) {
    found.add(m[1]!.replace(/[.-]+$/, '').toLowerCase());
  }
  return found;
}

/**
 * The handles that mention a person: the first word of their name ("@ada" for "Ada
 * Lovelace") and the whole name without spaces ("@adalovelace"); `name` is the one
 * rooms show (a member without a name goes by their email's local part). Lower-cased.
 */
export function handlesOf(name: string): string[] {
  const words = name.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  return [...new Set([words[0]!, words.join('')])];
}

/** Whether a message mentions this person (`@ai` and `@assistant` name the assistant, nobody else). */
export function mentions(text: string, name: string, handles = mentionedHandles(text)): boolean {
  return handlesOf(name).some((h) => h !== 'ai' && h !== 'assistant' && handles.has(h));
}
