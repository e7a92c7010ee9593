/**
 * The one way tests wait for something that happens in the background: poll `check`
 * until it passes, instead of sleeping for a guessed time. Used by the server tests
 * (bun:test) and the e2e specs (Playwright) alike.
 *
 * `check` passes when it returns (or resolves) without throwing and its value is not
 * `false`; a failed `expect(...)` inside it throws, so assertions can be polled as they
 * are. The value of the passing call is returned. On timeout the error names what was
 * awaited and carries the last failure, so a red test says what never happened.
 */
export interface EventuallyOptions {
  /** Give up after this long (ms). Default 4000, under bun:test's 5 s per test. */
  timeout?: number;
  /** Pause between attempts (ms), fixed. Default: 20, doubling up to 250. */
  interval?: number;
  /** What is awaited, for the error message. */
  message?: string;
}

export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<Exclude<T, false>> {
  const { timeout = 4000, message = 'condition' } = options;
  let interval = options.interval ?? 20;
  const backOff = options.interval === undefined;
  const deadline = performance.now() + timeout;
  let last: unknown = new Error('never ran');
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await check();
      if (value !== false) return value as Exclude<T, false>;
      last = new Error('returned false');
    } catch (error) {
      last = error;
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      const reason = last instanceof Error ? last.message : String(last);
      throw new Error(`eventually: ${message} not met within ${timeout} ms (${attempt} attempts). Last failure: ${reason}`, {
        cause: last,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, left)));
    if (backOff) interval = Math.min(interval * 2, 250);
  }
}
