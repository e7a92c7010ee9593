/**
 * Reading an upload with the cap enforced on the bytes actually read: a declared
 * Content-Length over the cap is refused before reading anything, and a body sent
 * without one (chunked) is cut off as soon as it passes the cap.
 */
import { badRequest, tooLarge, unsupportedMedia } from '../errors';
import { readBodyCapped } from '../http/body';
import { parseMultipart, type Part } from '../http/multipart';
import { documentKind, MAX_DOCUMENT_BYTES, type DocumentKind } from '../documents/extract';
import { declaredType, documentMime, isImageMime, safeDocumentName, sniffImage, safeFileName, type ImageMime, type StoredMime } from './sniff';

/** The largest image a user may upload. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** The largest document (PDF, DOCX, text) a user may upload. */
export const MAX_DOCUMENT_UPLOAD_BYTES = MAX_DOCUMENT_BYTES;
/** Multipart framing around the file (boundaries, part headers, a few small fields). */
const MULTIPART_OVERHEAD = 64 * 1024;

const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

export interface ImageUpload {
  bytes: Uint8Array;
  mime: ImageMime;
  name: string;
  fields: Record<string, string>;
}

/** An upload that is an image or a document (`kind` says which document it is). */
export interface FileUpload {
  bytes: Uint8Array;
  mime: StoredMime;
  name: string;
  /** Set for documents: how to read their text. */
  kind: DocumentKind | null;
  fields: Record<string, string>;
}

const ONLY = 'Only images (PNG, JPEG, WebP, GIF) and documents (PDF, DOCX, text, Markdown, CSV, source code) can be uploaded';

/**
 * The `file` part of POST /api/files: an image (by its bytes, as readImageUpload) or a
 * document (PDF and DOCX by their bytes, text by its name or declared type and the
 * absence of binary), under the cap of its kind.
 */
export async function readFileUpload(request: Request): Promise<FileUpload> {
  const { file, fields } = await readParts(request, MAX_DOCUMENT_UPLOAD_BYTES);
  const bytes = file.data.slice();
  const declared = declaredType(file.contentType);
  const image = sniffImage(bytes);
  if (image) {
    // An image declared as something else (text/html, SVG) is refused, as it always was.
    if (declared !== null && !isImageMime(declared)) throw unsupportedMedia('Only PNG, JPEG, WebP and GIF images can be uploaded');
    if (bytes.byteLength > MAX_UPLOAD_BYTES) throw tooLarge(`The image is larger than ${mb(MAX_UPLOAD_BYTES)}`);
    return { bytes, mime: image, name: safeFileName(file.filename, image), kind: null, fields };
  }
  // A declared image that is not one of ours (SVG, a renamed page) is refused, as before.
  if (declared?.startsWith('image/')) throw unsupportedMedia('The file is not a PNG, JPEG, WebP or GIF image');
  const kind = documentKind(bytes, file.filename ?? '', declared);
  if (!kind) throw unsupportedMedia(ONLY);
  const mime = documentMime(kind, file.filename ?? '');
  return { bytes, mime, name: safeDocumentName(file.filename, mime), kind, fields };
}

async function readParts(request: Request, maxBytes: number): Promise<{ file: Part; fields: Record<string, string> }> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    throw unsupportedMedia('Send the file as multipart/form-data with a `file` field');
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
  if (file.data.byteLength > maxBytes) throw tooLarge(`The file is larger than ${mb(maxBytes)}`);
  if (file.data.byteLength === 0) throw badRequest({ file: 'is empty' });
  const fields: Record<string, string> = {};
  for (const part of parts) {
    if (part.filename === null && part.name && part.data.byteLength <= 1024) {
      fields[part.name] = new TextDecoder().decode(part.data);
    }
  }
  return { file, fields };
}

/**
 * The `file` part of a multipart image upload, checked: at most MAX_UPLOAD_BYTES,
 * an allowed image type by its bytes, and (when the client declared a type) a
 * declared type that is an allowed image too. Other text fields come back in `fields`.
 */
export async function readImageUpload(request: Request, maxBytes = MAX_UPLOAD_BYTES): Promise<ImageUpload> {
  const { file, fields } = await readParts(request, maxBytes);
  const declared = declaredType(file.contentType);
  if (declared !== null && !isImageMime(declared)) {
    throw unsupportedMedia('Only PNG, JPEG, WebP and GIF images can be uploaded');
  }
  const bytes = file.data.slice();
  const mime = sniffImage(bytes);
  if (!mime) throw unsupportedMedia('The file is not a PNG, JPEG, WebP or GIF image');

  const name = safeFileName(file.filename, mime);
  return { bytes, mime, name, fields };
}
