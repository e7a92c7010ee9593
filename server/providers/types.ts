import type { UserKeys } from '../settings/service';
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

/** A call the model asked for; `arguments` is its JSON text as the model wrote it. */
export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | ContentPart[];
  /** On an assistant turn that called tools (within one reply's tool loop). */
  toolCalls?: ToolCallRequest[];
  /** On a tool turn: the call it answers. */
  toolCallId?: string;
  /** On a tool turn: the tool's name (Mistral wants it). */
  name?: string;
}

/** A tool offered to the model: its name, what it does, and its input as JSON Schema. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export type StreamEvent =
  | { type: 'delta'; text: string }
  /** Reasoning ("thinking") text, kept apart from the answer. */
  | { type: 'reasoning'; text: string }
  /** A complete tool call (sent once its arguments have fully streamed). */
  | { type: 'tool_call'; call: ToolCallRequest }
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
  /** Tools the model may call (only sent to models with the `tools` capability). */
  tools?: ToolSpec[];
  /** Ask for more reasoning where the model takes an effort setting. */
  reasoningEffort?: 'high' | null;
}

/** What a reply adds to the conversation when it calls the provider. */
export interface StreamOptions {
  tools?: ToolSpec[];
  reasoningEffort?: 'high' | null;
  /** The user's keys when the caller read them already (Providers.view): no second read. */
  keys?: UserKeys;
}

export interface ChatProvider {
  id: ProviderId;
  stream(req: StreamRequest): AsyncGenerator<StreamEvent>;
  listModels(apiKey?: string | null): Promise<ModelInfo[]>;
}

/** What the replies need to know of a model before calling it (`view`: the user's, when read already). */
export type ModelLookup = (userId: string, modelId: string, view?: UserView) => Promise<ModelInfo | null>;

/**
 * One read of what a user's requests need from the providers: their keys, their default model
 * and the models they can use. A reply reads it once and hands it to each step (model choice,
 * model information, the provider request), so none of them reads the database again.
 */
export interface UserView {
  models: ModelInfo[];
  userDefault: string | null;
  keys: UserKeys;
}

/** What the rest of the server uses: provider choice, user keys and model lists resolved here. */
export interface Providers {
  /** Merged, cached model list for this user (their own keys may add a provider). */
  models(userId: string): Promise<{ models: ModelInfo[]; defaultModel: string | null }>;
  /** The model to use when a thread names none (or names one that no longer exists). */
  resolveModel(userId: string, requested: string | null | undefined, view?: UserView): Promise<string | null>;
  /** The user's keys, default model and models in one read (see UserView). Optional for stand-ins. */
  /** `checked`: the model lists (which may ask providers) wait for it; the keys are read at once. */
  view?(userId: string, checked?: Promise<void>): Promise<UserView>;
  /** Streams a reply with `modelId` (`provider:model`), using the user's key when they saved one. */
  stream(userId: string, modelId: string, messages: ChatMessage[], signal: AbortSignal, options?: StreamOptions): AsyncGenerator<StreamEvent>;
  /** The listed model with this id for this user (capabilities, context length), or null. Optional for stand-ins. */
  modelInfo?: ModelLookup;
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
