/**
 * Reading a recording upload under a hard cap. The route is registered with
 * `parse: 'none'`, so Elysia never buffers the body; we read it chunk by chunk,
 * stop with 413 the moment the count passes the cap (whatever Content-Length said),
 * and only then parse the multipart from the bytes we kept (see multipart.ts).
 */
import { badRequest, tooLarge, unsupportedMedia } from '../errors';
import { AUDIO_FORMATS, declaredFormat, sniffFormat, type AudioFormat } from './formats';
import { MAX_UPLOAD_BYTES, MULTIPART_OVERHEAD_BYTES } from './model';
import { parseMultipart } from './multipart';

export interface Recording {
  bytes: Uint8Array;
  format: AudioFormat;
  /** The language code ("en" from "en-US"), lower case, when the client named one. */
  language: string | null;
}

const tooLargeError = () => tooLarge(`Recordings are limited to ${MAX_UPLOAD_BYTES / (1024 * 1024)} MB`);

/** The whole body, refusing as soon as more than `cap` bytes have arrived. */
export async function readCapped(request: Request, cap: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > cap) throw tooLargeError();
  const reader = request.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > cap) {
        // Stop pulling: the rest of the upload is never read into memory.
        reader.cancel().catch(() => {});
        throw tooLargeError();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

const LANGUAGE = /^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?$/i;

/** Reads and checks a multipart recording upload: size, presence, type (declared and sniffed). */
export async function readRecording(request: Request): Promise<Recording> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw unsupportedMedia('Send the recording as multipart/form-data with a "file" field');
  }
  const body = await readCapped(request, MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES);
  const parts = parseMultipart(body, contentType);
  if (!parts) throw badRequest({ body: 'is not valid multipart/form-data' }, 'The upload could not be read');
  const file = parts.find((p) => p.name === 'file' && p.filename !== null);
  if (!file) throw badRequest({ file: 'is required (an audio recording)' });
  if (file.data.byteLength === 0) throw badRequest({ file: 'is empty' });
  if (file.data.byteLength > MAX_UPLOAD_BYTES) throw tooLargeError();

  const languagePart = parts.find((p) => p.name === 'language' && p.filename === null);
  const rawLanguage = languagePart ? new TextDecoder().decode(languagePart.data) : null;
  let language: string | null = null;
  if (rawLanguage !== null && rawLanguage.trim() !== '') {
    if (!LANGUAGE.test(rawLanguage.trim())) {
      throw badRequest({ language: 'must be a language code such as "en" or "fr"' });
    }
    language = rawLanguage.trim().split(/[-_]/)[0]!.toLowerCase();
  }

  const declared = declaredFormat(file.type ?? '', file.filename ?? '');
  const sniffed = sniffFormat(file.data);
  if (!declared || !sniffed || declared !== sniffed) {
    const allowed = Object.keys(AUDIO_FORMATS).join(', ');
    throw unsupportedMedia(
      declared && !sniffed
        ? `The file is not a ${declared} recording`
        : declared && sniffed
          ? `The file is declared ${declared} but contains ${sniffed}`
          : `Recordings must be one of: ${allowed}`,
    );
  }
  return { bytes: file.data, format: sniffed, language };
}
