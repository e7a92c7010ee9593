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
}, { title: 'Voice' });
export type Voice = typeof Voice.static;

export const SttProvider = t.Union([t.Literal('openai'), t.Literal('mistral')]);
export type SttProvider = typeof SttProvider.static;
export const TtsProvider = t.Union([t.Literal('openai'), t.Literal('mistral'), t.Literal('espeak')]);
export type TtsProvider = typeof TtsProvider.static;

/** GET /api/voice: which speech engines the server has, and the voices of its text-to-speech. */
export const VoiceInfo = t.Object({
  stt: t.Union([SttProvider, t.Null()]),
  tts: t.Union([TtsProvider, t.Null()]),
  voices: t.Array(Voice),
  defaultVoice: t.Union([t.String(), t.Null()]),
  /** The voice this user's speech requests get when they name none (their saved one if the engine has it). */
  voice: t.Union([t.String(), t.Null()]),
  maxUploadBytes: t.Integer(),
  maxTextChars: t.Integer(),
  /** The recording types POST /api/voice/transcriptions accepts. */
  uploadTypes: t.Array(t.String()),
});
export type VoiceInfo = typeof VoiceInfo.static;

/** POST /api/voice/transcriptions answers the recording's text. */
export const Transcription = t.Object({ text: t.String() });
export type Transcription = typeof Transcription.static;

/**
 * The fields of the multipart body of POST /api/voice/transcriptions. The route reads the
 * body itself under a byte cap (parse: 'none'), so this schema documents it rather than
 * validating it.
 */
export const TranscriptionUpload = t.Object({
  file: t.File({ description: 'webm, ogg, mp4/m4a, mpeg or wav; at most 25 MB' }),
  language: t.Optional(t.String({ description: 'an ISO 639-1 hint such as en' })),
});
