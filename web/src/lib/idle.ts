/**
 * Runs `task` once the page has nothing better to do (requestIdleCallback, or a timer where
 * there is none, as in Safari): for code the first screen does not need but the next
 * moments may (the Markdown renderer, dialogs), so it is here before it is asked for, and
 * still here if the network goes away. Returns a cancel function.
 */
export function whenIdle(task: () => void, timeoutMs = 3000): () => void {
  if (typeof requestIdleCallback === 'function') {
    const id = requestIdleCallback(task, { timeout: timeoutMs });
    return () => cancelIdleCallback(id);
  }
  const id = setTimeout(task, Math.min(timeoutMs, 1000));
  return () => clearTimeout(id);
}
