/**
 * The client's IP address, for rate limits.
 *
 * Behind reverse proxies each one appends the address it received the request from to
 * X-Forwarded-For, so only the right-hand end of the header is trustworthy: the client
 * writes whatever it likes on the left. `TRUST_PROXY` says how much of it to believe:
 * - `none`: the socket's peer (no proxy; the header is ignored);
 * - a hop count N: the N-th address from the right, counting the socket's peer as hop 0
 *   (N = 1: the one proxy's view of the client);
 * - a list of trusted proxy addresses/CIDRs: walk from the socket's peer leftwards and
 *   take the first address that is not a trusted proxy.
 */
import type { Server } from 'bun';
import ipaddr from 'ipaddr.js';

export type TrustProxy =
  | { kind: 'none' }
  | { kind: 'hops'; hops: number }
  | { kind: 'cidrs'; ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] };

/** Parses TRUST_PROXY: false/0, true (one hop), a hop count, or comma-separated addresses/CIDRs. Null if invalid. */
export function parseTrustProxy(value: string | undefined): TrustProxy | null {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0') return { kind: 'none' };
  if (v === 'true') return { kind: 'hops', hops: 1 };
  if (/^[1-9][0-9]?$/.test(v)) return { kind: 'hops', hops: Number(v) };
  const ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const part of v.split(',').map((p) => p.trim()).filter(Boolean)) {
    try {
      if (part.includes('/')) ranges.push(ipaddr.parseCIDR(part));
      else {
        const address = ipaddr.parse(part);
        ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
      }
    } catch {
      return null;
    }
  }
  return ranges.length ? { kind: 'cidrs', ranges } : null;
}

/** An address in canonical form (IPv4-mapped IPv6 as IPv4), or null when it is not an IP. */
function canonical(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = text.trim().replace(/^\[(.*)\](:\d+)?$/, '$1');
  try {
    return ipaddr.process(bare);
  } catch {
    return null;
  }
}

function trusted(address: ipaddr.IPv4 | ipaddr.IPv6, ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][]): boolean {
  return ranges.some(([range, bits]) => address.kind() === range.kind() && address.match([range, bits] as never));
}

/** The chain from nearest to farthest: the socket's peer, then X-Forwarded-For right to left. */
export function forwardedChain(peer: string, forwardedFor: string | null): string[] {
  const entries = (forwardedFor ?? '').split(',').map((s) => s.trim()).filter(Boolean).slice(-32);
  return [peer, ...entries.reverse()];
}

export function pickClientIp(chain: string[], trust: TrustProxy): string {
  const peer = chain[0]!;
  if (trust.kind === 'none' || chain.length === 1) return normalize(peer);
  if (trust.kind === 'hops') return normalize(chain[Math.min(trust.hops, chain.length - 1)]!);
  for (const hop of chain) {
    const address = canonical(hop);
    // A hop that is not an address (garbage a proxy passed on) ends the walk: nothing left of it is believable.
    if (!address) return normalize(hop);
    if (!trusted(address, trust.ranges)) return address.toString();
  }
  return normalize(chain[chain.length - 1]!);
}

function normalize(text: string): string {
  return canonical(text)?.toString() ?? text.slice(0, 64);
}

export function clientIp(request: Request, server: Server<unknown> | null, trust: TrustProxy): string {
  const peer = server?.requestIP(request)?.address ?? 'unknown';
  if (trust.kind === 'none') return normalize(peer);
  return pickClientIp(forwardedChain(peer, request.headers.get('x-forwarded-for')), trust);
}
