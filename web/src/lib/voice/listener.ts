/**
 * Push-to-talk input, whichever engine hears it: a recording transcribed by the server, or,
 * when the server has no speech-to-text, the browser's own recognizer. `begin()` on press,
 * `end()` on release gives the text.
 */
import { api, ApiError } from '$lib/api';
import { BrowserListener, browserRecognition } from './browser-stt';
import { micError, voiceError, VoiceError } from './errors';
import { voiceInfo } from './info';
import { mark } from './marks';
import { Recorder } from './recorder';

/** Shorter than this is a slip of the finger, not speech. */
export const MIN_RECORDING_MS = 300;

export interface Heard {
  text: string;
  /** The press was too short to hold speech. */
  tooShort?: boolean;
}

export class Listener {
  readonly engine: 'server' | 'browser';
  #recorder = new Recorder();
  #browser: BrowserListener | null = null;
  #pressedAt = 0;

  private constructor(engine: 'server' | 'browser') {
    this.engine = engine;
  }

  /** Which engine this server and browser allow; a VoiceError ('no-stt') when neither. */
  static async create(): Promise<Listener> {
    const info = await voiceInfo();
    if (info.stt) return new Listener('server');
    if (browserRecognition()) return new Listener('browser');
    throw voiceError('no-stt');
  }

  /** Opens the microphone ahead of the first press (prompting for permission). */
  async prepare() {
    if (this.engine === 'server') await this.#recorder.start();
  }

  /** The microphone stream, once open (server engine only). */
  get stream(): MediaStream | null {
    return this.engine === 'server' ? this.#recorder.stream : null;
  }

  get ready() {
    return this.engine === 'browser' || this.#recorder.open;
  }

  async begin(oninterim?: (text: string) => void) {
    this.#pressedAt = performance.now();
    if (this.engine === 'browser') {
      try {
        this.#browser = new BrowserListener(oninterim);
      } catch (error) {
        throw micError(error);
      }
      return;
    }
    await this.#recorder.start();
    this.#recorder.begin();
  }

  get listening() {
    return this.engine === 'browser' ? this.#browser !== null : this.#recorder.recording;
  }

  /** Stops listening and returns what was said. */
  async end(signal?: AbortSignal): Promise<Heard> {
    if (this.engine === 'browser') {
      const browser = this.#browser;
      this.#browser = null;
      if (!browser) return { text: '' };
      try {
        const text = await browser.stop();
        mark('transcript');
        return { text };
      } catch (error) {
        throw micError(error);
      }
    }
    // Read before waiting: in a hands-free call the next turn may begin meanwhile.
    const pressedAt = this.#pressedAt;
    const recording = await this.#recorder.finish();
    mark('recorded', { durationMs: Math.round(recording.durationMs), bytes: recording.blob.size });
    if (performance.now() - pressedAt < MIN_RECORDING_MS || recording.blob.size === 0) return { text: '', tooShort: true };
    mark('upload-sent');
    try {
      const { text } = await api.voice.transcribe(recording.blob, { filename: recording.filename, signal });
      mark('transcript');
      return { text: text.trim() };
    } catch (error) {
      if (error instanceof ApiError && error.status === 501) throw voiceError('no-stt');
      throw error;
    }
  }

  cancel() {
    this.#browser?.cancel();
    this.#browser = null;
    this.#recorder.cancel();
  }

  level(): number {
    return this.engine === 'server' && this.#recorder.recording ? this.#recorder.level() : 0;
  }

  close() {
    this.cancel();
    this.#recorder.close();
  }
}

export { VoiceError };
