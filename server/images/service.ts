/**
 * POST /api/images: one image from the configured provider, checked and stored as
 * the user's file, and (with a thread) shown there as an assistant message.
 * The generation is bounded by PROVIDER_TIMEOUT_MS and is not tied to the client's
 * connection: a thread gets its image even if the phone went to sleep meanwhile.
 */
import type { Config } from '../config';
import type { Sql } from '../db';
import { HttpError, badGateway, gatewayTimeout, notFound } from '../errors';
import { enforce } from '../infra/rate-limit';
import { log } from '../log';
import { saveFile, toAttachment, type FileDeps } from '../files/service';
import { safeFileName, sniffImage, type ImageMime } from '../files/sniff';
import { ResponseTooLargeError, UnsafeUrlError, UpstreamStatusError } from '../http/safe-fetch';
import { IMAGE_LIMIT, MAX_GENERATED_BYTES, type ImageBody } from './model';
import { ProviderAnswerError, generateWithMistral, generateWithOpenAI, type Generated } from './providers';
import { ownsThread } from '../conversations/queries';
import { addImageMessage, lockUserWrites } from '../conversations/writes';
import { provisionalTitle } from '../common/titles';
import { setupAdvice } from '../auth/service';
import { asEnvironment, type Connections } from '../connections/service';

export type ImageDeps = { sql: Sql; config: Config; connections?: Connections };

const disabled = (message: string) => new HttpError(503, 'images_disabled', message);

/** The generator the configuration names, or what an admin would have to set for one. */
function chooseGenerator(config: Config): { generator: typeof generateWithOpenAI } | { missing: string } {
  switch (config.images.provider) {
    case 'openai':
      return config.ai.openai ? { generator: generateWithOpenAI } : { missing: 'It needs OPENAI_API_KEY or OPENAI_BASE_URL.' };
    case 'mistral':
      return config.ai.mistral ? { generator: generateWithMistral } : { missing: 'It needs MISTRAL_API_KEY.' };
    default:
      return { missing: 'It is turned off (IMAGE_PROVIDER=none).' };
  }
}

/** Refuses (503) when image generation is not set up, saying how to an admin and whom to ask to anyone else. */
async function requireGenerator(deps: ImageDeps, userId: string) {
  const chosen = chooseGenerator(deps.config);
  if ('missing' in chosen) throw disabled(await setupAdvice(deps.sql, userId, 'Image generation is not set up on this Parley.', chosen.missing));
  return chosen.generator;
}

/** A short file name from the prompt: "a red fox in snow" → "a-red-fox-in-snow.png". */
function nameFromPrompt(prompt: string, mime: Parameters<typeof safeFileName>[1]) {
  const words = prompt
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return safeFileName(words || 'image', mime);
}

async function generate(config: Config, generator: typeof generateWithOpenAI, body: ImageBody): Promise<Generated> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), config.ai.timeoutMs);
  try {
    return await generator(config, {
      prompt: body.prompt,
      size: body.size,
      signal: controller.signal,
      maxBytes: MAX_GENERATED_BYTES,
    });
  } catch (error) {
    if (controller.signal.aborted) throw gatewayTimeout('The image provider did not answer in time');
    if (error instanceof UnsafeUrlError) {
      log.warn('image URL refused', { reason: error.message });
      throw badGateway('The image provider answered with a URL this server will not fetch');
    }
    if (error instanceof ResponseTooLargeError || error instanceof UpstreamStatusError || error instanceof ProviderAnswerError) {
      throw badGateway(`The image provider failed: ${error.message}`);
    }
    log.warn('image provider failed', { provider: config.images.provider, error: String(error) });
    throw badGateway('The image provider failed');
  } finally {
    clearTimeout(timer);
  }
}

export async function createImage(input: ImageDeps, userId: string, body: ImageBody) {
  // A connection with the `images` purpose serves before the environment's provider.
  const served = input.connections ? await input.connections.forPurpose('images').catch(() => null) : null;
  const deps = served ? { ...input, config: asEnvironment(input.config, served, 'images') } : input;
  const generator = await requireGenerator(deps, userId); // refuse at once when turned off, before counting a hit
  const prompt = body.prompt.trim();
  if (!prompt) throw new HttpError(400, 'invalid_input', 'Invalid body', { prompt: 'must not be empty' });
  if (body.threadId && !(await ownsThread(deps.sql, userId, body.threadId))) throw notFound('Thread');
  await enforce(deps.sql, [{ key: `images:user:${userId}`, ...IMAGE_LIMIT }]);

  const generated = await generate(deps.config, generator, { ...body, prompt });
  // Whatever the provider says, only an allowed image type is kept (never an SVG or HTML).
  const mime = sniffImage(generated.bytes);
  if (!mime) throw badGateway('The image provider answered with something that is not a PNG, JPEG, WebP or GIF image');

  const { file, message } = await storeImage(deps, userId, {
    bytes: generated.bytes,
    mime,
    prompt,
    model: generated.model,
    threadId: body.threadId ?? null,
  });
  return { file: toAttachment(file), ...(message ? { message } : {}) };
}

/**
 * Keeps a generated image as the user's file and, with a thread, as an assistant message
 * there, in one transaction (either both exist or neither).
 */
export async function storeImage(
  deps: FileDeps,
  userId: string,
  image: { bytes: Uint8Array; mime: ImageMime; prompt: string; model: string; threadId: string | null },
) {
  const { threadId } = image;
  const { file, extra: message } = await saveFile(
    deps,
    { userId, bytes: image.bytes, mime: image.mime, name: nameFromPrompt(image.prompt, image.mime), threadId, source: 'generated' },
    async (tx, saved) => {
      if (!threadId) return undefined;
      const inserted = await addImageMessage(tx, userId, threadId, {
        // The prompt doubles as the image's caption and alt text.
        content: image.prompt,
        model: image.model,
        attachment: toAttachment(saved),
        titleIfUntitled: provisionalTitle(image.prompt),
      });
      // Deleted while the image was being made: nothing is kept.
      if (!inserted) throw notFound('Thread');
      return inserted;
    },
    // The file row references the thread, so the conversation store's lock must come first.
    threadId ? (tx) => lockUserWrites(tx, userId) : undefined,
  );
  return { file, message };
}
