/**
 * Plays audio clips back to back without gaps, in the order they were added, whatever order
 * their bytes arrive in. Each clip is decoded with Web Audio as soon as its bytes are here and
 * scheduled to start exactly when the previous one ends (sample-accurate, so no gap or click
 * between sentences). A clip Web Audio cannot decode (e.g. Ogg on an old Safari) falls back to
 * an <audio> element, played after what is scheduled. `stop()` silences everything at once.
 */
import { audioContext } from './audio-context';

export interface Clip {
  bytes: ArrayBuffer;
  type: string;
}

export interface PlayerHooks {
  /** The first clip since the player was idle starts sounding. */
  onstart?: () => void;
  /** A clip has finished playing (or failed and was skipped). */
  onclipend?: () => void;
  /** Everything added so far has played. */
  onidle?: () => void;
  /** A clip could not be fetched or played (it is skipped). */
  onerror?: (error: unknown) => void;
}

type Decoded = { buffer: AudioBuffer } | { clip: Clip };

export class ClipPlayer {
  #hooks: PlayerHooks;
  #generation = 0;
  #tail: Promise<void> = Promise.resolve();
  /** Context time at which the last scheduled clip ends. */
  #endAt = 0;
  #sources = new Set<AudioBufferSourceNode>();
  #element: HTMLAudioElement | null = null;
  #pending = 0;
  #sounding = false;
  #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(hooks: PlayerHooks = {}) {
    this.#hooks = hooks;
  }

  /** Clips added and not finished yet (including ones still downloading). */
  get pending() {
    return this.#pending;
  }

  /** Audio is coming out right now. */
  get sounding() {
    return this.#sounding;
  }

  add(clip: Promise<Clip>) {
    const generation = this.#generation;
    this.#pending++;
    const ctx = audioContext();
    // Decoding starts as soon as the bytes are here, while earlier clips still play.
    const decoded: Promise<Decoded> = clip.then((c) =>
      ctx.decodeAudioData(c.bytes.slice(0)).then(
        (buffer) => ({ buffer }),
        () => ({ clip: c }),
      ),
    );
    this.#tail = this.#tail.then(async () => {
      let d: Decoded;
      try {
        d = await decoded;
      } catch (error) {
        if (generation !== this.#generation) return;
        this.#hooks.onerror?.(error);
        this.#ended(generation);
        return;
      }
      if (generation !== this.#generation) return;
      if ('buffer' in d) this.#schedule(d.buffer, generation);
      else await this.#playElement(d.clip, generation);
    });
  }

  #schedule(buffer: AudioBuffer, generation: number) {
    const ctx = audioContext();
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const start = Math.max(ctx.currentTime, this.#endAt);
    source.start(start);
    this.#endAt = start + buffer.duration;
    this.#sources.add(source);
    source.onended = () => {
      this.#sources.delete(source);
      this.#ended(generation);
    };
    if (!this.#sounding) this.#at(start, () => this.#begin(generation));
  }

  async #playElement(clip: Clip, generation: number) {
    // After whatever Web Audio has scheduled: the element cannot be sample-aligned.
    await new Promise<void>((resolve) => this.#at(this.#endAt, resolve));
    if (generation !== this.#generation) return;
    const url = URL.createObjectURL(new Blob([clip.bytes], { type: clip.type }));
    const element = new Audio(url);
    this.#element = element;
    try {
      await new Promise<void>((resolve, reject) => {
        element.onended = () => resolve();
        element.onerror = () => reject(new Error(`cannot play ${clip.type || 'this audio'}`));
        element.onplaying = () => this.#begin(generation);
        element.play().catch(reject);
      });
    } catch (error) {
      if (generation === this.#generation) this.#hooks.onerror?.(error);
    } finally {
      URL.revokeObjectURL(url);
      if (this.#element === element) this.#element = null;
      this.#ended(generation);
    }
  }

  /** Runs `fn` when the context clock reaches `time` (at once if it has). */
  #at(time: number, fn: () => void) {
    const ms = (time - audioContext().currentTime) * 1000;
    if (ms <= 1) return fn();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #begin(generation: number) {
    if (generation !== this.#generation || this.#sounding) return;
    this.#sounding = true;
    this.#hooks.onstart?.();
  }

  #ended(generation: number) {
    if (generation !== this.#generation) return;
    this.#pending = Math.max(0, this.#pending - 1);
    this.#hooks.onclipend?.();
    if (this.#pending === 0) {
      this.#sounding = false;
      this.#endAt = 0;
      this.#hooks.onidle?.();
    }
  }

  /** Silences everything now and forgets what was queued (barge-in). */
  stop() {
    this.#generation++;
    for (const source of this.#sources) {
      source.onended = null;
      try {
        source.stop();
      } catch {
        /* not started yet */
      }
      source.disconnect();
    }
    this.#sources.clear();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#element?.pause();
    this.#element = null;
    this.#tail = Promise.resolve();
    this.#pending = 0;
    this.#endAt = 0;
    this.#sounding = false;
  }
}
