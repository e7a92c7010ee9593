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
