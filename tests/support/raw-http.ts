/**
 * An HTTP/1.1 request over a raw socket, for what fetch cannot do: declare a
 * Content-Length and send no body, or stream a chunked body and see how much of it
 * the server took before it answered (a cap enforced while reading answers early).
 */
export interface RawResult {
  status: number;
  /** Body bytes written before the response's status line arrived. */
  sentBeforeResponse: number;
  /** The whole response as received (status line, headers, body), latin1. */
  response: string;
  /** The response body (after the blank line; chunked framing left as sent). */
  body: string;
}

/** The Cookie header a signed-in test client would send. */
export function cookieHeader(client: { cookies: Map<string, string> }): string {
  return [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** Whether `response` holds a complete HTTP/1.1 answer: headers, then the body they announce. */
function complete(response: string): boolean {
  const end = response.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const head = response.slice(0, end).toLowerCase();
  const body = response.slice(end + 4);
  const length = head.match(/\r\ncontent-length:\s*(\d+)/)?.[1];
  if (length !== undefined) return Buffer.byteLength(body, 'latin1') >= Number(length);
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) return body.endsWith('0\r\n\r\n');
  return false; // read until the server closes (we always send `connection: close`)
}

export async function rawRequest(
  base: string,
  opts: {
    method?: string;
    path: string;
    headers: Record<string, string>;
    /** Body pieces, written one after another until the server answers. */
    body?: Iterable<Uint8Array>;
    chunked?: boolean;
    timeoutMs?: number;
  },
): Promise<RawResult> {
  const { hostname, port } = new URL(base);
  let response = '';
  let sent = 0;
  let sentAtResponse = -1;
  let answered!: () => void;
  const responded = new Promise<void>((r) => (answered = r));
  let finished!: () => void;
  const whole = new Promise<void>((r) => (finished = r));
  let drained: (() => void) | null = null;
  const socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_s, data) {
        if (sentAtResponse < 0) sentAtResponse = sent;
        response += Buffer.from(data).toString('latin1');
        if (response.includes('\r\n\r\n')) answered();
        if (complete(response)) finished();
      },
      drain() {
        drained?.();
        drained = null;
      },
      close() {
        answered();
        finished();
        drained?.();
      },
      error() {
        answered();
        finished();
        drained?.();
      },
    },
  });
  let done = false;
  void responded.then(() => (done = true));
  const write = async (bytes: Uint8Array) => {
    let offset = 0;
    while (offset < bytes.length && !done) {
      const n = socket.write(bytes.subarray(offset));
      offset += Math.max(n, 0);
      if (offset < bytes.length) {
        await Promise.race([new Promise<void>((r) => (drained = r)), responded, Bun.sleep(50)]);
      }
    }
    return offset;
  };
  const head =
    `${opts.method ?? 'POST'} ${opts.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
    Object.entries({ ...opts.headers, ...(opts.chunked ? { 'transfer-encoding': 'chunked' } : {}) })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    'connection: close\r\n\r\n';
  await write(new TextEncoder().encode(head));
  for (const piece of opts.body ?? []) {
    if (done) break;
    if (opts.chunked) {
      await write(new TextEncoder().encode(`${piece.length.toString(16)}\r\n`));
      sent += await write(piece);
      await write(new TextEncoder().encode('\r\n'));
    } else {
      sent += await write(piece);
    }
    // Give the server a moment to read and answer, as a real slow upload would.
    await Bun.sleep(1);
  }
  if (opts.chunked && !done) await write(new TextEncoder().encode('0\r\n\r\n'));
  await Promise.race([whole, Bun.sleep(opts.timeoutMs ?? 10_000)]);
  socket.end();
  const status = Number(response.match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? 0);
  const body = response.split('\r\n\r\n').slice(1).join('\r\n\r\n');
  return { status, sentBeforeResponse: sentAtResponse < 0 ? sent : sentAtResponse, response, body };
}

/** `count` pieces of `size` bytes each (the same buffer, to keep memory flat). */
export function* pieces(count: number, size: number, fill = 0x61): Iterable<Uint8Array> {
  const buffer = new Uint8Array(size).fill(fill);
  for (let i = 0; i < count; i++) yield buffer;
}
