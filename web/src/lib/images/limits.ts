/** What the device accepts before decoding anything (kept small: it is in the app chunk). */

/** The server's limit (POST /api/files). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** A file we would not even try to decode (a video picked by mistake, a RAW file…). */
export const MAX_SOURCE_BYTES = 50 * 1024 * 1024;

export const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;

/** Why a file cannot be attached, or null. SVG is refused too: it can carry script. */
export function refuseEarly(file: { type: string; size: number; name: string }): string | null {
  const type = file.type.toLowerCase();
  const name = file.name || 'This file';
  const looksLikeImage = type.startsWith('image/') || (!type && /\.(png|jpe?g|webp|gif|heic|heif|avif)$/i.test(file.name));
  if (!looksLikeImage || type === 'image/svg+xml') return `“${name}” is not a photo or picture. Attach PNG, JPEG, WebP or GIF images.`;
  if (file.size > MAX_SOURCE_BYTES) return `“${name}” is too large (${megabytes(file.size)}). Pick an image under ${megabytes(MAX_SOURCE_BYTES)}.`;
  return null;
}
