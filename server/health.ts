import { Elysia } from 'elysia';
import type { Sql } from './db';
import { Health } from './http/model';

/**
 * 200 when a trivial query answers within 2 s, 503 otherwise (postgres.js reconnects by
 * itself, so it comes back on its own); 503 too while the instance drains for a shutdown,
 * so a load balancer stops sending it requests.
 */
export function healthRoutes(sql: Sql, lifecycle: { draining: boolean } = { draining: false }) {
  return new Elysia({ name: 'health' }).get('/api/health', async ({ set }) => {
    if (lifecycle.draining) {
      set.status = 503;
      set.headers['retry-after'] = '5';
      return { ok: false, db: 'up' } as const;
    }
    try {
      await Promise.race([
        sql`select 1`,
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000)),
      ]);
      return { ok: true, db: 'up' } as const;
    } catch {
      set.status = 503;
      set.headers['retry-after'] = '5';
      return { ok: false, db: 'down' } as const;
    }
  }, { response: { 200: Health, 503: Health } });
}
