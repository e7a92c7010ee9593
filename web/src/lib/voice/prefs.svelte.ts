/**
 * Hands-free preferences, kept on this device (localStorage) rather than in the account:
 * whether a call starts hands-free and how long a pause ends a turn depend on the room and
 * the microphone, which differ between a phone and a desktop.
 */
const KEY = 'parley:voice:hands-free';

export const SILENCE_CHOICES = [500, 800, 1200, 2000] as const;
export const DEFAULT_SILENCE_MS = 800;

interface Stored {
  on: boolean;
  silenceMs: number;
}

function read(): Stored {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Partial<Stored> | null;
    return {
      on: raw?.on === true,
      silenceMs: typeof raw?.silenceMs === 'number' && raw.silenceMs >= 200 && raw.silenceMs <= 5000 ? raw.silenceMs : DEFAULT_SILENCE_MS,
    };
  } catch {
    return { on: false, silenceMs: DEFAULT_SILENCE_MS };
  }
}

class HandsFreePrefs {
  #value = $state<Stored>(typeof localStorage === 'undefined' ? { on: false, silenceMs: DEFAULT_SILENCE_MS } : read());

  /** Calls start hands-free. */
  get on() {
    return this.#value.on;
  }
  set on(on: boolean) {
    this.#save({ ...this.#value, on });
  }

  /** The pause (ms) that ends a turn. */
  get silenceMs() {
    return this.#value.silenceMs;
  }
  set silenceMs(silenceMs: number) {
    this.#save({ ...this.#value, silenceMs });
  }

  #save(value: Stored) {
    this.#value = value;
    try {
      localStorage.setItem(KEY, JSON.stringify(value));
    } catch {
      /* private mode or full: it lasts for this visit */
    }
  }
}

export const handsFreePrefs = new HandsFreePrefs();
