/**
 * Images of mirrored threads, readable offline (issue 7, item 5). After each sync the bytes
 * of image attachments not stored yet are fetched (GET /api/files/:id, owner-only), newest
 * messages first, into the account's mirror: at most MAX_IMAGE_BYTES each (larger ones are
 * skipped) and MAX_TOTAL_BYTES in all. They go with the rest of the mirror at sign-out.
 *
 * `fileUrl(attachment)` is what message rendering uses for an image's `src`.
 */
import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import { send } from '$lib/api';
import type { Attachment } from '$server/threads/model';
import { connectivity } from '$lib/state/connectivity.svelte';
import type { Mirror } from './mirror';

export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
export const MAX_TOTAL_BYTES = 100 * 1024 * 1024;

let mirror: Mirror | null = null;
/** File id → object URL of its mirrored bytes (made on first use offline). */
const objectUrls = new SvelteMap<string, string>();
/** Looked up and not in the mirror: not asked again until the mirror changes. */
const absent = new SvelteSet<string>();
const looking = new Set<string>();
let fetching: Promise<void> | null = null;

/**
 * The URL to show an attachment with: the network URL online; offline, an object URL of the
 * bytes kept in the mirror. `undefined` only for the moment the bytes are read from
 * IndexedDB; an image the mirror did not keep (too large, not downloaded yet) gets its
 * network URL, which fails to load offline like any other (show "unavailable" on `error`).
 * Reactive: `src={fileUrl(a)}` updates when the network comes or goes and when the bytes are read.
 */
export function fileUrl(attachment: Pick<Attachment, 'id' | 'url'>): string | undefined {
  const id = attachment.id;
  const network = attachment.url ?? (id ? `/api/files/${encodeURIComponent(id)}` : undefined);
  if (!id || connectivity.online || !mirror) return network;
  const local = objectUrls.get(id);
  if (local) return local;
  if (absent.has(id)) return network;
  if (!looking.has(id)) void readLocal(mirror, id);
  return undefined;
}

async function readLocal(from: Mirror, id: string) {
  looking.add(id);
  try {
    const record = await from.file(id).catch(() => undefined);
    if (from !== mirror) return;
    if (record?.blob) objectUrls.set(id, URL.createObjectURL(record.blob));
    else absent.add(id);
  } finally {
    looking.delete(id);
  }
}

/** The account whose mirror images come from (null at sign-out: every object URL is revoked). */
export function setImageMirror(next: Mirror | null) {
  if (next === mirror) return;
  mirror = next;
  forgetImages();
}

/** Drops object URLs made so far (sign-out, "Remove offline copy"). */
export function forgetImages() {
  for (const url of objectUrls.values()) URL.revokeObjectURL(url);
  objectUrls.clear();
  absent.clear();
}

/** Downloads the images the mirror knows of but does not hold yet. One run at a time. */
export function fetchImages(from: Mirror): Promise<void> {
  fetching ??= download(from).finally(() => {
    fetching = null;
  });
  return fetching;
}

async function download(from: Mirror) {
  const records = await from.files().catch(() => []);
  let total = records.reduce((sum, r) => sum + (r.blob?.size ?? 0), 0);
  const wanted = records.filter((r) => !r.blob && !r.skipped).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  for (const record of wanted) {
    if (from.closed || !connectivity.online) return;
    if (record.size > MAX_IMAGE_BYTES || total + record.size > MAX_TOTAL_BYTES) {
      await from.putFile({ ...record, skipped: true });
      continue;
    }
    let blob: Blob;
    try {
      blob = await (await send('GET', `/api/files/${encodeURIComponent(record.id)}`)).blob();
    } catch (error) {
      // Gone from the server (its thread was deleted): a tombstone will clear the record.
      if ((error as { status?: number }).status === 404) await from.putFile({ ...record, skipped: true });
      else return;
      continue;
    }
    const tooBig = blob.size > MAX_IMAGE_BYTES || total + blob.size > MAX_TOTAL_BYTES;
    await from.putFile(tooBig ? { ...record, size: blob.size, skipped: true } : { ...record, size: blob.size, blob });
    if (!tooBig) {
      total += blob.size;
      absent.delete(record.id);
    }
  }
}
