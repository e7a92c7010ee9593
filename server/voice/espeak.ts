/**
 * Local text-to-speech with espeak-ng, transcoded by ffmpeg when it is installed.
 *
 * The text is user input, so: no shell ever (Bun.spawn with an argv array and
 * absolute binary paths), the text goes on stdin (never in argv, where "--help" or
 * "-w /tmp/x" would read as options), control characters are removed (espeak
 * treats some as embedded commands), the voice is one of our allow-listed ids, the
 * children get an empty environment (no provider keys or APP_SECRET), and every
 * process is killed when the client goes away, the output stalls or a hard cap passes.
 */
import type { Voice } from './model';
import { relayAfterFirstChunk } from './relay';
import { ESPEAK_VOICES } from './voices';

/** However slowly a client reads, no child outlives this. */
const HARD_KILL_MS = 5 * 60_000;
const CHILD_ENV = { LANG: 'C.UTF-8' };

export interface SpeechAudio {
  contentType: string;
  body: ReadableStream<Uint8Array>;
}

type Encoding = { codec: string; format: string; contentType: string; args: string[] };
const MP3: Encoding = { codec: 'libmp3lame', format: 'mp3', contentType: 'audio/mpeg', args: ['-b:a', '48k'] };
const OPUS: Encoding = { codec: 'libopus', format: 'ogg', contentType: 'audio/ogg', args: ['-b:a', '32k'] };

export class Espeak {
  readonly espeakBin = Bun.which('espeak-ng');
  readonly ffmpegBin = Bun.which('ffmpeg');
  #voices: Promise<Voice[]> | null = null;
  #encoding: Promise<Encoding | null> | null = null;

  get installed() {
    return this.espeakBin !== null;
  }

  /** The curated voices that this machine's espeak-ng really has. */
  voices(): Promise<Voice[]> {
    this.#voices ??= (async () => {
      if (!this.espeakBin) return [];
      const proc = Bun.spawn([this.espeakBin, '--voices'], { stdout: 'pipe', stderr: 'ignore', env: CHILD_ENV, timeout: 10_000 });
      const listing = await new Response(proc.stdout).text();
      const installed = new Set(listing.split('\n').slice(1).map((line) => line.trim().split(/\s+/)[1]));
      const available = ESPEAK_VOICES.filter((v) => installed.has(v.id));
      return available.length ? available : ESPEAK_VOICES.slice(0, 1);
    })();
    return this.#voices;
  }

  /** MP3 plays everywhere (Safari included); Opus in Ogg if only that encoder exists; else WAV. */
  encoding(): Promise<Encoding | null> {
    this.#encoding ??= (async () => {
      if (!this.ffmpegBin) return null;
      const proc = Bun.spawn([this.ffmpegBin, '-hide_banner', '-encoders'], { stdout: 'pipe', stderr: 'ignore', env: CHILD_ENV, timeout: 10_000 });
      const encoders = await new Response(proc.stdout).text();
      if (/\blibmp3lame\b/.test(encoders)) return MP3;
      if (/\blibopus\b/.test(encoders)) return OPUS;
      return null;
    })();
    return this.#encoding;
  }

  /** Speaks `text` with an allow-listed `voice`; resolves once audio starts flowing. Null if none came. */
  async speak(text: string, voice: string, idleMs: number, clientSignal?: AbortSignal): Promise<SpeechAudio | null> {
    if (!this.espeakBin) throw new Error('espeak-ng is not installed');
    if (!(await this.voices()).some((v) => v.id === voice)) throw new Error(`voice ${voice} is not allow-listed`);
    const encoding = await this.encoding();
    const children: { kill(): void }[] = [];
    const killAll = () => {
      for (const child of children) child.kill();
    };

    const espeak = Bun.spawn(
      // -b 1: the input is UTF-8. --stdin: the text comes from stdin, only from there.
      [this.espeakBin, '-v', voice, '-b', '1', '--stdin', '--stdout'],
      { stdin: new TextEncoder().encode(speakable(text)), stdout: 'pipe', stderr: 'ignore', env: CHILD_ENV, timeout: HARD_KILL_MS },
    );
    children.push(espeak);
    let output: ReadableStream<Uint8Array> = espeak.stdout;
    let contentType = 'audio/wav';
    if (encoding && this.ffmpegBin) {
      const ffmpeg = Bun.spawn(
        [
          this.ffmpegBin, '-hide_banner', '-loglevel', 'error',
          '-f', 'wav', '-i', 'pipe:0', '-vn', '-ac', '1',
          '-c:a', encoding.codec, ...encoding.args, '-f', encoding.format, 'pipe:1',
        ],
        { stdin: espeak.stdout, stdout: 'pipe', stderr: 'ignore', env: CHILD_ENV, timeout: HARD_KILL_MS },
      );
      children.push(ffmpeg);
      output = ffmpeg.stdout;
      contentType = encoding.contentType;
    }
    clientSignal?.addEventListener('abort', killAll, { once: true });
    const body = await relayAfterFirstChunk(output, idleMs, () => {
      clientSignal?.removeEventListener('abort', killAll);
      killAll();
    });
    return body ? { contentType, body } : null;
  }
}

/**
 * The text as espeak-ng should read it: C0/C1 control characters (espeak's embedded
 * commands start with one) become spaces; line breaks stay.
 */
export function speakable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, ' ');
}
