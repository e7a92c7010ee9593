/**
 * Fetching a URL the server did not choose (an image URL in a provider's answer)
 * without becoming a proxy into the private network (SSRF).
 *
 * Every hop (the first URL and each redirect, followed by hand) is checked:
 * - an origin the operator configured (the provider's own base URL) is allowed as is:
 *   it may well be on the LAN (Ollama, LocalAI), and we already send it our prompts;
 * - anything else must be https, carry no credentials, not be a local name, and
 *   resolve only to public addresses. IP literals in every spelling are normalized
 *   first (the WHATWG parser turns decimal/octal/hex IPv4 into dotted form), and
 *   IPv4-mapped/compatible/NAT64/6to4 IPv6 addresses are judged by their IPv4.
 * Bytes are capped while reading and the caller's signal bounds the time.
 *
 * Residual risk: the name is resolved by us and again by fetch, so a DNS server
 * answering differently the second time (rebinding) could still reach a private
 * address on a non-trusted https host; the response must then also pass the
 * caller's content checks (an image sniff) before anything is kept.
 */
import { lookup } from 'node:dns/promises';
import { readStreamCapped } from './body';
import { isIP } from 'node:net';

export class UnsafeUrlError extends Error {}
export class ResponseTooLargeError extends Error {}
export class UpstreamStatusError extends Error {
  constructor(public readonly status: number) {
    super(`upstream answered ${status}`);
  }
}

export interface SafeFetchOptions {
  /** Origins (scheme://host:port) fetched without the public-address rule. */
  trustedOrigins: string[];
  maxBytes: number;
  signal: AbortSignal;
  maxRedirects?: number;
  accept?: string;
}

// ---------- addresses ----------

function parseIPv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : null;
}

/** 16 bytes of an IPv6 address (with or without a dotted IPv4 tail), or null. */
export function parseIPv6(text: string): number[] | null {
  let s = text.replace(/^\[|\]$/g, '').split('%')[0]!.toLowerCase();
  let tail: number[] = [];
  const dotted = s.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    // "…:1.2.3.4": the IPv4 tail is the last 4 bytes; drop the colon before it unless it is "::".
    const v4 = parseIPv4(dotted[2]!);
    if (!v4) return null;
    tail = v4;
    s = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const groupsWanted = 8 - tail.length / 2;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const toGroups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = toGroups(halves[0]!);
  const rest = halves.length === 2 ? toGroups(halves[1]!) : [];
  const missing = groupsWanted - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const bytes: number[] = [];
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  bytes.push(...tail);
  return bytes.length === 16 ? bytes : null;
}

function isPublicIPv4([a, b, c]: number[]): boolean {
  if (a === 0 || a === 10 || a === 127) return false; // this network, private, loopback
  if (a === 100 && b! >= 64 && b! <= 127) return false; // CGNAT
  if (a === 169 && b === 254) return false; // link-local (cloud metadata)
  if (a === 172 && b! >= 16 && b! <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false; // IETF, TEST-NET-1
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
  if (a === 198 && b === 51 && c === 100) return false;
  if (a === 203 && b === 0 && c === 113) return false;
  if (a! >= 224) return false; // multicast, reserved, broadcast
  return true;
}

function isPublicIPv6(b: number[]): boolean {
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return isPublicIPv4(b.slice(12)); // ::ffff:a.b.c.d
  if (zeros(0, 12)) return false; // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) return isPublicIPv4(b.slice(12)); // NAT64
  if (b[0] === 0x20 && b[1] === 0x02) return isPublicIPv4(b.slice(2, 6)); // 6to4
  if ((b[0]! & 0xfe) === 0xfc) return false; // unique local fc00::/7
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return false; // link-local fe80::/10
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return false; // site-local fec0::/10
  if (b[0] === 0xff) return false; // multicast
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return false; // documentation
  return true;
}

/** True only for an address on the public internet. Anything unparseable is not. */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const kind = isIP(bare);
  if (kind === 4) {
    const v4 = parseIPv4(bare);
    return v4 !== null && isPublicIPv4(v4);
  }
  if (kind === 6) {
    const v6 = parseIPv6(bare);
    return v6 !== null && isPublicIPv6(v6);
  }
  return false;
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa|lan)\.?$/i;

/** Throws UnsafeUrlError unless `url` may be fetched under the rules above. */
export async function checkUrl(url: URL, trustedOrigins: string[]): Promise<void> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeUrlError(`scheme ${url.protocol} refused`);
  if (url.username || url.password) throw new UnsafeUrlError('credentials in URL refused');
  if (trustedOrigins.includes(url.origin)) return;
  if (url.protocol !== 'https:') throw new UnsafeUrlError('plain http refused outside the provider origin');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    if (!isPublicAddress(host)) throw new UnsafeUrlError('private address refused');
    return;
  }
  if (LOCAL_NAMES.test(host) || !host.includes('.')) throw new UnsafeUrlError('local host name refused');
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch {
    throw new UnsafeUrlError('host does not resolve');
  }
  if (!addresses.length || addresses.some((a) => !isPublicAddress(a.address))) {
    throw new UnsafeUrlError('host resolves to a private address');
  }
}

/** GETs the URL's bytes, following at most `maxRedirects` redirects, each one checked. */
export async function safeFetchBytes(
  start: string,
  opts: SafeFetchOptions,
): Promise<{ bytes: Uint8Array; contentType: string | null; url: string }> {
  let url: URL;
  try {
    url = new URL(start);
  } catch {
    throw new UnsafeUrlError('not a URL');
  }
  const trusted = opts.trustedOrigins.map((o) => new URL(o).origin);
  for (let hop = 0; ; hop++) {
    await checkUrl(url, trusted);
    const res = await fetch(url, {
      redirect: 'manual',
      signal: opts.signal,
      headers: { accept: opts.accept ?? '*/*' },
    });
    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel().catch(() => {});
      if (hop >= (opts.maxRedirects ?? 3)) throw new UnsafeUrlError('too many redirects');
      try {
        url = new URL(res.headers.get('location')!, url);
      } catch {
        throw new UnsafeUrlError('bad redirect location');
      }
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new UpstreamStatusError(res.status);
    }
    const declared = Number(res.headers.get('content-length') ?? 'NaN');
    if (declared > opts.maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new ResponseTooLargeError('response larger than allowed');
    }
    const bytes = await readStreamCapped(res.body, opts.maxBytes, () => new ResponseTooLargeError('response larger than allowed'));
    return { bytes, contentType: res.headers.get('content-type'), url: url.toString() };
  }
}
