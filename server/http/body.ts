/**
 * Reading a body with the cap enforced on the bytes actually read: the reader is
 * cancelled the moment the count passes `maxBytes`, so the rest is never pulled into
 * memory, whatever Content-Length said. Used for uploads (requests) and for what the
 * server fetches from providers (responses).
 */

/** A stream's chunks as they are read, refused (`tooLarge`) as soon as their total passes `maxBytes`. */
export async function* chunksCapped(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => Error,
): AsyncGenerator<Uint8Array> {
  if (!stream) return;
  const reader = stream.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
      if (total > maxBytes) {
        reader.cancel().catch(() => {});
        throw tooLarge();
      }
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** A whole stream under a cap, in one buffer. */
export async function readStreamCapped(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunksCapped(stream, maxBytes, tooLarge)) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Refuses (unread) a request or response whose declared Content-Length is over the cap. */
export async function refuseDeclaredOver(message: Request | Response, maxBytes: number, tooLarge: () => Error): Promise<void> {
  const declared = message.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await message.body?.cancel().catch(() => {});
    throw tooLarge();
  }
}

/** A request or response body under a cap; a declared Content-Length over it is refused before reading. */
export async function readBodyCapped(
  message: Request | Response,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array<ArrayBuffer>> {
  await refuseDeclaredOver(message, maxBytes, tooLarge);
  return readStreamCapped(message.body, maxBytes, tooLarge);
}
