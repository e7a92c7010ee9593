/**
 * "Read aloud" for one message: its plain text, sentence by sentence (long messages start
 * speaking after the first sentence, not after the whole text). One reading at a time:
 * starting another stops the first.
 */
import { voiceInfo } from './info';
import { SentenceSplitter } from './sentences';
import { Speaker } from './speaker';

export interface Reading {
  stop(): void;
}

let current: { speaker: Speaker; ended: () => void } | null = null;

export async function readAloud(
  markdown: string,
  hooks: { onplaying?: () => void; onend: () => void; onerror: (message: string) => void },
  /** A voice of its own (a room's); otherwise the person's. */
  voice?: string | null,
): Promise<Reading> {
  current?.speaker.stop();
  current?.ended();
  const info = await voiceInfo();
  if (!info.tts) throw new Error("Reading aloud isn't available: this server has no text-to-speech.");
  const sentences = SentenceSplitter.split(markdown, { maxChars: Math.min(info.maxTextChars, 600) });
  if (!sentences.length) throw new Error('There is nothing to read aloud in this message.');
  let finished = false;
  const ended = () => {
    if (finished) return;
    finished = true;
    if (current?.speaker === speaker) current = null;
    hooks.onend();
  };
  const speaker: Speaker = new Speaker({
    voice: voice || info.voice,
    onplaying: hooks.onplaying,
    onidle: ended,
    onerror: (message, fatal) => {
      hooks.onerror(message);
      if (fatal || !speaker.busy) {
        speaker.stop();
        ended();
      }
    },
  });
  current = { speaker, ended };
  for (const s of sentences) speaker.say(s);
  return {
    stop() {
      speaker.stop();
      ended();
    },
  };
}
