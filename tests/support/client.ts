/**
 * A tiny HTTP client with a cookie jar, as a browser would keep one.
 * Tests talk to the real server over HTTP through it.
 */
import type { BodyOf } from './answers';

export class Client {
  cookies = new Map<string, string>();
  constructor(
    public base: string,
    public headers: Record<string, string> = {},
  ) {}

  async request(method: string, path: string, body?: unknown, extra: RequestInit = {}): Promise<Response> {
    const headers = new Headers({ ...this.headers, ...(extra.headers as Record<string, string>) });
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    let payload: BodyInit | undefined;
    if (body instanceof FormData || typeof body === 'string' || body instanceof Uint8Array) payload = body as BodyInit;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const res = await fetch(this.base + path, { ...extra, method, headers, body: payload, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0\b/i.test(a.trim())) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get = (path: string, extra?: RequestInit) => this.request('GET', path, undefined, extra);
  post = (path: string, body?: unknown, extra?: RequestInit) => this.request('POST', path, body, extra);
  patch = (path: string, body?: unknown, extra?: RequestInit) => this.request('PATCH', path, body, extra);
  put = (path: string, body?: unknown, extra?: RequestInit) => this.request('PUT', path, body, extra);
  delete = (path: string, body?: unknown, extra?: RequestInit) => this.request('DELETE', path, body, extra);

  /** The answer, parsed; typed from the server's schemas for the routes answers.ts knows. */
  async json<M extends string, P extends string, T = BodyOf<M, P>>(
    method: M,
    path: P,
    body?: unknown,
  ): Promise<{ status: number; body: T; res: Response }> {
    const res = await this.request(method, path, body);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, res };
  }
}

let counter = 0;
/** Registers a fresh user and returns a signed-in client. */
export async function signUp(base: string, name = 'user') {
  const client = new Client(base);
  const email = `${name}-${Date.now()}-${++counter}@example.test`;
  const password = `pw-${crypto.randomUUID()}`;
  const res = await client.json('POST', '/api/auth/register', { email, password, name });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { client, email, password, user: res.body.user };
}

/** The same signed-in browser talking to another address (one cookie jar): another instance behind the proxy. */
export function via(client: Client, base: string) {
  const other = new Client(base);
  other.cookies = client.cookies;
  return other;
}
