/** How long to wait before asking an unreachable server again: 1 s, doubling, at most 30 s. */
const FIRST_RETRY_MS = 1000;
export const MAX_RETRY_MS = 30_000;

/** The delay before the n-th retry (0-based). */
export function retryDelay(attempt: number) {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(Math.max(attempt, 0), 10));
}
