/**
 * A small multipart/form-data parser over bytes already read under a cap.
 * Why not `Response.formData()`: Bun's parser ignores each part's Content-Type and
 * infers the type from the file name's extension (a PNG declared `text/html` but
 * named `x.png` comes back as `image/png`), and the declared type is one of the
 * things an upload is checked on. Here every part keeps its own headers.
 */
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

export interface Part {
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Uint8Array;
}

export class MultipartError extends Error {}

export function boundaryOf(contentType: string): string | null {
  const match = contentType.match(/;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

function headerValue(headers: string, name: string): string | null {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return null;
}

/** `name="…"` from a Content-Disposition (not `filename="…"`), quotes as browsers send them. */
function param(disposition: string, key: string): string | null {
  const match = disposition.match(new RegExp(`(?:^|;)\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i'));
  if (match) return match[1]!.replace(/\\(.)/g, '$1');
  const bare = disposition.match(new RegExp(`(?:^|;)\\s*${key}=([^;\\s]+)`, 'i'));
  return bare ? bare[1]! : null;
}

export function parseMultipart(body: Uint8Array, contentType: string, maxParts = 20): Part[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new MultipartError('no boundary');
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = buffer.indexOf(delimiter);
  if (pos < 0) throw new MultipartError('no parts');
  const parts: Part[] = [];
  for (;;) {
    pos += delimiter.length;
    if (buffer[pos] === 0x2d && buffer[pos + 1] === 0x2d) return parts; // closing "--"
    if (buffer[pos] !== 0x0d || buffer[pos + 1] !== 0x0a) throw new MultipartError('malformed delimiter');
    pos += 2;
    const headerEnd = buffer.indexOf(HEADER_END, pos);
    if (headerEnd < 0 || headerEnd - pos > 8192) throw new MultipartError('malformed part headers');
    const headers = buffer.subarray(pos, headerEnd).toString('utf8');
    const dataStart = headerEnd + HEADER_END.length;
    const next = buffer.indexOf(Buffer.concat([CRLF, delimiter]), dataStart);
    if (next < 0) throw new MultipartError('unterminated part');
    const disposition = headerValue(headers, 'content-disposition') ?? '';
    if (!/^form-data\b/i.test(disposition)) throw new MultipartError('part is not form-data');
    if (parts.length >= maxParts) throw new MultipartError('too many parts');
    parts.push({
      name: param(disposition, 'name') ?? '',
      filename: param(disposition, 'filename'),
      contentType: headerValue(headers, 'content-type'),
      data: body.subarray(dataStart, next),
    });
    pos = next + CRLF.length;
  }
}
