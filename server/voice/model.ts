/** Schemas and limits of the voice feature; the types come from the schemas. */
import { t } from 'elysia';

/** The largest recording accepted (OpenAI's own limit), counted on the bytes read. */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
/** Room for the multipart boundaries, part headers and the `language` field around the file. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
/** The longest text spoken in one request, in characters (code points), as OpenAI counts them. */
export const MAX_SPEECH_CHARS = 4096;

/** Per-user limits, per 10 minutes: a long voice call stays far below them, a runaway script does not. */
export const RATE_WINDOW_SECONDS = 600;
export const TRANSCRIPTIONS_PER_WINDOW = 60;
export const SPEECHES_PER_WINDOW = 300;

export const SpeechBody = t.Object({
  // The character count is checked in the service (code points, not UTF-16 units); this bound
  // only keeps an absurd body from reaching it.
  text: t.String({ maxLength: MAX_SPEECH_CHARS * 2, error: `must be 1 to ${MAX_SPEECH_CHARS} characters` }),
  voice: t.Optional(t.String({ minLength: 1, maxLength: 100, error: 'must be one of the listed voices' })),
});
export type SpeechBody = typeof SpeechBody.static;

export const Voice = t.Object({
  id: t.String(),
  name: t.String(),
  language: t.Union([t.String(), t.Null()]),
});
export type Voice = typeof Voice.static;

export type SttProvider = 'openai' | 'mistral';
export type TtsProvider = 'openai' | 'mistral' | 'espeak';
