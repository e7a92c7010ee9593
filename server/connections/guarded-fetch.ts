/**
 * The fetch a connection's SDK uses. The connection's own origin is trusted as the admin
 * set it (it may well be Ollama on 127.0.0.1), but a redirect elsewhere goes through the
 * SSRF rules of server/http/safe-fetch.ts at every hop: a server cannot bounce our
 * requests (and the key in their headers) into the private network.
 */
import { checkUrl, isPublicAddress, UnsafeUrlError } from '../http/safe-fetch';

const MAX_REDIRECTS = 3;

export function guardedFetch(baseUrl: string): typeof fetch {
  const trusted = [new URL(baseUrl).origin];
  const guarded = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    let request = input instanceof Request ? input : null;
    let url = new URL(request ? request.url : String(input));
    for (let hop = 0; ; hop++) {
      await checkUrl(url, trusted);
      const res = await fetch(request ? new Request(url, request.clone()) : url, { ...init, redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.body?.cancel().catch(() => {});
      if (hop >= MAX_REDIRECTS) throw new UnsafeUrlError('too many redirects');
      url = new URL(location, url);
      // A cross-origin hop must not carry the key.
      if (url.origin !== trusted[0]) {
        const headers = new Headers(request?.headers ?? init?.headers);
        headers.delete('authorization');
        if (request) request = new Request(request, { headers });
        else init = { ...init, headers };
      }
    }
  };
  return guarded as typeof fetch;
}

/** Whether a base URL names a loopback or private address (said in the console: allowed for admins only). */
export function isLocalUrl(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '');
  if (/^(localhost|.*\.localhost|.*\.local|.*\.internal|.*\.lan)$/i.test(host) || !host.includes('.') && !host.includes(':')) return true;
  return /^[\d.]+$|:/.test(host) ? !isPublicAddress(host) : false;
}
