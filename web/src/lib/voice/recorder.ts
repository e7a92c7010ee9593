/**
 * The microphone: one stream opened for a call (or a dictation) and kept until `close()`,
 * so each press starts recording at once instead of waiting for the device again.
 * Records Opus in WebM where the browser can (Chromium, Firefox), MP4/AAC on Safari.
 * An AnalyserNode on the same stream gives the live input level for the ring.
 */
import { audioContext } from './audio-context';
import { micError, recordingBlocker, voiceError } from './errors';

const TYPES = [
  'audio/webm;codecs=opus',
  'audio/webm',
  'audio/mp4;codecs=mp4a.40.2',
  'audio/mp4',
  'audio/ogg;codecs=opus',
];

/** The container this browser records, and the file name the server should see. */
export function recordingType(): { mime: string; filename: string } | null {
  if (typeof MediaRecorder === 'undefined') return null;
  const mime = TYPES.find((t) => MediaRecorder.isTypeSupported?.(t));
  if (!mime) return { mime: '', filename: 'recording.webm' };
  const ext = mime.startsWith('audio/mp4') ? 'm4a' : mime.startsWith('audio/ogg') ? 'ogg' : 'webm';
  return { mime, filename: `recording.${ext}` };
}

export interface Recording {
  blob: Blob;
  filename: string;
  /** From the recorder's start event to stop. */
  durationMs: number;
}

export class Recorder {
  #stream: MediaStream | null = null;
  #recorder: MediaRecorder | null = null;
  #chunks: Blob[] = [];
  #startedAt = 0;
  #analyser: AnalyserNode | null = null;
  #source: MediaStreamAudioSourceNode | null = null;
  #samples: Float32Array<ArrayBuffer> | null = null;
  #type = recordingType();

  get open() {
    return this.#stream !== null && this.#stream.getAudioTracks().some((t) => t.readyState === 'live');
  }

  /** The open microphone stream (hands-free listening reads the same one). */
  get stream(): MediaStream | null {
    return this.open ? this.#stream : null;
  }

  get recording() {
    return this.#recorder?.state === 'recording';
  }

  /** Asks for the microphone (the permission prompt appears the first time). */
  async start(): Promise<void> {
    if (this.open) return;
    const blocked = recordingBlocker();
    if (blocked) throw blocked;
    if (!this.#type) throw voiceError('unsupported');
    try {
      this.#stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
      });
    } catch (error) {
      throw micError(error);
    }
    // If the user revokes access or unplugs the device, the next press reopens it.
    for (const track of this.#stream.getAudioTracks()) track.addEventListener('ended', () => this.close());
  }

  /** Starts a recording on the open stream. */
  begin() {
    if (!this.#stream) throw voiceError('failed', 'microphone not open');
    this.#chunks = [];
    const recorder = new MediaRecorder(this.#stream, {
      ...(this.#type?.mime ? { mimeType: this.#type.mime } : {}),
      audioBitsPerSecond: 32_000,
    });
    recorder.ondataavailable = (e) => {
      if (e.data.size) this.#chunks.push(e.data);
    };
    this.#startedAt = performance.now();
    recorder.onstart = () => (this.#startedAt = performance.now());
    recorder.start();
    this.#recorder = recorder;
  }

  /** Stops the recording and hands over the file. */
  finish(): Promise<Recording> {
    const recorder = this.#recorder;
    this.#recorder = null;
    if (!recorder || recorder.state === 'inactive') return Promise.reject(voiceError('failed', 'not recording'));
    const durationMs = performance.now() - this.#startedAt;
    return new Promise((resolve, reject) => {
      recorder.onstop = () => {
        const type = recorder.mimeType || this.#type?.mime || 'audio/webm';
        resolve({ blob: new Blob(this.#chunks, { type }), filename: this.#type?.filename ?? 'recording.webm', durationMs });
      };
      recorder.onerror = (e) => reject(micError((e as unknown as { error?: unknown }).error ?? e));
      recorder.stop();
    });
  }

  /** Drops a recording in progress. */
  cancel() {
    const recorder = this.#recorder;
    this.#recorder = null;
    if (recorder && recorder.state !== 'inactive') {
      recorder.ondataavailable = null;
      recorder.onstop = null;
      recorder.stop();
    }
  }

  /** Input loudness 0…1 (RMS, scaled so speech fills the ring), for the level ring. */
  level(): number {
    if (!this.#stream) return 0;
    if (!this.#analyser) {
      const ctx = audioContext();
      this.#source = ctx.createMediaStreamSource(this.#stream);
      this.#analyser = ctx.createAnalyser();
      this.#analyser.fftSize = 512;
      this.#source.connect(this.#analyser);
      this.#samples = new Float32Array(this.#analyser.fftSize);
    }
    this.#analyser.getFloatTimeDomainData(this.#samples!);
    let sum = 0;
    for (const v of this.#samples!) sum += v * v;
    const rms = Math.sqrt(sum / this.#samples!.length);
    return Math.min(1, rms * 6);
  }

  /** Releases the microphone (its indicator goes off). */
  close() {
    this.cancel();
    this.#source?.disconnect();
    this.#source = null;
    this.#analyser = null;
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
  }
}
