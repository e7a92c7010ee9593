/**
 * How stored bytes go out, for owners and share viewers alike: the type from the
 * allow-list (the bytes were sniffed on the way in), nosniff, a sandboxing CSP in
 * case a browser renders the file as a document, a safe Content-Disposition, and
 * a validator-only cache (`no-cache` + ETag) so a revoked share or deleted file is
 * never served from a browser cache without asking us first.
 */
import { contentDisposition, isDocumentMime, isImageMime } from './sniff';

export const FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

export function fileResponse(
  request: Request,
  file: { mime: string; name: string; sha256: string; size: number; body: Uint8Array | ReadableStream<Uint8Array> },
  opts: { download?: boolean; cacheControl: string },
): Response {
  // The database check allows only these, but never let anything else out under our origin.
  // Documents always go out as downloads, text as text/plain (never HTML, whatever its name).
  const document = isDocumentMime(file.mime);
  const type = !document
    ? isImageMime(file.mime) ? file.mime : 'application/octet-stream'
    : file.mime.startsWith('text/') ? 'text/plain; charset=utf-8' : file.mime;
  const etag = `"${file.sha256}"`;
  const headers: Record<string, string> = {
    'content-type': type,
    'x-content-type-options': 'nosniff',
    'content-disposition': contentDisposition(opts.download || !isImageMime(file.mime) ? 'attachment' : 'inline', file.name || 'file'),
    'cache-control': opts.cacheControl,
    etag,
    'content-security-policy': FILE_CSP,
    'cross-origin-resource-policy': 'same-origin',
  };
  const match = request.headers.get('if-none-match');
  if (match && match.split(',').some((t) => t.trim() === etag)) {
    if (file.body instanceof ReadableStream) void file.body.cancel().catch(() => {});
    return new Response(null, { status: 304, headers });
  }
  headers['content-length'] = String(file.size);
  return new Response(file.body as BodyInit, { headers });
}

/** `?download=1` (or `true`) asks for an attachment instead of inline display. */
export const wantsDownload = (value: string | undefined) => value === '1' || value === 'true';
