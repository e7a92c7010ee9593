/** What the device accepts before decoding anything (kept small: it is in the app chunk). */

/** The server's limit (POST /api/files). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** A file we would not even try to decode (a video picked by mistake, a RAW file…). */
export const MAX_SOURCE_BYTES = 50 * 1024 * 1024;

export const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;

/** The server's limit for documents. */
export const MAX_DOCUMENT_BYTES = 20 * 1024 * 1024;

/** Documents the server reads (PDF, DOCX, text, Markdown, CSV, source code): the picker's `accept` too. */
export const DOCUMENT_TYPES =
  '.pdf,.docx,.txt,.md,.markdown,.csv,.tsv,.json,.yaml,.yml,.toml,.xml,.html,.css,.js,.ts,.tsx,.jsx,.svelte,.py,.rb,.go,.rs,.java,.kt,.c,.h,.cpp,.cs,.php,.swift,.sh,.sql,.log';
const DOCUMENT = new RegExp(`(${DOCUMENT_TYPES.replace(/\./g, '\\.').replace(/,/g, '|')})$`, 'i');

export const isDocument = (file: { type: string; name: string }) =>
  DOCUMENT.test(file.name) || file.type === 'application/pdf' || /^text\/(plain|markdown|csv)$/.test(file.type);

/** Why a file cannot be attached, or null. SVG is refused too: it can carry script. */
export function refuseEarly(file: { type: string; size: number; name: string }): string | null {
  const type = file.type.toLowerCase();
  const name = file.name || 'This file';
  if (isDocument(file)) {
    return file.size > MAX_DOCUMENT_BYTES ? `“${name}” is too large (${megabytes(file.size)}). Documents can be up to 20 MB.` : null;
  }
  const looksLikeImage = type.startsWith('image/') || (!type && /\.(png|jpe?g|webp|gif|heic|heif|avif)$/i.test(file.name));
  if (!looksLikeImage || type === 'image/svg+xml') return `“${name}” cannot be attached. Attach images (PNG, JPEG, WebP, GIF) or documents (PDF, DOCX, text, Markdown, CSV, code).`;
  if (file.size > MAX_SOURCE_BYTES) return `“${name}” is too large (${megabytes(file.size)}). Pick an image under ${megabytes(MAX_SOURCE_BYTES)}.`;
  return null;
}
