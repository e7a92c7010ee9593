/**
 * The browser's own speech recognition (Web Speech API), used only when the server has no
 * speech-to-text engine. Chrome and Safari send the audio to their vendor's service, so the
 * screens say when it is in use. Started on press, stopped on release, like a recording.
 */
interface RecognitionResult {
  readonly isFinal: boolean;
  readonly 0: { transcript: string };
}
interface RecognitionEvent {
  readonly resultIndex: number;
  readonly results: { readonly length: number; [i: number]: RecognitionResult };
}
interface Recognition {
  lang: string;
  continuous: boolean;
  interimResults: boolean;
  onresult: ((e: RecognitionEvent) => void) | null;
  onerror: ((e: { error: string }) => void) | null;
  onend: (() => void) | null;
  start(): void;
  stop(): void;
  abort(): void;
}
type RecognitionCtor = new () => Recognition;

export function browserRecognition(): RecognitionCtor | null {
  if (typeof window === 'undefined') return null;
  const w = window as unknown as { SpeechRecognition?: RecognitionCtor; webkitSpeechRecognition?: RecognitionCtor };
  return w.SpeechRecognition ?? w.webkitSpeechRecognition ?? null;
}

export class BrowserListener {
  #recognition: Recognition;
  #final = '';
  #interim = '';
  #ended: Promise<void>;
  #error: string | null = null;

  /** `oninterim`: the words so far, for a live caption. */
  constructor(oninterim?: (text: string) => void) {
    const Ctor = browserRecognition();
    if (!Ctor) throw new Error('no speech recognition in this browser');
    const r = new Ctor();
    r.lang = navigator.language || 'en-US';
    r.continuous = true;
    r.interimResults = true;
    r.onresult = (e) => {
      let interim = '';
      for (let i = e.resultIndex; i < e.results.length; i++) {
        const result = e.results[i]!;
        if (result.isFinal) this.#final += result[0].transcript;
        else interim += result[0].transcript;
      }
      this.#interim = interim;
      oninterim?.((this.#final + interim).trim());
    };
    this.#ended = new Promise((resolve) => {
      r.onend = () => resolve();
      r.onerror = (e) => {
        if (e.error !== 'no-speech' && e.error !== 'aborted') this.#error = e.error;
      };
    });
    this.#recognition = r;
    r.start();
  }

  /** Stops listening and returns what was heard. Throws the recognizer's error (e.g. "not-allowed"). */
  async stop(): Promise<string> {
    this.#recognition.stop();
    await Promise.race([this.#ended, new Promise((r) => setTimeout(r, 3000))]);
    if (this.#error) throw Object.assign(new Error(this.#error), { name: this.#error === 'not-allowed' ? 'NotAllowedError' : 'Error' });
    return (this.#final || this.#interim).trim();
  }

  cancel() {
    this.#recognition.abort();
  }
}
