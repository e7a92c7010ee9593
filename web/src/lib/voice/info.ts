/** GET /api/voice, asked once per page load (again after a failure). */
import { api } from '$lib/api';
import type { VoiceInfo } from '$server/voice/model';

let cached: Promise<VoiceInfo> | null = null;

export function voiceInfo(): Promise<VoiceInfo> {
  cached ??= api.voice.info().catch((error: unknown) => {
    cached = null;
    throw error;
  });
  return cached;
}

/** After the voice setting changes. */
export function forgetVoiceInfo() {
  cached = null;
}
