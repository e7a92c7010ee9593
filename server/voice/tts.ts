/** Text-to-speech through the engine chosen by `config.voice.tts`. */
import type { Config } from '../config';
import { HttpError, badGateway } from '../errors';
import { Espeak, type SpeechAudio } from './espeak';
import type { TtsProvider, Voice } from './model';
import { relayAfterFirstChunk } from './relay';
import { Deadline, mistralClient, openaiClient, upstreamFailure } from './upstream';
import { DEFAULT_VOICE, MISTRAL_VOICES, OPENAI_VOICES } from './voices';

export const OPENAI_TTS_MODEL = 'gpt-4o-mini-tts';
export const MISTRAL_TTS_MODEL = 'voxtral-mini-tts-3-0';

export interface Tts {
  provider: TtsProvider | null;
  voices(): Promise<Voice[]>;
  defaultVoice: string | null;
  /** Resolves when audio has started; the body then streams the rest. */
  speak(text: string, voice: string, clientSignal?: AbortSignal): Promise<SpeechAudio>;
}

export const ttsNotConfigured = () =>
  new HttpError(501, 'tts_not_configured', 'Text-to-speech is not configured on this server');

const audioType = (type: string | null, fallback: string) =>
  type && /^audio\/[a-z0-9.+-]+$/i.test(type.split(';')[0]!.trim()) ? type.split(';')[0]!.trim() : fallback;

export function createTts(config: Config): Tts {
  const timeoutMs = config.voice.timeoutMs;

  const openai = config.voice.tts === 'openai' ? openaiClient(config) : null;
  if (openai) {
    return {
      provider: 'openai',
      voices: async () => OPENAI_VOICES,
      defaultVoice: DEFAULT_VOICE.openai,
      async speak(text, voice, clientSignal) {
        const deadline = new Deadline(timeoutMs, clientSignal);
        try {
          const response = await openai.audio.speech.create(
            { model: OPENAI_TTS_MODEL, voice, input: text, response_format: 'mp3' },
            { signal: deadline.signal },
          );
          if (!response.body) throw badGateway('The text-to-speech provider (openai) sent no audio');
          const body = await relayAfterFirstChunk(response.body, timeoutMs);
          if (!body) throw badGateway('The text-to-speech provider (openai) sent no audio');
          return { contentType: audioType(response.headers.get('content-type'), 'audio/mpeg'), body };
        } catch (error) {
          throw upstreamFailure(error, 'text-to-speech', 'openai', deadline);
        } finally {
          // From the first byte on, a stall is caught by the relay; a long reply may take longer than
          // the deadline to arrive in full. The client's disconnect still aborts the download.
          deadline.clear();
        }
      },
    };
  }

  const mistral = config.voice.tts === 'mistral' ? mistralClient(config) : null;
  if (mistral) {
    return {
      provider: 'mistral',
      voices: async () => MISTRAL_VOICES,
      defaultVoice: DEFAULT_VOICE.mistral,
      async speak(text, voice, clientSignal) {
        const deadline = new Deadline(timeoutMs, clientSignal);
        try {
          // Mistral answers the whole clip at once, base64 in JSON.
          const result = await mistral.audio.speech.complete(
            { model: MISTRAL_TTS_MODEL, input: text, voiceId: voice, responseFormat: 'mp3' },
            { signal: deadline.signal, retries: { strategy: 'none' } },
          );
          const bytes = typeof result.audioData === 'string' ? Buffer.from(result.audioData, 'base64') : null;
          if (!bytes?.length) throw badGateway('The text-to-speech provider (mistral) sent no audio');
          return { contentType: 'audio/mpeg', body: new Blob([bytes]).stream() };
        } catch (error) {
          throw upstreamFailure(error, 'text-to-speech', 'mistral', deadline);
        } finally {
          deadline.clear();
        }
      },
    };
  }

  const espeak = config.voice.tts === 'espeak' ? new Espeak() : null;
  if (espeak?.installed) {
    return {
      provider: 'espeak',
      voices: () => espeak.voices(),
      defaultVoice: DEFAULT_VOICE.espeak,
      async speak(text, voice, clientSignal) {
        const deadline = new Deadline(timeoutMs, clientSignal);
        try {
          const audio = await espeak.speak(text, voice, timeoutMs, clientSignal);
          if (!audio) throw badGateway('The local speech engine (espeak-ng) produced no audio');
          return audio;
        } catch (error) {
          throw upstreamFailure(error, 'text-to-speech', 'espeak', deadline);
        } finally {
          deadline.clear();
        }
      },
    };
  }

  return {
    provider: null,
    voices: async () => [],
    defaultVoice: null,
    speak: async () => {
      throw ttsNotConfigured();
    },
  };
}
