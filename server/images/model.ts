import { t } from 'elysia';
import { Attachment, Message } from '../threads/model';

export const ImageBody = t.Object({
  prompt: t.String({ minLength: 1, maxLength: 4000, error: 'must be 1 to 4,000 characters' }),
  threadId: t.Optional(t.String({ format: 'uuid', error: 'must be a thread id' })),
  size: t.Optional(t.String({ pattern: '^(auto|[1-9][0-9]{1,3}x[1-9][0-9]{1,3})$', error: 'must be like 1024x1024 or auto' })),
});
export type ImageBody = typeof ImageBody.static;

/** POST /api/images. With a threadId, `message` is the assistant message holding the image. */
export const GeneratedImage = t.Object({ file: Attachment, message: t.Optional(Message) });
export type GeneratedImage = typeof GeneratedImage.static;

/** Generations per user per 10 minutes: images cost real money on paid providers. */
export const IMAGE_LIMIT = { max: 20, windowSeconds: 600 };

/** The largest generated image we keep (a 1536×1024 PNG is a few MB). */
export const MAX_GENERATED_BYTES = 20 * 1024 * 1024;
