/**
 * Reading a recording upload under a hard cap. The route is registered with
 * `parse: 'none'`, so Elysia never buffers the body; we read it chunk by chunk,
 * stop with 413 the moment the count passes the cap (whatever Content-Length said),
 * and only then parse the multipart from the bytes we kept (see http/multipart.ts).
 */
import { badRequest, tooLarge, unsupportedMedia } from '../errors';
import { AUDIO_FORMATS, declaredFormat, sniffFormat, type AudioFormat } from './formats';
import { MAX_UPLOAD_BYTES, MULTIPART_OVERHEAD_BYTES } from './model';
import { readBodyCapped } from '../http/body';
import { MultipartError, parseMultipart, type Part } from '../http/multipart';

export interface Recording {
  bytes: Uint8Array;
  format: AudioFormat;
  /** The language code ("en" from "en-US"), lower case, when the client named one. */
  language: string | null;
}

const tooLargeError = () => tooLarge(`Recordings are limited to ${MAX_UPLOAD_BYTES / (1024 * 1024)} MB`);

const LANGUAGE = /^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?$/i;

/** Reads and checks a multipart recording upload: size, presence, type (declared and sniffed). */
export async function readRecording(request: Request): Promise<Recording> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw unsupportedMedia('Send the recording as multipart/form-data with a "file" field');
  }
  const body = await readBodyCapped(request, MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES, tooLargeError);
  let parts: Part[];
  try {
    parts = parseMultipart(body, contentType);
  } catch (error) {
    if (!(error instanceof MultipartError)) throw error;
    throw badRequest({ body: 'is not valid multipart/form-data' }, 'The upload could not be read');
  }
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

  const declared = declaredFormat(file.contentType ?? '', file.filename ?? '');
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
