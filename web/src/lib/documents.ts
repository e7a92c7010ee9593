/** How a document attachment is described in the composer and the thread. */
import type { Attachment } from '$server/threads/model';

export const isDocumentAttachment = (a: Pick<Attachment, 'mime' | 'textStatus'>) =>
  Boolean(a.textStatus) || (!!a.mime && !a.mime.startsWith('image/'));

export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** "1.2 MB · 3 pages · text read", or why its text could not be read. */
export function documentInfo(a: Pick<Attachment, 'size' | 'pages' | 'textStatus' | 'textError'>): string {
  const parts = [fileSize(a.size)];
  if (a.pages) parts.push(`${a.pages} page${a.pages === 1 ? '' : 's'}`);
  if (a.textStatus === 'ready') parts.push('text read');
  else if (a.textStatus) parts.push(a.textError ?? 'no text could be read');
  return parts.join(' · ');
}
