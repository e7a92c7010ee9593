/**
 * Relaying audio as it is produced. We wait for the first chunk before answering,
 * so a source that fails or stalls before any audio still gets a proper 502/504;
 * after that, bytes go to the client as they arrive, a stall longer than `idleMs`
 * ends the stream, and a client that goes away cancels the source.
 */
export class StallError extends Error {
  override name = 'StallTimeoutError';
}

type ReadResult<T> = Awaited<ReturnType<ReadableStreamDefaultReader<T>['read']>>;

async function readWithin<T>(reader: ReadableStreamDefaultReader<T>, ms: number): Promise<ReadResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StallError(`no audio for ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves once the first chunk is there: a stream of it and the rest, or null when
 * the source ended empty. `onClose` runs once, whichever way the stream ends.
 */
export async function relayAfterFirstChunk(
  source: ReadableStream<Uint8Array>,
  idleMs: number,
  onClose: () => void = () => {},
): Promise<ReadableStream<Uint8Array> | null> {
  const reader = source.getReader();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    onClose();
  };
  let first: ReadResult<Uint8Array>;
  try {
    // Skip empty chunks: they say nothing about whether audio is coming.
    do first = await readWithin(reader, idleMs);
    while (!first.done && first.value.byteLength === 0);
  } catch (error) {
    reader.cancel().catch(() => {});
    close();
    throw error;
  }
  if (first.done) {
    close();
    return null;
  }
  const head = first.value;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head);
    },
    async pull(controller) {
      try {
        const next = await readWithin(reader, idleMs);
        if (next.done) {
          close();
          controller.close();
        } else controller.enqueue(next.value);
      } catch (error) {
        reader.cancel().catch(() => {});
        close();
        controller.error(error);
      }
    },
    cancel() {
      reader.cancel().catch(() => {});
      close();
    },
  });
}
