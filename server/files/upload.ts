/**
 * Reading an upload with the cap enforced on the bytes actually read: a declared
 * Content-Length over the cap is refused before reading anything, and a body sent
 * without one (chunked) is cut off as soon as it passes the cap.
 */
import { badRequest, tooLarge, unsupportedMedia } from '../errors';
import { readBodyCapped } from '../http/body';
import { parseMultipart, type Part } from '../http/multipart';
import { declaredType, isImageMime, sniffImage, safeFileName, type ImageMime } from './sniff';

/** The largest image a user may upload. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** Multipart framing around the file (boundaries, part headers, a few small fields). */
const MULTIPART_OVERHEAD = 64 * 1024;

const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

export interface ImageUpload {
  bytes: Uint8Array;
  mime: ImageMime;
  name: string;
  fields: Record<string, string>;
}

/**
 * The `file` part of a multipart image upload, checked: at most MAX_UPLOAD_BYTES,
 * an allowed image type by its bytes, and (when the client declared a type) a
 * declared type that is an allowed image too. Other text fields come back in `fields`.
 */
export async function readImageUpload(request: Request, maxBytes = MAX_UPLOAD_BYTES): Promise<ImageUpload> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    throw unsupportedMedia('Send the image as multipart/form-data with a `file` field');
  }
  const raw = await readBodyCapped(request, maxBytes + MULTIPART_OVERHEAD, () =>
    tooLarge(`The upload is larger than ${mb(maxBytes)}`),
  );
  let parts: Part[];
  try {
    parts = parseMultipart(raw, type);
  } catch {
    throw badRequest({ body: 'is not valid multipart/form-data' });
  }
  const file = parts.find((p) => p.name === 'file' && p.filename !== null);
  if (!file) throw badRequest({ file: 'is required' });
  if (file.data.byteLength > maxBytes) throw tooLarge(`The image is larger than ${mb(maxBytes)}`);
  if (file.data.byteLength === 0) throw badRequest({ file: 'is empty' });

  const declared = declaredType(file.contentType);
  if (declared !== null && !isImageMime(declared)) {
    throw unsupportedMedia('Only PNG, JPEG, WebP and GIF images can be uploaded');
  }
  const bytes = file.data.slice();
  const mime = sniffImage(bytes);
  if (!mime) throw unsupportedMedia('The file is not a PNG, JPEG, WebP or GIF image');

  const fields: Record<string, string> = {};
  for (const part of parts) {
    if (part.filename === null && part.name && part.data.byteLength <= 1024) {
      fields[part.name] = new TextDecoder().decode(part.data);
    }
  }
  const name = safeFileName(file.filename, mime);
  return { bytes, mime, name, fields };
}
