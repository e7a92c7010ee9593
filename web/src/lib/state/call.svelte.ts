/**
 * A voice call on one thread: ready → listening (while the button is held) → thinking
 * (transcribing, then waiting for the reply) → speaking (the reply, sentence by sentence, as
 * it streams) → ready. Pressing while it thinks or speaks interrupts at once (barge-in): the
 * audio stops and the reply is cancelled on the server, keeping what was said so far.
 *
 * Hands-free (a setting, and a toggle on the screen): a voice activity detector in an
 * AudioWorklet (voice/hands-free.ts) hears when the person starts and stops speaking; each
 * turn is recorded and sent like a push-to-talk turn, and speaking while a reply plays
 * interrupts it the same way. Mute stops the detector. Typed messages go the same way too.
 *
 * Each turn is an ordinary message (POST /api/threads/:id/messages with a client id), so
 * after the call the thread shows the exchange like any other. The screen stays awake
 * during the call, and a press gives a haptic tick where the device has one.
 */
import { api, ApiError } from '$lib/api';
import type { MessageStatus } from '$server/threads/model';
import { connectivity } from './connectivity.svelte';
import { settings } from './settings.svelte';
import { threads } from './threads.svelte';
import { errorText } from '$lib/errors';
import { ReplyStream } from '$lib/thread/reply-stream';
import { setAudioSession, unlockAudio } from '$lib/voice/audio-context';
import { MESSAGES, VoiceError, type VoiceProblem } from '$lib/voice/errors';
import { voiceInfo } from '$lib/voice/info';
import { Listener } from '$lib/voice/listener';
import { clearMarks, mark, markOnce } from '$lib/voice/marks';
import { audioContext } from '$lib/voice/audio-context';
import { VoiceActivity } from '$lib/voice/hands-free';
import { handsFreePrefs } from '$lib/voice/prefs.svelte';
import type { VadEvent } from '$lib/voice/vad';
import { SentenceSplitter } from '$lib/voice/sentences';
import { Speaker } from '$lib/voice/speaker';

export type CallPhase = 'starting' | 'ready' | 'listening' | 'thinking' | 'speaking';

export const PHASE_WORDS: Record<CallPhase, string> = {
  starting: 'Starting',
  ready: 'Ready',
  listening: 'Listening',
  thinking: 'Thinking',
  speaking: 'Speaking',
};

export interface Caption {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  status: MessageStatus;
}

interface Reply {
  stream: ReplyStream;
  assistantId: string | null;
  done: boolean;
  /** Barged in before the server said which message is the reply: cancel it once it does. */
  cancelled: boolean;
}

/** Starts speaking the first clause of a reply once it is this long (latency over prosody). */
const EAGER_FIRST_CHARS = 40;

export class Call {
  #phase = $state<CallPhase>('starting');
  threadId = $state<string | null>(null);
  captions = $state<Caption[]>([]);
  /** Words heard so far while listening (browser recognizer only). */
  interim = $state('');
  /** Something the user should know (a problem, or why nothing happened). */
  notice = $state<string | null>(null);
  /** The microphone cannot be used at all until this is fixed. */
  problem = $state<VoiceProblem | null>(null);
  talkMode = $state<'hold' | 'toggle'>('hold');
  engine = $state<'server' | 'browser' | null>(null);
  /** Replies are spoken (false: the server has no text-to-speech; captions only). */
  speaks = $state(true);
  /** Listening all the time: turns start and end by themselves. */
  handsFree = $state(handsFreePrefs.on);
  /** Hands-free, but not listening. */
  muted = $state(false);
  /** Hands-free, but the browser keeps audio off until the page is touched (opened without a tap). */
  needsTap = $state(false);

  #listener: Listener | null = null;
  #speaker: Speaker | null = null;
  #reply: Reply | null = null;
  #voice: string | null = null;
  #held = false;
  #beginning: Promise<void> | null = null;
  #transcribing: AbortController | null = null;
  #wakeLock: { release(): Promise<void> } | null = null;
  #ended = false;
  #createThread: () => Promise<string>;
  #creatingThread: Promise<string> | null = null;
  #vad: VoiceActivity | null = null;
  #vadStarting: Promise<void> | null = null;
  /** Hands-free turns begun so far: a transcript that arrives after a newer turn began gets no spoken reply. */
  #turn = 0;

