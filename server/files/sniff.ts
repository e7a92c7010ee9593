/**
 * What a stored file may be. The type comes from the bytes (magic numbers), never
 * from the client's declaration or the file name: an HTML or SVG file renamed
 * `.png` is refused, and nothing outside this list is ever stored or served, so a
 * file response cannot become a script-carrying document on our origin.
 */

export const IMAGE_MIMES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;
export type ImageMime = (typeof IMAGE_MIMES)[number];

const EXTENSIONS: Record<ImageMime, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

export const isImageMime = (value: string): value is ImageMime => (IMAGE_MIMES as readonly string[]).includes(value);

/**
 * Documents (PDF, DOCX, text): stored for their text, served only as downloads
 * (Content-Disposition: attachment), never rendered on our origin. Source code,
 * JSON, HTML… are all stored as text/plain: what matters is their text.
 */
export const DOCX_MIME = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
export const DOCUMENT_MIMES = ['application/pdf', DOCX_MIME, 'text/plain', 'text/markdown', 'text/csv'] as const;
export type DocumentMime = (typeof DOCUMENT_MIMES)[number];
export type StoredMime = ImageMime | DocumentMime;

export const isDocumentMime = (value: string): value is DocumentMime => (DOCUMENT_MIMES as readonly string[]).includes(value);
export const isStoredMime = (value: string): value is StoredMime => isImageMime(value) || isDocumentMime(value);

/** The stored type of a document of this kind (text by its name: Markdown, CSV, else plain). */
export function documentMime(kind: 'pdf' | 'docx' | 'text', name: string): DocumentMime {
  if (kind === 'pdf') return 'application/pdf';
  if (kind === 'docx') return DOCX_MIME;
  if (/\.(md|markdown)$/i.test(name)) return 'text/markdown';
  if (/\.csv$/i.test(name)) return 'text/csv';
  return 'text/plain';
}

const startsWith = (bytes: Uint8Array, signature: number[], offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b);

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** The image type the bytes really are, or null when they are none of the allowed ones. */
export function sniffImage(bytes: Uint8Array): ImageMime | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp';
  return null;
}

/**
 * The declared type, reduced to its essence (`image/png; x=y` → `image/png`).
 * Empty and application/octet-stream mean "not declared" and defer to the bytes.
 */
export function declaredType(type: string | null | undefined): string | null {
  const essence = (type ?? '').split(';')[0]!.trim().toLowerCase();
  return essence === '' || essence === 'application/octet-stream' ? null : essence;
}

/**
 * A file name that is safe to store and to put in Content-Disposition: no path,
 * no control or quote characters, at most 120 characters, and an extension that
 * matches the real type (a PNG is never offered as `report.html`).
 */
export function safeFileName(name: string | null | undefined, mime: ImageMime): string {
  const stem = cleanName(name).replace(/\.[^.]*$/, '').replace(/^\.+/, '').slice(0, 110).trim() || 'image';
  return `${stem}.${EXTENSIONS[mime]}`;
}

/**
 * A document's name, cleaned like an image's; PDF and DOCX get their own extension,
 * a text file keeps its own (`main.rs`, `notes.md`: the extension says what the text
 * is) since it is only ever served as a text/plain download.
 */
export function safeDocumentName(name: string | null | undefined, mime: DocumentMime): string {
  const base = cleanName(name).replace(/^\.+/, '').slice(0, 120).trim();
  const stem = base.replace(/\.[^.]*$/, '').slice(0, 110).trim() || 'document';
  if (mime === 'application/pdf') return `${stem}.pdf`;
  if (mime === DOCX_MIME) return `${stem}.docx`;
  return /\.[a-z0-9]{1,10}$/i.test(base) ? base : `${stem}.txt`;
}

function cleanName(name: string | null | undefined) {
  return (name ?? '')
    .split(/[\\/]/)
    .pop()!
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f"*:<>?|;]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
