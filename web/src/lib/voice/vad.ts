/**
 * Voice activity detection, the decision part: fed one loudness value (dBFS) per short frame,
 * it says when speech starts and when the turn ends. Pure and synchronous, so it runs inside
 * the AudioWorklet (vad-worklet.ts) and is tested with plain arrays of levels (vad.test.ts).
 *
 * Energy with hysteresis, in level and in time:
 * - the onset threshold follows the room: a noise floor tracked while nobody speaks (falls at
 *   once, rises slowly), plus a margin, never below an absolute minimum;
 * - a frame above the onset threshold opens a *candidate* (the recorder starts then, so the first
 *   syllable is kept); it becomes *speech* once it has been loud for `onsetMs` in total, with dips
 *   of at most `gapMs`; a longer dip drops it (a cough, a door);
 * - speech ends after `silenceMs` below the lower release threshold (onset − `hysteresisDb`),
 *   so the quiet end of a word or a short breath does not end the turn;
 * - while a reply plays (`bargeIn`), starting needs `bargeInExtraDb` more and `bargeInOnsetMs`,
 *   so what echo cancellation leaves of the reply does not interrupt it.
 */

export interface VadConfig {
  /** Loud for this long (ms, summed over the candidate) before it counts as speech. */
  onsetMs: number;
  /** A dip below the onset threshold longer than this drops a candidate. */
  gapMs: number;
  /** Quiet for this long ends the turn (the pause that means "your turn"). */
  silenceMs: number;
  /** Onset threshold above the noise floor (dB). */
  marginDb: number;
  /** The onset threshold is never below this (dBFS): digital silence must not make it hair-trigger. */
  minOnsetDb: number;
  /** Release threshold = onset threshold − this (dB). */
  hysteresisDb: number;
  /** While a reply plays: this much louder, for this long. */
  bargeInExtraDb: number;
  bargeInOnsetMs: number;
  /** A turn is ended anyway after this long (ms). */
  maxTurnMs: number;
}

export const DEFAULT_VAD: VadConfig = {
  onsetMs: 150,
  gapMs: 60,
  silenceMs: 800,
  marginDb: 12,
  minOnsetDb: -48,
  hysteresisDb: 8,
  bargeInExtraDb: 6,
  bargeInOnsetMs: 250,
  maxTurnMs: 60_000,
};

export type VadEvent =
  /** Possibly speech: start recording now, it may still be dropped. */
  | { type: 'candidate' }
  /** It was not speech: drop what was recorded since `candidate`. */
  | { type: 'drop' }
  /** Speech, confirmed. */
  | { type: 'start' }
  /** The turn is over (after `silenceMs` of quiet, or `maxTurnMs`). */
  | { type: 'end'; forced: boolean };

export type VadState = 'quiet' | 'candidate' | 'speech';

/** Below any real microphone's floor; what a frame of digital zeros counts as. */
export const SILENT_DB = -100;

/** A frame's loudness: mean square of its samples → dBFS (full-scale sine ≈ −3). */
export function levelDb(meanSquare: number): number {
  return meanSquare > 1e-10 ? 10 * Math.log10(meanSquare) : SILENT_DB;
}

export class VadDecider {
  config: VadConfig;
  state: VadState = 'quiet';
  /** The room's noise floor (dBFS), tracked while quiet. */
  floor: number;
  /** A reply is playing: harder to start. */
  bargeIn = false;
  #loudMs = 0;
  #dipMs = 0;
  #quietMs = 0;
  #turnMs = 0;
  /** The quietest frame of the current second of speech (steady noise has no quiet frames; speech does). */
  #blockMin = 0;
  #blockMs = 0;

  constructor(config: Partial<VadConfig> = {}) {
    this.config = { ...DEFAULT_VAD, ...config };
    this.floor = this.config.minOnsetDb - this.config.marginDb;
  }

  get onsetDb() {
    const base = Math.max(this.config.minOnsetDb, this.floor + this.config.marginDb);
    return this.bargeIn ? base + this.config.bargeInExtraDb : base;
  }

  get releaseDb() {
    return this.onsetDb - this.config.hysteresisDb;
  }

  /** Back to quiet (muted, or a turn handled elsewhere); the noise floor is kept. */
  reset() {
    this.state = 'quiet';
    this.#loudMs = this.#dipMs = this.#quietMs = this.#turnMs = 0;
  }

  /** One frame of `ms` milliseconds at `db` dBFS; returns what changed, if anything. */
  push(db: number, ms: number): VadEvent | null {
    const c = this.config;
    switch (this.state) {
      case 'quiet':
        if (db >= this.onsetDb) {
          this.state = 'candidate';
          this.#loudMs = ms;
          this.#dipMs = 0;
          return this.#confirmed() ?? { type: 'candidate' };
        }
        this.#track(db, ms);
        return null;
      case 'candidate':
        if (db >= this.onsetDb) {
          this.#loudMs += ms;
          this.#dipMs = 0;
          return this.#confirmed();
        }
        this.#dipMs += ms;
        if (this.#dipMs > c.gapMs) {
          this.reset();
          return { type: 'drop' };
        }
        return null;
      case 'speech':
        this.#turnMs += ms;
        this.#trackInSpeech(db, ms);
        if (db >= this.releaseDb) this.#quietMs = 0;
        else this.#quietMs += ms;
        if (this.#quietMs >= c.silenceMs || this.#turnMs >= c.maxTurnMs) {
          const forced = this.#quietMs < c.silenceMs;
          this.reset();
          return { type: 'end', forced };
        }
        return null;
    }
  }

  #confirmed(): VadEvent | null {
    const need = this.bargeIn ? this.config.bargeInOnsetMs : this.config.onsetMs;
    if (this.#loudMs < need) return null;
    this.state = 'speech';
    this.#quietMs = 0;
    this.#turnMs = this.#loudMs;
    this.#blockMin = 0;
    this.#blockMs = 0;
    return { type: 'start' };
  }

  /**
   * During "speech", the floor rises halfway towards the quietest frame of each second: words
   * have quiet gaps between them, a fan or traffic does not. So steady noise that was mistaken
   * for speech lifts the thresholds until it ends the turn, and real speech leaves them alone.
   */
  #trackInSpeech(db: number, ms: number) {
    this.#blockMin = this.#blockMs === 0 ? db : Math.min(this.#blockMin, db);
    this.#blockMs += ms;
    if (this.#blockMs < 1000) return;
    if (this.#blockMin > this.floor) this.floor += (this.#blockMin - this.floor) / 2;
    this.#blockMs = 0;
  }

  /** Noise floor: follows a quieter room at once, a louder one slowly (about 3 s), so speech never becomes "floor". */
  #track(db: number, ms: number) {
    if (db <= this.floor) this.floor = db;
    else this.floor += (db - this.floor) * Math.min(1, ms / 3000);
  }
}