  constructor(threadId: string | null, createThread: () => Promise<string>) {
    this.threadId = threadId;
    this.#createThread = createThread;
  }

  get phase() {
    return this.#phase;
  }
  set phase(phase: CallPhase) {
    this.#phase = phase;
    // While a reply plays, the detector asks for louder, longer speech before it interrupts.
    this.#vad?.setBargeIn(phase === 'speaking');
  }

  /**
   * No model can answer (GET /api/models lists none, or names no default): talking is off,
   * and the screen says so instead of "Ready". Unknown until the models are loaded.
   */
  get noModel() {
    return settings.modelsStatus === 'ready' && (settings.models.length === 0 || !settings.defaultModel);
  }

  /** Hands-free can run here: it needs the recording engine (the browser's recognizer listens its own way). */
  get handsFreeAvailable() {
    return this.engine !== 'browser';
  }

  /** The word the live region says. */
  get status() {
    if (!connectivity.online && (this.phase === 'ready' || this.phase === 'starting')) return 'Offline';
    if (this.noModel && this.phase === 'ready') return 'No model set up';
    if (this.problem && this.phase === 'ready') return this.problem === 'no-stt' ? 'Voice input unavailable' : 'Microphone unavailable';
    if (this.handsFree && this.phase === 'ready' && this.#vad) {
      if (this.muted) return 'Muted';
      if (this.needsTap) return 'Tap to listen';
      return PHASE_WORDS.listening;
    }
    return PHASE_WORDS[this.phase];
  }

