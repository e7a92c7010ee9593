/**
 * Where an attachment's bytes are read from. The one place image display asks, so an
 * offline copy (src/lib/offline/, a blob URL from IndexedDB) can answer here later.
 * A share's attachments already point at `/api/shares/:code/files/:id`.
 */
import type { Attachment } from '$lib/types';

export function attachmentUrl(a: Attachment, opts: { download?: boolean } = {}): string {
  const url = a.url ?? (a.id ? `/api/files/${encodeURIComponent(a.id)}` : '');
  if (!opts.download || !url || url.startsWith('blob:') || url.startsWith('data:')) return url;
  return `${url}${url.includes('?') ? '&' : '?'}download=1`;
}

/** Alt text: the prompt of a generated image, else the file's name. */
export function attachmentAlt(a: Attachment, prompt?: string): string {
  const text = prompt?.trim();
  if (text) return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return a.name ? `Image: ${a.name}` : 'Image';
}
