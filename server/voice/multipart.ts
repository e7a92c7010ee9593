/**
 * A small multipart/form-data parser over bytes already read under the cap.
 * Why not `Response.formData()`: Bun's parser replaces each file part's declared
 * Content-Type with one guessed from the file name, and the type the client
 * declared is exactly what the allow-list has to check.
 */
export interface Part {
  name: string;
  filename: string | null;
  /** The part's Content-Type as sent, or null. */
  type: string | null;
  data: Uint8Array;
}

const MAX_PARTS = 16;
const MAX_HEADER_BYTES = 8 * 1024;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

export function boundaryOf(contentType: string): string | null {
  const match = contentType.match(/;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i);
  return match ? (match[1] ?? match[2])! : null;
}

function param(header: string, name: string): string | null {
  const match = header.match(new RegExp(`;\\s*${name}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i'));
  if (!match) return null;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]!;
}

/** The parts of a multipart body, or null when it is not well-formed multipart. */
export function parseMultipart(body: Uint8Array, contentType: string): Part[] | null {
  const boundary = boundaryOf(contentType);
  if (!boundary) return null;
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${boundary}`);
  // Each part's data ends at CRLF + delimiter.
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);
  let at = bytes.indexOf(delimiter);
  if (at < 0) return null;
  at += delimiter.length;
  const parts: Part[] = [];
  for (;;) {
    if (bytes[at] === 0x2d && bytes[at + 1] === 0x2d) return parts; // "--": the closing delimiter
    // Transport padding after the delimiter, then CRLF.
    while (bytes[at] === 0x20 || bytes[at] === 0x09) at++;
    if (bytes.indexOf(CRLF, at) !== at) return null;
    at += 2;
    const headerEnd = bytes.indexOf(HEADER_END, at);
    if (headerEnd < 0 || headerEnd - at > MAX_HEADER_BYTES) return null;
    const headers = new Map<string, string>();
    for (const line of bytes.toString('utf8', at, headerEnd).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const dataStart = headerEnd + 4;
    const dataEnd = bytes.indexOf(nextDelimiter, dataStart);
    if (dataEnd < 0) return null;
    const disposition = headers.get('content-disposition') ?? '';
    const name = param(disposition, 'name');
    if (!/^form-data\b/i.test(disposition) || name === null) return null;
    parts.push({
      name,
      filename: param(disposition, 'filename'),
      type: headers.get('content-type') ?? null,
      data: body.subarray(dataStart, dataEnd),
    });
    if (parts.length > MAX_PARTS) return null;
    at = dataEnd + nextDelimiter.length;
  }
}