  /** Microphone level 0…1 while listening (hands-free: whenever it listens), for the ring. */
  level() {
    if (this.handsFree) return this.muted ? 0 : (this.#vad?.level() ?? 0);
    return this.#listener?.level() ?? 0;
  }

  /** Gets the engines, the settings and the microphone ready; safe to call again after a problem. */
  async start() {
    this.#ended = false;
    this.phase = 'starting';
    this.problem = null;
    this.notice = null;
    void this.#lockScreen();
    document.addEventListener('visibilitychange', this.#onVisibility);
    setAudioSession('play-and-record');
    try {
      const [info] = await Promise.all([voiceInfo(), settings.load(), settings.loadModels()]);
      this.talkMode = settings.settings?.talkMode ?? 'hold';
      this.#voice = info.voice;
      this.speaks = info.tts !== null;
      this.#listener ??= await Listener.create();
      this.engine = this.#listener.engine;
      // The browser's own recognizer cannot be started by the detector: push-to-talk then.
      if (!this.handsFreeAvailable) this.handsFree = false;
      await this.#listener.prepare();
      if (this.handsFree) await this.#startHandsFree();
    } catch (error) {
      this.#fail(error);
    } finally {
      if (this.phase === 'starting' && !this.#ended) this.phase = 'ready';
    }
  }

  /** The call screen's Hands-free switch (also remembered on this device for the next call). */
  async setHandsFree(on: boolean) {
    unlockAudio();
    handsFreePrefs.on = on;
    this.handsFree = on;
    this.muted = false;
    if (on) {
      if (this.#held) {
        this.#held = false;
        this.#listener?.cancel();
        if (this.phase === 'listening') this.phase = 'ready';
      }
      try {
        await this.#startHandsFree();
      } catch (error) {
        this.#fail(error);
      }
    } else {
      this.#stopHandsFree();
      if (this.phase === 'listening') {
        this.#listener?.cancel();
        this.phase = 'ready';
      }
    }
  }

  /** Mute: the detector stops hearing; a turn being spoken is dropped. Replies still play. */
  setMuted(muted: boolean) {
    unlockAudio();
    this.muted = muted;
    this.#vad?.setMuted(muted);
    if (muted && this.handsFree && this.phase === 'listening') {
      this.#listener?.cancel();
      this.phase = 'ready';
    }
  }

  /** A typed message, sent into the same thread; its reply is spoken like any other. */
  async sendText(text: string): Promise<boolean> {
    const content = text.trim();
    if (!content || this.#ended || this.noModel) return false;
    unlockAudio();
    if (!connectivity.online) {
      this.notice = MESSAGES.offline;
      return false;
    }
    clearMarks();
    if (this.phase === 'thinking' || this.phase === 'speaking') this.interrupt();
    if (this.phase === 'listening') {
      // Typed while a spoken turn was being recorded: the typed one wins.
      this.#held = false;
      this.#listener?.cancel();
      this.#vad?.reset();
    }
    this.#turn++;
    this.notice = null;
    this.phase = 'thinking';
    await this.#send(content);
    return true;
  }

  async #startHandsFree() {
    if (this.#ended || !this.handsFree || this.#vad || !this.#listener || this.#listener.engine !== 'server') return;
    this.#vadStarting ??= (async () => {
      const listener = this.#listener!;
      await listener.prepare();
      const stream = listener.stream;
      if (!stream) return;
      const vad = await VoiceActivity.create(stream, { onevent: (e) => this.#onVoice(e) }, { silenceMs: handsFreePrefs.silenceMs });
      if (this.#ended || !this.handsFree || this.#listener !== listener) return vad.close();
      vad.setMuted(this.muted);
      vad.setBargeIn(this.phase === 'speaking');
      this.#vad = vad;
      this.#watchAudio();
    })().finally(() => (this.#vadStarting = null));
    await this.#vadStarting;
  }

  #stopHandsFree() {
    this.#vad?.close();
    this.#vad = null;
    this.needsTap = false;
    audioContext().removeEventListener('statechange', this.#onAudioState);
    window.removeEventListener('pointerdown', this.#onFirstTap, true);
    window.removeEventListener('keydown', this.#onFirstTap, true);
  }

  /**
   * A browser keeps audio suspended until the page is touched (a call opened from the home
   * screen): the detector hears nothing until then, and the screen says "Tap to listen".
   */
  #watchAudio() {
    const ctx = audioContext();
    ctx.addEventListener('statechange', this.#onAudioState);
    window.addEventListener('pointerdown', this.#onFirstTap, true);
    window.addEventListener('keydown', this.#onFirstTap, true);
    this.#onAudioState();
  }

  #onAudioState = () => {
    this.needsTap = audioContext().state !== 'running';
  };

  #onFirstTap = () => {
    unlockAudio();
  };

  /** What the detector heard. */
  #onVoice(event: VadEvent) {
    const listener = this.#listener;
    if (this.#ended || !this.handsFree || this.muted || !listener) return;
    switch (event.type) {
      case 'candidate':
        // Record from the first loud frame, so the first syllable is kept; dropped if it was not speech.
        if (!listener.listening && this.phase !== 'listening') this.#beginning = listener.begin().catch((error: unknown) => this.#fail(error));
        return;
      case 'drop':
        if (this.phase !== 'listening') void this.#beginning?.then(() => this.phase !== 'listening' && listener.cancel());
        return;
      case 'start': {
        if (!connectivity.online || this.noModel || this.problem) {
          listener.cancel();
          return;
        }
        this.#turn++;
        clearMarks();
        mark('speech-start');
        // Barge-in: what is being said or thought is dropped; a transcript already on its way is still sent.
        if (this.phase === 'thinking' || this.phase === 'speaking') this.#silence();
        if (!listener.listening) this.#beginning = listener.begin().catch((error: unknown) => this.#fail(error));
        this.notice = null;
        this.phase = 'listening';
        return;
      }
      case 'end':
        if (this.phase !== 'listening') return;
        mark('speech-end', { forced: event.forced });
        void this.#finishTurn(this.#turn);
        return;
    }
  }

  /** A hands-free turn is over: transcribe it and send it. */
  async #finishTurn(turn: number) {
    const listener = this.#listener;
    if (!listener) return;
    this.phase = 'thinking';
    const abort = new AbortController();
    this.#transcribing = abort;
    let text = '';
    try {
      await this.#beginning;
      if (!listener.listening) {
        // Nothing was recorded (the recorder failed to start, and said so): listen again.
        if (this.phase === 'thinking' && this.#turn === turn) this.phase = 'ready';
        return;
      }
      const heard = await listener.end(abort.signal);
      if (abort.signal.aborted) return;
      text = heard.text;
    } catch (error) {
      if (!abort.signal.aborted) this.#fail(error);
    } finally {
      if (this.#transcribing === abort) this.#transcribing = null;
    }
    const newer = this.#turn !== turn;
    if (!text) {
      // Noise that transcribed to nothing: back to listening, without a scolding.
      if (!newer && this.phase === 'thinking') this.phase = 'ready';
      return;
    }
    await this.#send(text, { stale: newer });
  }

  /** The button went down (or Space, or a tap in toggle mode). */
  press() {
    unlockAudio();
    navigator.vibrate?.(12);
    if (this.#ended || this.#held) return;
    if (!connectivity.online) {
      this.notice = MESSAGES.offline;
      return;
    }
    if (this.phase === 'starting' || this.noModel || this.handsFree) return;
    if (this.problem || !this.#listener) {
      void this.start();
      return;
    }
    clearMarks();
    mark('press');
    if (this.phase === 'thinking' || this.phase === 'speaking') this.interrupt();
    this.#held = true;
    this.notice = null;
    this.interim = '';
    this.phase = 'listening';
    const listener = this.#listener;
    this.#beginning = listener.begin((text) => (this.interim = text)).catch((error: unknown) => {
      this.#held = false;
      this.phase = 'ready';
      this.#fail(error);
    });
  }

  /** The button came up: what was said is sent. */
  async release() {
    unlockAudio();
    if (!this.#held) return;
    this.#held = false;
    mark('release');
    await this.#beginning;
    const listener = this.#listener;
    if (!listener?.listening || this.phase !== 'listening') return;
    this.phase = 'thinking';
    const abort = new AbortController();
    this.#transcribing = abort;
    let text = '';
    try {
      const heard = await listener.end(abort.signal);
      if (abort.signal.aborted) return;
      if (heard.tooShort) {
        this.notice = this.talkMode === 'hold' ? 'Hold the button down while you speak, then let go.' : 'That was too short. Tap, speak, then tap again.';
      } else if (!heard.text) {
        this.notice = "I didn't catch that. Try again, a little closer to the microphone.";
      }
      text = heard.text;
    } catch (error) {
      if (abort.signal.aborted) return;
      this.#fail(error);
    } finally {
      if (this.#transcribing === abort) this.#transcribing = null;
    }
    this.interim = '';
    if (!text) {
      if (this.phase === 'thinking') this.phase = 'ready';
      return;
    }
    await this.#send(text);
  }

  /** Toggle mode: one tap starts, the next sends. */
  toggle() {
    if (this.phase === 'listening') void this.release();
    else this.press();
  }

  /** Barge-in: silence now, and cancel the reply being written (its text so far is kept). */
  interrupt() {
    this.#transcribing?.abort();
    this.#transcribing = null;
    this.#silence();
    if (this.phase !== 'listening') this.phase = 'ready';
  }

  /** Stops the reply: its audio at once, its writing on the server. */
  #silence() {
    const playing = this.#speaker?.sounding ?? false;
    this.#speaker?.stop();
    this.#speaker = null;
    const reply = this.#reply;
    this.#reply = null;
    mark('barge-in', { streaming: !!reply && !reply.done, playing, handsFree: this.handsFree });
    if (reply && !reply.done) {
      reply.cancelled = true;
      if (reply.assistantId) this.#cancel(reply);
    }
  }

  /** Leaves the call: the microphone is released; a reply still being written finishes on the server. */
  end() {
    this.#ended = true;
    this.#held = false;
    this.#speaker?.stop();
    this.#speaker = null;
    this.#reply?.stream.cancel();
    this.#reply = null;
    this.#transcribing?.abort();
    this.#stopHandsFree();
    this.#listener?.close();
    this.#listener = null;
    document.removeEventListener('visibilitychange', this.#onVisibility);
    void this.#wakeLock?.release().catch(() => {});
    this.#wakeLock = null;
    setAudioSession('auto');
    clearMarks();
  }

  /** `stale`: a newer turn began while this one was transcribed; it is sent, its reply cancelled at once. */
  async #send(content: string, { stale = false } = {}) {
    if (!this.threadId) {
      try {
        // One thread however many turns are waiting for it (hands-free turns can overlap).
        this.#creatingThread ??= this.#createThread();
        this.threadId = await this.#creatingThread;
      } catch (error) {
        this.#creatingThread = null;
        this.notice = `Couldn't start a thread: ${errorText(error)}`;
        this.phase = 'ready';
        return;
      }
    }
    const id = crypto.randomUUID();
    this.captions.push({ id, role: 'user', text: content, status: 'complete' });
    const splitter = new SentenceSplitter({ eagerFirst: EAGER_FIRST_CHARS });
    let caption: Caption | null = null;
    const say = (sentences: string[]) => {
      for (const s of sentences) {
        markOnce('first-sentence', { text: s });
        speaker?.say(s);
      }
    };
    // The same reply stream as the thread's (re-attach included), unbatched: speech starts
    // with the first clause, also while the screen is off and frames stop.
    const stream = new ReplyStream(
      {
        start: (m) => {
          reply.assistantId = m.id;
          mark('reply-start');
          if (reply.cancelled) return this.#cancel(reply);
          this.captions.push({ id: m.id, role: 'assistant', text: '', status: 'streaming' });
          caption = this.captions[this.captions.length - 1]!;
        },
        text: (_id, text) => {
          if (reply.cancelled) return reply.stream.cancel();
          if (!caption) return;
          markOnce('first-delta');
          caption.text += text;
          say(splitter.push(text));
        },
        end: (m, error) => {
          if (reply.cancelled) return reply.stream.cancel();
          if (!caption) return;
          caption.text = m.content;
          caption.status = m.status;
          say(splitter.finish());
          mark('reply-done', { status: m.status });
          if (error !== null) this.notice = 'The assistant could not finish its reply.';
        },
        title: (threadId, title) => threads.retitle(threadId, title),
      },
      { batch: false },
    );
    const reply: Reply = { stream, assistantId: null, done: false, cancelled: stale };
    const speaker = this.speaks && !stale ? this.#newSpeaker(reply) : null;
    if (!stale) {
      this.#reply = reply;
      this.#speaker = speaker;
    }
    mark('message-sent');
    const threadId = this.threadId;
    try {
      const error = await stream.run((signal) => api.threads.send(threadId, { id, content }, signal), { again: true });
      if (error) this.notice = errorText(error);
    } finally {
      reply.done = true;
      const last = caption as Caption | null;
      if (last && last.status === 'streaming' && !reply.cancelled) last.status = 'error';
      this.#settle(reply);
      // Until the server sends `title`, one later look names the call's header.
      if (!stream.titled && this.captions.length <= 2) threads.titleLater(threadId);
    }
  }

  #newSpeaker(reply: Reply) {
    return new Speaker({
      voice: this.#voice,
      onplaying: () => {
        if (this.#reply === reply && this.phase === 'thinking') this.phase = 'speaking';
      },
      onidle: () => this.#settle(reply),
      onerror: (message, fatal) => {
        if (fatal) this.speaks = false;
        this.notice = fatal ? `Replies are shown, not spoken: ${message}` : message;
        this.#settle(reply);
      },
    });
  }

  /** Back to "Ready" once the reply is complete and everything has been said. */
  #settle(reply: Reply) {
    if (this.#reply !== reply || !reply.done) return;
    if (this.#speaker?.busy) return;
    this.#reply = null;
    this.#speaker = null;
    if (this.phase === 'thinking' || this.phase === 'speaking') this.phase = 'ready';
  }

  #cancel(reply: Reply) {
    reply.stream.cancel();
    const id = reply.assistantId!;
    const caption = this.captions.find((c) => c.id === id);
    if (caption) caption.status = 'cancelled';
    api.messages.cancel(id).catch((error: unknown) => {
      // Already finished is fine; anything else is worth saying.
      if (!(error instanceof ApiError && error.status === 409)) this.notice = `Couldn't stop the reply: ${errorText(error)}`;
    });
  }

  #fail(error: unknown) {
    if (error instanceof VoiceError) {
      this.notice = error.message;
      if (error.problem !== 'offline') this.problem = error.problem;
    } else {
      this.notice = errorText(error);
    }
  }

  async #lockScreen() {
    const wakeLock = (navigator as Navigator & { wakeLock?: { request(type: 'screen'): Promise<{ release(): Promise<void> }> } }).wakeLock;
    if (!wakeLock || this.#ended || document.visibilityState !== 'visible') return;
    try {
      this.#wakeLock = await wakeLock.request('screen');
    } catch {
      /* refused (battery saver, no permission): the call works anyway */
    }
  }

  // The browser drops the wake lock whenever the page is hidden: take it again on return.
  #onVisibility = () => {
    if (document.visibilityState === 'visible' && !this.#ended) void this.#lockScreen();
  };
}

