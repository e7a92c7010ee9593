/** The shapes of Parley's public API (shared/api.md), as the web app uses them. */

export interface User {
  id: string;
  email: string;
  name: string;
  role: 'user' | 'admin';
}

export interface Thread {
  id: string;
  title: string;
  model: string | null;
  systemPrompt: string;
  pinned: boolean;
  createdAt: string;
  updatedAt: string;
}

export type MessageStatus = 'complete' | 'streaming' | 'cancelled' | 'error';

export interface Attachment {
  id?: string;
  url?: string;
  mime?: string;
  name?: string;
  size?: number;
}

/** A stored file as POST /api/files and POST /api/images answer it. */
export interface StoredFile {
  id: string;
  mime: string;
  name: string;
  size: number;
  url: string;
}

export interface Message {
  id: string;
  threadId: string;
  parentId: string | null;
  role: 'user' | 'assistant' | 'system';
  content: string;
  status: MessageStatus;
  model: string | null;
  createdAt: string;
  attachments: Attachment[];
  /** Set by the server on a failed reply (when it sends one). */
  error?: string | null;
  /** Client-only: a placeholder while an image is generated for this thread. */
  pending?: 'image';
}

export interface Model {
  id: string;
  provider: string;
  name: string;
  capabilities: string[];
}

export type Theme = 'system' | 'light' | 'dark';

export interface Settings {
  defaultModel: string | null;
  theme: Theme;
  voice: string | null;
  talkMode: 'hold' | 'toggle';
}

export interface ProviderKeys {
  mistral: { last4: string } | null;
  openai: { last4: string } | null;
}

export interface SettingsBody {
  settings: Settings;
  keys: ProviderKeys;
}

export type SettingsUpdate = Partial<Settings> & {
  mistralKey?: string | null;
  openaiKey?: string | null;
};

/** Server-sent events of a reply (POST …/messages, GET /api/messages/:id/stream, regenerate). */
export type ReplyEvent =
  | { event: 'user'; data: { message: Message } }
  | { event: 'start'; data: { message: Message } }
  | { event: 'delta'; data: { id: string; text: string } }
  | { event: 'done'; data: { message: Message } }
  | { event: 'error'; data: { message: Message; error: unknown } }
  /** The thread's title, sent before the stream closes when the server names the thread. */
  | { event: 'title'; data: { threadId: string; title: string } };

/** GET /api/voice: which speech engines the server has, and the voices of its text-to-speech. */
export interface Voice {
  id: string;
  name: string;
  language: string | null;
}

export interface VoiceInfo {
  stt: string | null;
  tts: string | null;
  voices: Voice[];
  defaultVoice: string | null;
  /** The voice this user's speech requests get (their saved one if the engine has it). */
  voice: string | null;
  maxUploadBytes: number;
  maxTextChars: number;
  uploadTypes: string[];
}

/** POST /api/images. With a threadId, `message` is the assistant message holding the image. */
export interface GeneratedImage {
  file: StoredFile;
  message?: Message;
}

/** One of the user's active share links (GET /api/shares). */
export interface ShareLink {
  code: string;
  url: string;
  threadId: string;
  title: string;
  createdAt: string;
  updatedAt: string;
}

/** A message of a share's snapshot: fresh ids, no thread id. */
export type SharedMessage = Pick<Message, 'id' | 'parentId' | 'role' | 'content' | 'status' | 'model' | 'createdAt' | 'attachments'>;

/** GET /api/shares/:code: the public, read-only snapshot. */
export interface SharedThread {
  thread: { title: string; model: string | null; createdAt: string };
  messages: SharedMessage[];
  sharedAt: string;
}
