/**
 * The photos attached in a composer: each is resized on the device (resize.ts, loaded on
 * first use), then uploaded at once with its progress, so Send only has to name the ids.
 * Refusals (not an image, too large, too many) are said plainly and never reach the server.
 */
import { api, ApiError } from '$lib/api';
import type { Attachment } from '$server/threads/model';
import { isDocument, refuseEarly } from './limits';

/** The server's limit per message (POST /api/threads/:id/messages). */
export const MAX_ATTACHMENTS = 8;

export interface PendingUpload {
  key: string;
  name: string;
  /** An object URL of the resized image, once ready. */
  preview: string | null;
  status: 'preparing' | 'uploading' | 'done' | 'error';
  /** Upload progress, 0…1. */
  progress: number;
  error: string | null;
  attachment: Attachment | null;
  /** A document (PDF, DOCX, text…): sent as it is, shown as a chip rather than a preview. */
  document?: { size: number };
}

export class Uploads {
  items = $state<PendingUpload[]>([]);
  /** Why the last files picked were not added (wrong type, too many…). */
  notice = $state<string | null>(null);
  #aborts = new Map<string, AbortController>();

  get busy() {
    return this.items.some((u) => u.status === 'preparing' || u.status === 'uploading');
  }
  get failed() {
    return this.items.some((u) => u.status === 'error');
  }
  /** The uploaded files, in the order they were attached. */
  get ready(): Attachment[] {
    return this.items.flatMap((u) => (u.status === 'done' && u.attachment ? [u.attachment] : []));
  }

  add(files: Iterable<File>, threadId?: string) {
    const list = [...files];
    if (!list.length) return;
    const refusals: string[] = [];
    let resize: Promise<typeof import('./resize')> | null = null;
    for (const file of list) {
      const refused = refuseEarly(file);
      if (refused) {
        refusals.push(refused);
        continue;
      }
      if (this.items.length >= MAX_ATTACHMENTS) {
        refusals.push(`At most ${MAX_ATTACHMENTS} files per message.`);
        break;
      }
      const key = crypto.randomUUID();
      if (isDocument(file)) {
        const name = file.name || 'document';
        this.items.push({ key, name, preview: null, status: 'uploading', progress: 0, error: null, attachment: null, document: { size: file.size } });
        void this.#upload(key, file, name, new AbortController(), threadId).catch(() => {});
        continue;
      }
      resize ??= import('./resize');
      this.items.push({ key, name: file.name || 'image', preview: null, status: 'preparing', progress: 0, error: null, attachment: null });
      void this.#process(key, file, resize, threadId).catch(() => {});
    }
    this.notice = refusals.length ? refusals.join(' ') : null;
  }

  remove(key: string) {
    this.#aborts.get(key)?.abort();
    this.#aborts.delete(key);
    const item = this.items.find((u) => u.key === key);
    if (item?.preview) URL.revokeObjectURL(item.preview);
    this.items = this.items.filter((u) => u.key !== key);
    if (!this.items.length) this.notice = null;
  }

  /** Takes the uploaded items out of the tray as a message is sent; `restore` puts them back if it was not. */
  take(): PendingUpload[] {
    const taken = this.items.filter((u) => u.status === 'done');
    this.items = this.items.filter((u) => u.status !== 'done');
    return taken;
  }

  restore(taken: PendingUpload[]) {
    this.items = [...taken, ...this.items];
  }

  /** The message went out: its previews are no longer needed (the thread shows the server's copies). */
  release(taken: PendingUpload[]) {
    for (const u of taken) if (u.preview) URL.revokeObjectURL(u.preview);
  }

  /** After sending (or switching threads): forget them. Sent images are shown from the server. */
  clear() {
    for (const u of this.items) this.remove(u.key);
    this.notice = null;
  }

  #item(key: string) {
    return this.items.find((u) => u.key === key);
  }

  async #process(key: string, file: File, resize: Promise<typeof import('./resize')>, threadId?: string) {
    const abort = new AbortController();
    this.#aborts.set(key, abort);
    try {
      const { prepareImage } = await resize;
      const prepared = await prepareImage(file);
      const item = this.#item(key);
      if (!item || abort.signal.aborted) return;
      item.preview = URL.createObjectURL(prepared.blob);
      item.name = prepared.name;
      item.status = 'uploading';
      await this.#upload(key, prepared.blob, prepared.name, abort, threadId);
    } catch (error) {
      this.#failed(key, error);
    } finally {
      this.#aborts.delete(key);
    }
  }

  async #upload(key: string, blob: Blob, name: string, abort: AbortController, threadId?: string) {
    this.#aborts.set(key, abort);
    try {
      const { file: stored } = await api.files.upload(blob, {
        name,
        threadId,
        signal: abort.signal,
        onProgress: (p) => {
          const current = this.#item(key);
          if (current) current.progress = p;
        },
      });
      const item = this.#item(key);
      if (!item) return;
      item.status = 'done';
      item.progress = 1;
      const { id, url, mime, size, textStatus, pages, textError } = stored;
      item.attachment = { id, url, mime, name: stored.name, size, textStatus, pages, textError };
    } catch (error) {
      this.#failed(key, error);
    } finally {
      this.#aborts.delete(key);
    }
  }

  #failed(key: string, error: unknown) {
    if ((error as Error)?.name === 'AbortError') return;
    const item = this.#item(key);
    if (!item) return;
    item.status = 'error';
    item.error = uploadError(error, item.name);
  }
}

export function uploadError(error: unknown, name: string): string {
  if (error instanceof ApiError) {
    if (error.status === 413) return `“${name}” is too large for the server (10 MB for images, 20 MB for documents).`;
    if (error.status === 415) return `“${name}” is not a file the server accepts: ${error.message}`;
    if (error.status === 429) return 'Too many uploads for now. Try again in a few minutes.';
    if (error.status === 0) return `“${name}” was not uploaded: you are offline.`;
    return `“${name}” was not uploaded: ${error.message}`;
  }
  return error instanceof Error && error.message ? error.message : `“${name}” could not be attached.`;
}
