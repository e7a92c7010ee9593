/**
 * The voice feature's logic: which engines are active, which voice a user gets,
 * the per-user limits, and the calls themselves. Never sees Elysia's Context.
 */
import type { Config } from '../config';
import type { Sql } from '../db';
import { badRequest } from '../errors';
import { enforce } from '../infra/rate-limit';
import { ACCEPTED_TYPES } from './formats';
import {
  MAX_SPEECH_CHARS,
  MAX_UPLOAD_BYTES,
  RATE_WINDOW_SECONDS,
  SPEECHES_PER_WINDOW,
  TRANSCRIPTIONS_PER_WINDOW,
  type SpeechBody,
} from './model';
import { getSettings } from '../settings';
import { createStt, type Stt } from './stt';
import { createTts, type Tts } from './tts';
import type { Recording } from './upload';
import { asEnvironment, type Connections } from '../connections/service';

export function createVoiceService(config: Config, sql: Sql, connections?: Connections) {
  const envStt = createStt(config);
  const envTts = createTts(config);
  const built = new Map<string, { stamp: string; engine: Stt | Tts }>();

  /** The engine for a purpose: the connection marked for it (or the first with it), else the environment's. */
  async function engine<E extends Stt | Tts>(purpose: 'stt' | 'tts', env: E, make: (c: Config) => E): Promise<E> {
    const c = connections ? await connections.forPurpose(purpose).catch(() => null) : null;
    if (!c) return env;
    const stamp = `${c.row.id}:${c.row.updatedAt}`;
    const known = built.get(purpose);
    if (known?.stamp === stamp) return known.engine as E;
    const engine = make(asEnvironment(config, c, purpose));
    built.set(purpose, { stamp, engine });
    return engine;
  }
  const sttNow = () => engine<Stt>('stt', envStt, createStt);
  const ttsNow = () => engine<Tts>('tts', envTts, createTts);
  const savedVoice = async (userId: string) => (await getSettings(sql, userId)).voice;

  /** The user's saved voice if this engine has it, else the one asked for, else the engine's default. */
  async function chooseVoice(tts: Tts, userId: string, requested: string | undefined): Promise<string> {
    const voices = await tts.voices();
    const known = (id: string | null | undefined) => !!id && voices.some((v) => v.id === id);
    // A voice asked for is checked even when the saved one wins: bad input is always said so.
    if (requested !== undefined && !known(requested)) {
      throw badRequest({ voice: `must be one of: ${voices.map((v) => v.id).join(', ')}` });
    }
    const saved = await savedVoice(userId);
    if (known(saved)) return saved!;
    return requested ?? tts.defaultVoice!;
  }

  return {
    async info(userId: string) {
      const [stt, tts] = await Promise.all([sttNow(), ttsNow()]);
      const voices = await tts.voices();
      const saved = tts.provider ? await savedVoice(userId) : null;
      return {
        stt: stt.provider,
        tts: tts.provider,
        voices,
        defaultVoice: tts.defaultVoice,
        // The voice this user's speech requests get when they name none.
        voice: saved && voices.some((v) => v.id === saved) ? saved : tts.defaultVoice,
        maxUploadBytes: MAX_UPLOAD_BYTES,
        maxTextChars: MAX_SPEECH_CHARS,
        uploadTypes: ACCEPTED_TYPES,
      };
    },

    limitTranscriptions: (userId: string) =>
      enforce(sql, [{ key: `voice:stt:${userId}`, max: TRANSCRIPTIONS_PER_WINDOW, windowSeconds: RATE_WINDOW_SECONDS }]),

    limitSpeech: (userId: string) =>
      enforce(sql, [{ key: `voice:tts:${userId}`, max: SPEECHES_PER_WINDOW, windowSeconds: RATE_WINDOW_SECONDS }]),

    /** Fails fast with 501 before a recording is read when no engine is configured. */
    async sttConfigured() {
      return (await sttNow()).provider !== null;
    },

    async transcribe(recording: Recording, clientSignal?: AbortSignal) {
      return { text: await (await sttNow()).transcribe(recording, clientSignal) };
    },

    async speak(userId: string, body: SpeechBody, clientSignal?: AbortSignal) {
      const characters = [...body.text].length;
      if (characters === 0 || characters > MAX_SPEECH_CHARS || body.text.trim() === '') {
        throw badRequest({ text: `must be 1 to ${MAX_SPEECH_CHARS} characters of text` });
      }
      // No engine: answer 501 before judging the voice against an empty list.
      const tts = await ttsNow();
      if (!tts.provider) return tts.speak(body.text, '', clientSignal);
      const voice = await chooseVoice(tts, userId, body.voice);
      return tts.speak(body.text, voice, clientSignal);
    },
  };
}

export type VoiceService = ReturnType<typeof createVoiceService>;
