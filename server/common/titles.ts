/**
 * Code the server and the web app both run (the web imports it as a value through $server/common):
 * pure functions with no imports, so nothing of the server comes along. tests/server/contract.test.ts
 * holds every file here to that.
 */

/** A thread's provisional title: its first message, on one line, cut at a word near 60 characters. */
export function provisionalTitle(content: string): string {
  const oneLine = content.replace(/\s+/g, ' ').trim();
  if (oneLine.length <= 60) return oneLine || 'New chat';
  const cut = oneLine.slice(0, 60);
  const space = cut.lastIndexOf(' ');
  return (space > 30 ? cut.slice(0, space) : cut) + '…';
}
