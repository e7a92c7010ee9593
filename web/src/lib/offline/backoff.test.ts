import { expect, test } from 'bun:test';
import { MAX_RETRY_MS, retryDelay } from './backoff';

test('retries back off from 1 s, doubling, and never wait more than 30 s', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 50].map(retryDelay)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  expect(MAX_RETRY_MS).toBe(30_000);
});
