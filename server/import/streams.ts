/**
 * The streaming pieces of an import, so a 100 MB export is never in memory whole:
 * - saveUploadedFile: the `file` part of a multipart request, written to a temporary
 *   file as it arrives (capped on the bytes read);
 * - jsonArrayItems: the elements of a top-level JSON array, one at a time, from a byte
 *   stream (a ChatGPT or Claude conversations.json, a Parley threads.json).
 */
import { boundaryOf } from '../http/multipart';

export class ImportError extends Error {}

const concat = (a: Uint8Array, b: Uint8Array) => {
  if (!a.byteLength) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
};

const indexOf = (hay: Uint8Array, needle: Uint8Array, from = 0) => Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle, from);

/**
 * Streams the multipart body's `file` part into `path`. Other parts are skipped. Throws
 * ImportError on malformed framing or a missing part, `tooLarge()` past `maxBytes`.
 */
export async function saveUploadedFile(
  body: ReadableStream<Uint8Array> | null,
  contentType: string,
  path: string,
  maxBytes: number,
  tooLarge: () => Error,
  onBytes?: (n: number) => void,
): Promise<{ filename: string | null; size: number }> {
  const boundary = boundaryOf(contentType);
  if (!boundary || !body) throw new ImportError('the upload is not multipart/form-data with a boundary');
  const opening = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // Flushed to the file a megabyte at a time (a FileSink otherwise keeps what it is given until it ends).
  const sink = Bun.file(path).writer({ highWaterMark: 1024 * 1024 });
  let state: 'preamble' | 'headers' | 'data' | 'done' = 'preamble';
  let buffer: Uint8Array = new Uint8Array(0);
  let current: { name: string; filename: string | null } | null = null;
  let found: { filename: string | null; size: number } | null = null;
  let total = 0;
  let size = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value) {
        total += value.byteLength;
        if (total > maxBytes) {
          reader.cancel().catch(() => {});
          throw tooLarge();
        }
        onBytes?.(total);
        buffer = concat(buffer, value);
      }
      for (let progressed = true; progressed && state !== 'done'; ) {
        progressed = false;
        if (state === 'preamble') {
          const at = indexOf(buffer, opening);
          if (at >= 0 && buffer.byteLength >= at + opening.length + 2) {
            buffer = buffer.subarray(at + opening.length);
            state = 'headers';
            progressed = true;
          }
        } else if (state === 'headers') {
          if (buffer[0] === 0x2d && buffer[1] === 0x2d) {
            state = 'done';
            break;
          }
          const end = indexOf(buffer, Buffer.from('\r\n\r\n'));
          if (end < 0) {
            if (buffer.byteLength > 16384) throw new ImportError('the upload has malformed part headers');
            break;
          }
          const headers = Buffer.from(buffer.subarray(0, end)).toString('utf8');
          const disposition = headers.match(/content-disposition:([^\r\n]*)/i)?.[1] ?? '';
          const name = disposition.match(/\bname="([^"]*)"/i)?.[1] ?? '';
          const filename = disposition.match(/\bfilename="([^"]*)"/i)?.[1] ?? null;
          current = { name, filename };
          buffer = buffer.subarray(end + 4);
          state = 'data';
          progressed = true;
        } else if (state === 'data') {
          const at = indexOf(buffer, delimiter);
          const isFile = current?.name === 'file' && !found;
          if (at >= 0) {
            if (isFile) {
              sink.write(buffer.subarray(0, at));
              size += at;
              found = { filename: current!.filename, size };
            }
            buffer = buffer.subarray(at + delimiter.length);
            state = 'headers';
            // After a delimiter: "--" closes, CRLF starts the next part's headers.
            if (buffer.byteLength >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a) buffer = buffer.subarray(2);
            progressed = true;
          } else {
            // Keep what could be the start of a delimiter; the rest is the part's data.
            const keep = Math.min(buffer.byteLength, delimiter.length);
            const ready = buffer.subarray(0, buffer.byteLength - keep);
            if (isFile && ready.byteLength) {
              sink.write(ready);
              size += ready.byteLength;
            }
            buffer = buffer.slice(buffer.byteLength - keep);
          }
        }
      }
      if (done) break;
    }
  } finally {
    await sink.end();
  }
  if (!found) throw new ImportError('the upload has no `file` part');
  return found;
}

/**
 * The elements of a top-level JSON array, parsed one at a time. A top-level object is
 * answered as one element (a Parley thread export: its `threads` are then read from it).
 */
export async function* jsonArrayItems(stream: AsyncIterable<Uint8Array>, maxItemBytes = 64 * 1024 * 1024): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let mode: 'start' | 'array' | 'object' | 'end' = 'start';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let item: string[] = [];
  let itemBytes = 0;
  let index = 0;
  const parse = (text: string) => {
    try {
      return JSON.parse(text);
    } catch {
      throw new ImportError(`item ${index + 1} of the JSON is not valid JSON`);
    }
  };
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (mode === 'end') {
        if (c > 32) throw new ImportError('there is more after the end of the JSON');
        continue;
      }
      if (mode === 'start') {
        if (c <= 32 || c === 0xfeff) continue;
        if (c === 0x5b /* [ */) {
          mode = 'array';
          from = i + 1;
          continue;
        }
        if (c === 0x7b /* { */) {
          mode = 'object';
          depth = 1;
          from = i;
          continue;
        }
        throw new ImportError('the file is neither JSON nor a zip');
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
        continue;
      }
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (mode === 'array' && depth === 0) {
          // The array's closing bracket.
          item.push(text.slice(from, i));
          const last = item.join('').trim();
          if (last) {
            yield parse(last);
            index++;
          }
          item = [];
          mode = 'end';
          continue;
        }
        depth--;
        if (mode === 'object' && depth === 0) {
          item.push(text.slice(from, i + 1));
          yield parse(item.join(''));
          item = [];
          mode = 'end';
        }
      } else if (c === 0x2c /* , */ && mode === 'array' && depth === 0) {
        item.push(text.slice(from, i));
        const element = item.join('').trim();
        if (!element) throw new ImportError(`item ${index + 1} of the JSON is empty`);
        yield parse(element);
        index++;
        item = [];
        itemBytes = 0;
        from = i + 1;
      }
    }
    if (mode === 'array' || mode === 'object') {
      const rest = text.slice(from);
      item.push(rest);
      itemBytes += rest.length;
      if (itemBytes > maxItemBytes) throw new ImportError(`item ${index + 1} of the JSON is larger than ${maxItemBytes / 1024 / 1024} MB`);
    }
  }
  if ((mode as string) !== 'end') throw new ImportError((mode as string) === 'start' ? 'the file is empty' : 'the JSON ends before it is complete');
}
