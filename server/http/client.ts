import type { Server } from 'bun';

/** The client's IP: the socket's peer, or X-Forwarded-For's first hop behind a trusted proxy. */
export function clientIp(request: Request, server: Server<unknown> | null, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return server?.requestIP(request)?.address ?? 'unknown';
}
