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
 * The name is resolved once, by us, and the connection goes to the address we checked
 * (pinnedRequest): a DNS server answering differently a second time (rebinding) is
 * never asked. Addresses are classified by ipaddr.js.
 */
import { lookup } from 'node:dns/promises';
import { checkServerIdentity } from 'node:tls';
import ipaddr from 'ipaddr.js';
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

/**
 * Whether an address is on the public internet, classified by ipaddr.js's table of
 * special ranges (maintained against the IANA registries): only `unicast` passes.
 * IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96,
 * 6to4 2002::/16) are judged by the IPv4 address they carry.
 */
function isPublicIp(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address.kind() === 'ipv4') return address.range() === 'unicast';
  const v6 = address as ipaddr.IPv6;
  const bytes = v6.toByteArray();
  const range = v6.range();
  if (range === 'ipv4Mapped') return isPublicIp(v6.toIPv4Address());
  if (range === 'rfc6052') return isPublicIp(new ipaddr.IPv4(bytes.slice(12)));
  if (range === '6to4') return isPublicIp(new ipaddr.IPv4(bytes.slice(2, 6)));
  // The deprecated IPv4-compatible ::a.b.c.d (and ::, ::1) are never public.
  if (bytes.slice(0, 12).every((b) => b === 0)) return false;
  return range === 'unicast';
}

/** True only for an address on the public internet. Anything unparseable is not. */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  // Strict literals only: ipaddr.js would also read "8.8.8" or "010.0.0.1" the old inet_aton way.
  const literal = bare.split('%')[0]!;
  const kind = isIP(literal);
  if (!kind) return false;
  try {
    // IPv6 through the WHATWG serializer first: ipaddr.js reads "::8.8.8.8" (IPv4-compatible) as mapped.
    const canonical = kind === 6 ? new URL(`http://[${literal}]/`).hostname.slice(1, -1) : literal;
    return isPublicIp(ipaddr.parse(canonical));
  } catch {
    return false;
  }
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa|lan)\.?$/i;

/**
 * Throws UnsafeUrlError unless `url` may be fetched under the rules above. Returns the
 * checked address to connect to (null for a trusted origin, reached as configured).
 */
export async function checkUrl(url: URL, trustedOrigins: string[]): Promise<string | null> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeUrlError(`scheme ${url.protocol} refused`);
  if (url.username || url.password) throw new UnsafeUrlError('credentials in URL refused');
  if (trustedOrigins.includes(url.origin)) return null;
  if (url.protocol !== 'https:') throw new UnsafeUrlError('plain http refused outside the provider origin');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    if (!isPublicAddress(host)) throw new UnsafeUrlError('private address refused');
    return host;
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
  return addresses[0]!.address;
}

/**
 * The request for `url` sent to the `address` that was checked, not to whatever a second
 * DNS lookup would answer (no rebinding window): the URL's host becomes the address, and
 * the name goes in the Host header, the TLS SNI and the certificate check.
 */
export function pinnedRequest(url: URL, address: string | null): { target: URL; headers: Record<string, string>; tls?: Record<string, unknown> } {
  const name = url.hostname.replace(/^\[|\]$/g, '');
  if (address === null || isIP(name)) return { target: url, headers: {} };
  const target = new URL(url);
  target.hostname = isIP(address) === 6 ? `[${address}]` : address;
  return {
    target,
    headers: { host: url.host },
    tls: { serverName: name, checkServerIdentity: (_: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(name, cert) },
  };
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
    const pinned = pinnedRequest(url, await checkUrl(url, trusted));
    const res = await fetch(pinned.target, {
      redirect: 'manual',
      signal: opts.signal,
      headers: { accept: opts.accept ?? '*/*', ...pinned.headers },
      ...(pinned.tls ? { tls: pinned.tls } : {}),
    } as RequestInit);
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
