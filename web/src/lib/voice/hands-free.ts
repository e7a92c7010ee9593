/**
 * Hands-free listening on the main thread: connects the call's microphone stream to the VAD
 * worklet (vad-worklet.ts, its own file, fetched on first use) and turns its messages into
 * callbacks. The call decides what a turn means (record, send, barge in); this only hears.
 */
import workletUrl from './vad-worklet.ts?worker&url';
import { audioContext } from './audio-context';
import type { VadConfig, VadEvent } from './vad';

export interface VoiceActivityHooks {
  onevent: (event: VadEvent) => void;
}

const loaded = new WeakMap<BaseAudioContext, Promise<void>>();

function loadWorklet(ctx: AudioContext): Promise<void> {
  let p = loaded.get(ctx);
  if (!p) {
    p = ctx.audioWorklet.addModule(workletUrl).catch((error: unknown) => {
      loaded.delete(ctx);
      throw error;
    });
    loaded.set(ctx, p);
  }
  return p;
}

/** Whether this browser can run the detector at all (AudioWorklet: every current browser, on https). */
export function handsFreeSupported(): boolean {
  return typeof AudioWorkletNode !== 'undefined' && typeof window !== 'undefined' && window.isSecureContext;
}

export class VoiceActivity {
  #node: AudioWorkletNode;
  #source: MediaStreamAudioSourceNode;
  #level = 0;

  private constructor(node: AudioWorkletNode, source: MediaStreamAudioSourceNode, hooks: VoiceActivityHooks) {
    this.#node = node;
    this.#source = source;
    node.port.onmessage = (event: MessageEvent<VadEvent | { type: 'level'; level: number }>) => {
      const m = event.data;
      if (m.type === 'level') this.#level = m.level;
      else hooks.onevent(m);
    };
  }

  static async create(stream: MediaStream, hooks: VoiceActivityHooks, config: Partial<VadConfig> = {}): Promise<VoiceActivity> {
    const ctx = audioContext();
    await loadWorklet(ctx);
    const source = ctx.createMediaStreamSource(stream);
    // No outputs: a sink the audio thread always pulls, whether or not anything plays.
    const node = new AudioWorkletNode(ctx, 'parley-vad', { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: 'explicit' });
    source.connect(node);
    const activity = new VoiceActivity(node, source, hooks);
    activity.configure(config);
    return activity;
  }

  /** Input loudness 0…1, for the ring. */
  level() {
    return this.#level;
  }

  configure(config: Partial<VadConfig>) {
    this.#node.port.postMessage({ type: 'config', config });
  }

  /** Muted: nothing is detected (and a turn in progress is forgotten). */
  setMuted(muted: boolean) {
    this.#level = 0;
    this.#node.port.postMessage({ type: 'muted', muted });
  }

  /** A reply is playing: starting takes louder, longer speech (echo is not a person). */
  setBargeIn(on: boolean) {
    this.#node.port.postMessage({ type: 'bargeIn', on });
  }

  /** Forget a turn in progress (its recording was dropped, or sent another way). */
  reset() {
    this.#node.port.postMessage({ type: 'reset' });
  }

  close() {
    this.#node.port.onmessage = null;
    this.#source.disconnect();
    this.#node.disconnect();
  }
}
