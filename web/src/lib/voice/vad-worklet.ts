/**
 * The AudioWorklet side of hands-free listening: runs on the audio thread, measures each
 * ~10 ms frame of the microphone, feeds the VAD decider (vad.ts) and posts what it decides,
 * plus the level for the ring ~30 times a second. Loaded by `audioWorklet.addModule` from its
 * own small file (hands-free.ts imports it with `?worker&url`), never part of the app chunk.
 *
 * Messages in:  {type: 'config', config}, {type: 'muted', muted}, {type: 'bargeIn', on}, {type: 'reset'}
 * Messages out: VadEvent, {type: 'level', level (0…1), db}
 */
import { levelDb, VadDecider, type VadConfig } from './vad';

// The AudioWorkletGlobalScope, which TypeScript's DOM library does not describe.
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, ctor: new () => AudioWorkletProcessor): void;

type Inbound =
  | { type: 'config'; config: Partial<VadConfig> }
  | { type: 'muted'; muted: boolean }
  | { type: 'bargeIn'; on: boolean }
  | { type: 'reset' };

const FRAME_MS = 10;
const LEVEL_EVERY_MS = 33;

class VadProcessor extends AudioWorkletProcessor {
  #vad = new VadDecider();
  #muted = false;
  #frameSamples = Math.round((sampleRate * FRAME_MS) / 1000);
  #sum = 0;
  #count = 0;
  #sinceLevel = 0;
  #peak = -Infinity;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<Inbound>) => {
      const m = event.data;
      if (m.type === 'config') this.#vad.config = { ...this.#vad.config, ...m.config };
      else if (m.type === 'bargeIn') this.#vad.bargeIn = m.on;
      else if (m.type === 'reset') this.#vad.reset();
      else if (m.type === 'muted') {
        this.#muted = m.muted;
        this.#vad.reset();
      }
    };
  }

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const v = channel[i]!;
      this.#sum += v * v;
      if (++this.#count < this.#frameSamples) continue;
      this.#frame(levelDb(this.#sum / this.#count), (this.#count / sampleRate) * 1000);
      this.#sum = 0;
      this.#count = 0;
    }
    return true;
  }

  #frame(db: number, ms: number) {
    this.#peak = Math.max(this.#peak, db);
    this.#sinceLevel += ms;
    if (this.#sinceLevel >= LEVEL_EVERY_MS) {
      // −60 dBFS → 0, −10 dBFS → 1: speech fills the ring, room noise barely moves it.
      const level = this.#muted ? 0 : Math.max(0, Math.min(1, (this.#peak + 60) / 50));
      this.port.postMessage({ type: 'level', level, db: this.#peak });
      this.#sinceLevel = 0;
      this.#peak = -Infinity;
    }
    if (this.#muted) return;
    const event = this.#vad.push(db, ms);
    if (event) this.port.postMessage(event);
  }
}

registerProcessor('parley-vad', VadProcessor);
