/**
 * POST /api/images {prompt, threadId?, size?} → 201 {file: {id, url, mime, size, name}, message?}
 * Provider from IMAGE_PROVIDER (openai | mistral | none → 503 images_disabled);
 * provider failure → 502, timeout → 504, too many → 429.
 */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import { GeneratedImage, ImageBody } from './model';
import { createImage } from './service';
import { estimateTokens, IMAGE_TOKENS, metered } from '../quota/service';

export function imagesRoutes(deps: Pick<AppDeps, 'sql' | 'config' | 'auth' | 'connections'>) {
  return new Elysia({ name: 'images', prefix: '/api/images' }).use(deps.auth).post(
    '/',
    async ({ user, body, set, request, server }) => {
      // A generation can outlast Bun's 10 s idle timeout; our own deadline bounds it
      // (Bun takes at most 255 s here; 0 turns the idle timeout off).
      const seconds = Math.ceil(deps.config.ai.timeoutMs / 1000) + 30;
      server?.timeout(request, seconds > 255 ? 0 : seconds);
      // The quota is checked before the provider is called; an image counts IMAGE_TOKENS.
      const result = await metered(deps.sql, user.id, IMAGE_TOKENS, () => createImage(deps, user.id, body), () => ({
        tokensIn: estimateTokens(body.prompt),
        tokensOut: IMAGE_TOKENS,
        source: 'image',
        model: `${deps.config.images.provider}:image`,
      }));
      set.status = 201;
      return result;
    },
    { requirePermission: 'images', body: ImageBody, response: withErrors({ 201: GeneratedImage }, 502, 504) },
  );
}
