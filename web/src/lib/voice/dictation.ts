/**
 * Dictation into the message box: hold (or tap) the microphone, speak, and the words are
 * typed in. Unlike a call, the microphone is released after each dictation, so its
 * indicator never stays on while someone is just reading a thread.
 */
import { voiceError } from './errors';
import { Listener, type Heard } from './listener';

export class Dictation {
  #listener: Listener | null = null;

  get engine() {
    return this.#listener?.engine ?? null;
  }

  /** Starts listening; resolves once the microphone is really recording. */
  async begin(oninterim?: (text: string) => void) {
    if (!navigator.onLine) throw voiceError('offline');
    this.#listener ??= await Listener.create();
    await this.#listener.begin(oninterim);
  }

  async end(): Promise<Heard> {
    const listener = this.#listener;
    if (!listener?.listening) return { text: '' };
    try {
      return await listener.end();
    } finally {
      listener.close();
    }
  }

  level() {
    return this.#listener?.level() ?? 0;
  }

  cancel() {
    this.#listener?.close();
  }
}
