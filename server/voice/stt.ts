/** Speech-to-text through the provider chosen by `config.voice.stt`, via the real SDKs. */
import { toFile } from 'openai';
import type { Config } from '../config';
import { HttpError } from '../errors';
import { AUDIO_FORMATS } from './formats';
import type { SttProvider } from './model';
import type { Recording } from './upload';
import { Deadline, mistralClient, openaiClient, upstreamFailure } from './upstream';

export const OPENAI_STT_MODEL = 'whisper-1';
export const MISTRAL_STT_MODEL = 'voxtral-mini-latest';

export type Transcribe = (recording: Recording, clientSignal?: AbortSignal) => Promise<string>;

export interface Stt {
  provider: SttProvider | null;
  transcribe: Transcribe;
}

export const sttNotConfigured = () =>
  new HttpError(501, 'stt_not_configured', 'Speech-to-text is not configured on this server');

export function createStt(config: Config): Stt {
  const timeoutMs = config.voice.timeoutMs;
  // The file is named after what its bytes are, never after what the client called it.
  const fileName = (r: Recording) => `recording.${AUDIO_FORMATS[r.format].ext}`;

  async function call(provider: SttProvider, clientSignal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<string>) {
    const deadline = new Deadline(timeoutMs, clientSignal);
    try {
      const text = await run(deadline.signal);
      if (typeof text !== 'string') throw new Error('no text in the answer');
      return text.trim();
    } catch (error) {
      throw upstreamFailure(error, 'speech-to-text', provider, deadline);
    } finally {
      deadline.clear();
    }
  }

  const openai = config.voice.stt === 'openai' ? openaiClient(config) : null;
  if (openai) {
    return {
      provider: 'openai',
      transcribe: (recording, clientSignal) =>
        call('openai', clientSignal, async (signal) => {
          const file = await toFile(recording.bytes, fileName(recording), { type: AUDIO_FORMATS[recording.format].mime });
          const result = await openai.audio.transcriptions.create(
            { file, model: OPENAI_STT_MODEL, ...(recording.language ? { language: recording.language } : {}) },
            { signal },
          );
          return result.text;
        }),
    };
  }

  const mistral = config.voice.stt === 'mistral' ? mistralClient(config) : null;
  if (mistral) {
    return {
      provider: 'mistral',
      transcribe: (recording, clientSignal) =>
        call('mistral', clientSignal, async (signal) => {
          const result = await mistral.audio.transcriptions.complete(
            {
              model: MISTRAL_STT_MODEL,
              file: { fileName: fileName(recording), content: recording.bytes },
              ...(recording.language ? { language: recording.language } : {}),
            },
            { signal, retries: { strategy: 'none' } },
          );
          return result.text;
        }),
    };
  }

  return {
    provider: null,
    transcribe: async () => {
      throw sttNotConfigured();
    },
  };
}
