/**
 * A reply's lease, so a reply whose instance died (SIGKILL, crash, lost machine) does
 * not stay `streaming` for ever: the instance generating replies renews their rows every
 * HEARTBEAT_MS (one statement for all of them), and every instance sweeps now and then:
 * a streaming row not written for LEASE_SECONDS ends as `error` with the text it had,
 * and followers on every instance are told (relay `{m, end: 1}`), so a client attached
 * anywhere learns it within seconds.
 *
 * After its own database connection failed, an instance waits a whole lease before it
 * sweeps again: after a database restart the owners get the time to renew first.
 */
import { failStaleReplies, renewReplyLeases } from '../conversations/writes';
import type { Sql } from '../db';
import { log } from '../log';
import type { Generations } from './generations';
import type { Relay } from './relay';

export const HEARTBEAT_MS = 2000;
export const LEASE_SECONDS = 8;
export const LEASE_ERROR = 'Interrupted: the server generating it stopped';

export function startLeases(deps: { sql: Sql; generations: Generations; relay: Relay }) {
  let lastFailure = 0;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await renewReplyLeases(deps.sql, deps.generations.ids());
      if (Date.now() - lastFailure < LEASE_SECONDS * 1000) return;
      const ended = await failStaleReplies(deps.sql, LEASE_SECONDS, deps.generations.ids(), LEASE_ERROR);
      if (ended.length) log.warn('replies whose instance stopped were marked failed', { count: ended.length });
      for (const id of ended) deps.relay.announceEnded(id);
    } catch {
      lastFailure = Date.now();
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), HEARTBEAT_MS);
  return {
    stop: () => clearInterval(timer),
  };
}
