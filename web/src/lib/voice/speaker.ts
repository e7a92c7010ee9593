/**
 * Speaks a stream of sentences: requests each sentence's speech from the server as soon as
 * it is known (a few ahead of what is playing, never the whole reply at once) and plays the
 * clips in order, back to back. While sentence N plays, N+1 and N+2 are already fetched.
 */
import { api, ApiError } from '$lib/api';
import { audioContext } from './audio-context';
import { mark, markOnce } from './marks';
import { ClipPlayer, type Clip } from './player';

/** Sentences fetched ahead of the one playing, and requests in flight at once. */
const AHEAD = 3;
const IN_FLIGHT = 2;

export interface SpeakerHooks {
  /** Audio started (after being idle). */
  onplaying?: () => void;
  /** Everything said so far has been played. */
  onidle?: () => void;
  /** A sentence could not be spoken (it is skipped); `fatal` when no speech will work (no engine). */
  onerror?: (message: string, fatal: boolean) => void;
}

export class Speaker {
  #hooks: SpeakerHooks;
  #voice: string | undefined;
  #player: ClipPlayer;
  #texts: string[] = [];
  #next = 0;
  #done = 0;
  #inFlight = 0;
  #abort = new AbortController();
  #dead = false;

  constructor(opts: { voice?: string | null } & SpeakerHooks = {}) {
    this.#hooks = opts;
    this.#voice = opts.voice ?? undefined;
    this.#player = new ClipPlayer({
      onstart: () => {
        const ctx = audioContext();
        mark('playback-start', { sentence: this.#done, contextState: ctx.state, outputLatency: ctx.outputLatency ?? null });
        this.#hooks.onplaying?.();
      },
      onclipend: () => {
        // Fired by the audio clock itself: proof that a whole clip was played out.
        mark('clip-end', { sentence: this.#done });
        this.#done++;
        this.#pump();
      },
      onidle: () => {
        if (this.#next >= this.#texts.length) this.#hooks.onidle?.();
      },
      onerror: (error) => this.#failed(error),
    });
  }

  /** Sentences given and not yet played (queued, downloading or playing). */
  get busy() {
    return this.#next < this.#texts.length || this.#player.pending > 0;
  }

  get sounding() {
    return this.#player.sounding;
  }

  say(sentence: string) {
    if (this.#dead) return;
    this.#texts.push(sentence);
    this.#pump();
  }

  /** Stops at once: audio, downloads, and everything queued. */
  stop() {
    this.#dead = true;
    this.#abort.abort();
    this.#player.stop();
    this.#texts = [];
  }

  #pump() {
    while (!this.#dead && this.#next < this.#texts.length && this.#next < this.#done + AHEAD && this.#inFlight < IN_FLIGHT) {
      const text = this.#texts[this.#next++]!;
      this.#inFlight++;
      const clip = this.#fetch(text);
      clip.then(
        () => {},
        () => {},
      ).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
      this.#player.add(clip);
    }
  }

  async #fetch(text: string): Promise<Clip> {
    markOnce('speech-request', { text });
    const res = await api.voice.speech(text, { voice: this.#voice, signal: this.#abort.signal });
    const type = res.headers.get('content-type') ?? 'audio/mpeg';
    if (!res.body) return { bytes: await res.arrayBuffer(), type };
    // Read as it streams: the first byte's arrival is worth knowing (benchmark).
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!parts.length) markOnce('speech-first-byte');
      parts.push(value);
      size += value.byteLength;
    }
    markOnce('speech-complete');
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    return { bytes: bytes.buffer, type };
  }

  #failed(error: unknown) {
    if (this.#dead || (error as Error)?.name === 'AbortError') return;
    const fatal = error instanceof ApiError && (error.status === 501 || error.status === 401);
    const message =
      error instanceof ApiError
        ? error.status === 429
          ? 'Too many speech requests for now: the rest of the reply is shown, not spoken.'
          : error.message
        : 'A sentence could not be played.';
    if (fatal || (error instanceof ApiError && error.status === 429)) this.stop();
    this.#hooks.onerror?.(message, fatal);
  }
}
