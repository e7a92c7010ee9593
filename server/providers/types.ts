/**
 * The contract between replies and the provider adapters. An adapter is an async
 * generator of a small discriminated union; persistence and timeouts live in the
 * replies service, so adapters only translate wire formats.
 */
import type { ModelInfo, ProviderId } from './model';

export type { ModelInfo, ProviderId } from './model';

export type ContentPart =
  | { type: 'text'; text: string }
  /** An image as bytes; each adapter encodes it the way its SDK expects. */
  | { type: 'image'; mime: string; data: Uint8Array };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ContentPart[];
}

export type StreamEvent =
  | { type: 'delta'; text: string }
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  | { type: 'done'; finishReason: string | null }
  | { type: 'error'; message: string; status?: number };

export interface StreamRequest {
  /** The model's own id, without the `provider:` prefix. */
  model: string;
  messages: ChatMessage[];
  signal: AbortSignal;
  /** The user's own key when they saved one; otherwise the server's. */
  apiKey?: string | null;
}

export interface ChatProvider {
  id: ProviderId;
  stream(req: StreamRequest): AsyncGenerator<StreamEvent>;
  listModels(apiKey?: string | null): Promise<ModelInfo[]>;
}

/** What the rest of the server uses: provider choice, user keys and model lists resolved here. */
export interface Providers {
  /** Merged, cached model list for this user (their own keys may add a provider). */
  models(userId: string): Promise<{ models: ModelInfo[]; defaultModel: string | null }>;
  /** The model to use when a thread names none (or names one that no longer exists). */
  resolveModel(userId: string, requested: string | null | undefined): Promise<string | null>;
  /** Streams a reply with `modelId` (`provider:model`), using the user's key when they saved one. */
  stream(userId: string, modelId: string, messages: ChatMessage[], signal: AbortSignal): AsyncGenerator<StreamEvent>;
  /**
   * The models a user would have with these keys (null: the server's key for that
   * provider). Settings use it to check a default model saved with a new key in the same request.
   * Optional so stand-in implementations need not provide it.
   */
  modelsForKeys?(keys: { mistral: string | null; openai: string | null }): Promise<ModelInfo[]>;
  /**
   * Asks the provider whether it accepts a key (by listing its models with it, uncached), before
   * settings store it. Optional like modelsForKeys.
   */
  checkKey?(provider: ProviderId, apiKey: string): Promise<KeyCheck>;
}

/** What a provider said of a key: accepted; refused (401/403); or no answer to judge by. */
export type KeyCheck = { ok: true } | { ok: false; refused: boolean; status: number | null };
