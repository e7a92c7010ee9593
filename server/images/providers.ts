/**
 * Image generation adapters: each turns a prompt into image bytes through its SDK.
 * They only translate wire formats; deadlines, checks and storage are the service's.
 *
 * - openai: `images.generate` on any OpenAI-compatible server. GPT image models
 *   answer `b64_json`; DALL·E-style servers may answer a `url`, which is fetched
 *   through the SSRF guard (server/http/safe-fetch.ts) with the provider's own
 *   origin as the only non-public origin allowed.
 * - mistral: Mistral has no images endpoint; its image generation is the built-in
 *   `image_generation` tool of the (beta) Conversations API. We start a one-off
 *   conversation with a model and that tool; the image comes back as a `tool_file`
 *   chunk whose bytes are downloaded through `files.download` (as Mistral documents
 *   it; the conversation is stored on Mistral's side like any conversation there).
 */
import OpenAI from 'openai';
import { readStreamCapped } from '../http/body';
import { Mistral } from '@mistralai/mistralai';
import type { Config } from '../config';
import { safeFetchBytes } from '../http/safe-fetch';

export interface Generated {
  bytes: Uint8Array;
  /** `provider:model`, stored on the message like a chat model id. */
  model: string;
}

export interface GenerateRequest {
  prompt: string;
  size?: string;
  signal: AbortSignal;
  maxBytes: number;
}

export class ProviderAnswerError extends Error {}

export const OPENAI_DEFAULT_BASE = 'https://api.openai.com/v1';
export const OPENAI_IMAGE_MODEL = 'gpt-image-1';
export const MISTRAL_IMAGE_MODEL = 'mistral-medium-latest';

/** A model name from configuration when one is defined there (a later IMAGE_MODEL), else the default. */
function configuredModel(config: Config, fallback: string): string {
  const images = config.images as { model?: string | null };
  return images.model || fallback;
}

export async function generateWithOpenAI(config: Config, req: GenerateRequest): Promise<Generated> {
  const settings = config.ai.openai!;
  const baseURL = settings.baseURL ?? OPENAI_DEFAULT_BASE;
  // Local OpenAI-compatible servers often need no key; the SDK insists on one.
  const client = new OpenAI({ apiKey: settings.apiKey ?? 'unused', baseURL, maxRetries: 0 });
  const model = configuredModel(config, OPENAI_IMAGE_MODEL);
  const res = await client.images.generate(
    { prompt: req.prompt, model, n: 1, ...(req.size ? { size: req.size } : {}) },
    { signal: req.signal, timeout: config.ai.timeoutMs },
  );
  const image = res.data?.[0];
  if (image?.b64_json) {
    const bytes = Buffer.from(image.b64_json, 'base64');
    if (bytes.length > req.maxBytes) throw new ProviderAnswerError('image larger than allowed');
    return { bytes: new Uint8Array(bytes), model: `openai:${model}` };
  }
  if (image?.url) {
    const fetched = await safeFetchBytes(image.url, {
      trustedOrigins: [new URL(baseURL).origin],
      maxBytes: req.maxBytes,
      signal: req.signal,
      accept: 'image/png, image/jpeg, image/webp, image/gif',
    });
    return { bytes: fetched.bytes, model: `openai:${model}` };
  }
  throw new ProviderAnswerError('the provider answered without an image');
}

export async function generateWithMistral(config: Config, req: GenerateRequest): Promise<Generated> {
  const settings = config.ai.mistral!;
  const client = new Mistral({
    apiKey: settings.apiKey ?? '',
    ...(settings.serverURL ? { serverURL: settings.serverURL } : {}),
  });
  const model = configuredModel(config, MISTRAL_IMAGE_MODEL);
  const options = { signal: req.signal, timeoutMs: config.ai.timeoutMs, retries: { strategy: 'none' as const } };
  const conversation = await client.beta.conversations.start(
    {
      model,
      inputs: req.size ? `${req.prompt}\n\n(Image size: ${req.size})` : req.prompt,
      tools: [{ type: 'image_generation' }],
      instructions: 'Generate exactly one image for the request using the image generation tool.',
    },
    options,
  );
  let fileId: string | null = null;
  for (const entry of conversation.outputs) {
    if (entry.type !== 'message.output' || typeof entry.content === 'string') continue;
    for (const chunk of entry.content) {
      if (chunk.type === 'tool_file' && 'fileId' in chunk && chunk.fileId) {
        fileId = chunk.fileId;
        break;
      }
    }
    if (fileId) break;
  }
  if (!fileId) throw new ProviderAnswerError('the provider answered without an image');
  const stream = await client.files.download({ fileId }, options);
  const bytes = await readStreamCapped(stream, req.maxBytes, () => new ProviderAnswerError('image larger than allowed'));
  return { bytes, model: `mistral:${model}` };
}
