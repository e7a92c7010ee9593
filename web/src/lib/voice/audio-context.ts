/**
 * One AudioContext for the app's voice features (the recorder's level meter and the player),
 * created on first use. Browsers start it suspended until a user gesture; `unlockAudio()` is
 * called inside every press (pointerdown, pointerup, keydown) because iOS Safari only counts
 * some of them as gestures (touchend, not touchstart) and will otherwise never play a reply.
 */
type WebkitWindow = Window & { webkitAudioContext?: typeof AudioContext };
type AudioSessionNavigator = Navigator & { audioSession?: { type: string } };

let context: AudioContext | null = null;
let primed = false;

export function audioContext(): AudioContext {
  if (!context) {
    const Ctor = window.AudioContext ?? (window as WebkitWindow).webkitAudioContext!;
    context = new Ctor({ latencyHint: 'interactive' });
  }
  return context;
}

export function unlockAudio() {
  const ctx = audioContext();
  if (ctx.state !== 'running') void ctx.resume().catch(() => {});
  if (!primed) {
    // A silent sample started inside the gesture is what unlocks output on iOS.
    primed = true;
    const source = ctx.createBufferSource();
    source.buffer = ctx.createBuffer(1, 1, 22050);
    source.connect(ctx.destination);
    source.start(0);
  }
}

/**
 * Safari 16.4+: play and record as a call does, so replies are heard even with the ring/silent
 * switch on (Web Audio is "ambient" and muted by it otherwise). Elsewhere a no-op.
 */
export function setAudioSession(type: 'play-and-record' | 'playback' | 'auto') {
  const session = (navigator as AudioSessionNavigator).audioSession;
  if (session) {
    try {
      session.type = type;
    } catch {
      /* unsupported value */
    }
  }
}
