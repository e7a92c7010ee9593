/**
 * Where an attachment's bytes are read from: the one place image display asks. Online, the
 * network URL; offline, the copy kept in the account's mirror (src/lib/offline/files, an
 * object URL), or `undefined` for the moment it is read. A share's attachments point at
 * `/api/shares/:code/files/:id` and are always read from there (they are not the viewer's).
 */
import { fileUrl } from '$lib/offline/files.svelte';
import type { Attachment } from '$server/threads/model';

export function attachmentUrl(a: Attachment, opts: { download?: boolean } = {}): string | undefined {
  const url = a.url?.startsWith('/api/shares/') ? a.url : fileUrl(a);
  if (!opts.download || !url || url.startsWith('blob:') || url.startsWith('data:')) return url;
  return `${url}${url.includes('?') ? '&' : '?'}download=1`;
}

/** Alt text: the prompt of a generated image, else the file's name. */
export function attachmentAlt(a: Attachment, prompt?: string): string {
  const text = prompt?.trim();
  if (text) return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return a.name ? `Image: ${a.name}` : 'Image';
}
