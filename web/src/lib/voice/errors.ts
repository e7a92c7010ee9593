/**
 * What can stop the microphone, said plainly: each failure a user can meet gets its own
 * message with what to do about it, never a raw DOMException name.
 */
export type VoiceProblem = 'insecure' | 'unsupported' | 'denied' | 'no-device' | 'busy' | 'offline' | 'no-stt' | 'failed';

export class VoiceError extends Error {
  constructor(
    public readonly problem: VoiceProblem,
    message: string,
  ) {
    super(message);
  }
}

export const MESSAGES: Record<VoiceProblem, string> = {
  insecure:
    'The microphone only works on a secure connection. Open Parley at its https:// address (or on localhost on this device).',
  unsupported: "This browser can't record audio. Use a recent Chrome, Edge, Firefox or Safari.",
  denied:
    "Parley isn't allowed to use the microphone. Allow it in your browser's site settings (the icon next to the address, or Settings › Safari › Microphone on iPhone), then try again.",
  'no-device': 'No microphone was found. Connect one, then try again.',
  busy: 'The microphone is being used by another app. Close that app, then try again.',
  offline: "You're offline. Voice needs the network: reconnect, then try again.",
  'no-stt':
    "Speech-to-text isn't set up on this server, and this browser has no speech recognition of its own. Type your message instead, or ask whoever runs Parley to configure a speech-to-text provider.",
  failed: "The microphone couldn't be started.",
};

export const voiceError = (problem: VoiceProblem, detail?: string) =>
  new VoiceError(problem, detail ? `${MESSAGES[problem]} (${detail})` : MESSAGES[problem]);

/** Why recording cannot even be tried here, or null. */
export function recordingBlocker(): VoiceError | null {
  if (typeof window === 'undefined') return voiceError('unsupported');
  // Browsers hide navigator.mediaDevices entirely on plain http (except localhost).
  if (!window.isSecureContext) return voiceError('insecure');
  if (!navigator.mediaDevices?.getUserMedia) return voiceError(window.isSecureContext ? 'unsupported' : 'insecure');
  return null;
}

/** A getUserMedia / MediaRecorder failure as a VoiceError. */
export function micError(error: unknown): VoiceError {
  if (error instanceof VoiceError) return error;
  const name = (error as { name?: string })?.name ?? '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return voiceError(window.isSecureContext ? 'denied' : 'insecure');
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return voiceError('no-device');
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return voiceError('busy');
    case 'NotSupportedError':
      return voiceError('unsupported');
    default:
      return voiceError('failed', (error as Error)?.message);
  }
}
