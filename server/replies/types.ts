/**
 * The replies feature's shared types: a leaf module (it imports nothing from the
 * feature but model.ts, itself a leaf of schemas), so every other module of
 * server/replies/ can depend on it without cycles.
 */
import type { AppDeps } from '../deps';
import type { ChatMessage } from '../providers/types';
import type { Attachment, Message } from '../threads/model';
import type { ReplyEvent } from './model';

/** The events of a reply's stream: their schemas are the contract (model.ts, a leaf too). */
export type { ReplyEvent } from './model';

/** The event that gives a reply its final state. */
export type FinalEvent = Extract<ReplyEvent, { event: 'done' | 'error' }>;

export type Send = (event: ReplyEvent) => void;

/**
 * Feeds one SSE response: sends events, calls `close` when there is nothing more; returns its cleanup.
 * `viewer` is the session of the client reading it (to tell whether a reply ended watched).
 */
export type Feed = (send: Send, close: () => void, viewer?: string) => (() => void) | void;

/** What generating a reply needs from the app. */
export type RunnerDeps = Pick<AppDeps, 'sql' | 'providers' | 'config' | 'tools'>;

export interface FileReader {
  /** The bytes of a user's file, or null when absent or not theirs. */
  read(userId: string, fileId: string): Promise<{ mime: string; bytes: Uint8Array } | null>;
  /** What a message stores about an attached file, or null when absent or not theirs. */
  describe(userId: string, fileId: string): Promise<Attachment | null>;
  /** The stored text of the user's documents among these files (id → text). */
  texts?(userId: string, fileIds: string[]): Promise<Map<string, string>>;
}

/** What a completion step learns about a reply that completed. */
export interface Completed {
  userId: string;
  threadId: string;
  message: Message;
  /** The conversation the provider was given. */
  context: ChatMessage[];
  /** The sessions of the clients attached to the reply's stream when it ended (none: unwatched). */
  viewers: string[];
}

/**
 * Work done after a reply completes and before its stream ends (e.g. naming the
 * thread); the event it returns, if any, is sent to every client still attached.
 */
export type CompletionStep = (reply: Completed) => Promise<ReplyEvent | null>;
