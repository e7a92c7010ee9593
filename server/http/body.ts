/**
 * Reading a body with the cap enforced on the bytes actually read: the reader is
 * cancelled the moment the count passes `maxBytes`, so the rest is never pulled into
 * memory, whatever Content-Length said. Used for uploads (requests) and for what the
 * server fetches from providers (responses).
 */
export async function readStreamCapped(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A request or response body under a cap; a declared Content-Length over it is refused before reading. */
export async function readBodyCapped(
  message: Request | Response,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = message.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await message.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  return readStreamCapped(message.body, maxBytes, tooLarge);
}
