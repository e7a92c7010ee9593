/**
 * Speech proxies: the browser sends recordings and text here, and only the server
 * holds the provider keys. GET /api/voice says what is available.
 */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withSecurityHeaders } from '../http/security';
import { withErrors } from '../http/model';
import { audioResponse, multipartBody } from '../openapi';
import { SpeechBody, Transcription, TranscriptionUpload, VoiceInfo } from './model';
import { createVoiceService } from './service';
import { sttNotConfigured } from './stt';
import { readRecording } from './upload';
import { estimateTokens, metered } from '../quota/service';

export function voiceRoutes(deps: AppDeps) {
  const voice = createVoiceService(deps.config, deps.sql, deps.connections);
  // Bun closes a connection quiet for 10 s; a provider may take up to the voice deadline.
  const quietSeconds = Math.ceil(deps.config.voice.timeoutMs / 1000) + 10;

  return new Elysia({ name: 'voice', prefix: '/api/voice' })
    .use(deps.auth)
    .get('', ({ user }) => voice.info(user.id), { auth: true, response: withErrors({ 200: VoiceInfo }) })
    .post(
      '/transcriptions',
      async ({ user, request, server }) => {
        if (!(await voice.sttConfigured())) throw sttNotConfigured();
        await voice.limitTranscriptions(user.id);
        server?.timeout(request, quietSeconds);
        // The body is read here, under the cap, never by Elysia (parse: 'none').
        const recording = await readRecording(request);
        // Counted by the text it gave (providers report no tokens for audio).
        return metered(deps.sql, user.id, 100, () => voice.transcribe(recording, request.signal), (result) => ({
          tokensIn: 0,
          tokensOut: estimateTokens(result.text),
          source: 'transcription',
          model: `${deps.config.voice.stt}:stt`,
        }));
      },
      {
        requirePermission: 'voice',
        parse: 'none',
        response: withErrors({ 200: Transcription }, 413, 415, 501, 502, 504),
        detail: { requestBody: multipartBody(TranscriptionUpload) },
      },
    )
    .post(
      '/speech',
      async ({ user, body, request, server }) => {
        await voice.limitSpeech(user.id);
        server?.timeout(request, quietSeconds);
        const audio = await metered(deps.sql, user.id, estimateTokens(body.text), () => voice.speak(user.id, body, request.signal), () => ({
          tokensIn: estimateTokens(body.text),
          tokensOut: 0,
          source: 'speech',
          model: `${deps.config.voice.tts}:tts`,
        }));
        return withSecurityHeaders(
          new Response(audio.body, {
            headers: {
              'content-type': audio.contentType,
              // Someone's spoken reply: never kept by a shared cache or the service worker.
              'cache-control': 'no-store',
            },
          }),
        );
      },
      { requirePermission: 'voice', body: SpeechBody, detail: audioResponse() },
    );
}
