/**
 * Snippets as text runs, never as HTML: the server's snippet is escaped text with <mark>
 * around matches; it is split on the marks and unescaped, and each run is rendered as text
 * (so even a server bug could not inject markup). Offline snippets are made the same shape.
 */
export interface Run {
  text: string;
  mark: boolean;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

export function runsFromServer(snippet: string): Run[] {
  return snippet
    .split(/(<mark>|<\/mark>)/)
    .reduce<{ runs: Run[]; mark: boolean }>(
      (acc, piece) => {
        if (piece === '<mark>') acc.mark = true;
        else if (piece === '</mark>') acc.mark = false;
        else if (piece) acc.runs.push({ text: piece.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!), mark: acc.mark });
        return acc;
      },
      { runs: [], mark: false },
    ).runs;
}

/** Around the first matched word of `text`: about `width` characters, the matched words marked. */
export function runsAround(text: string, terms: string[], width = 160): Run[] {
  const flat = text.replace(/\s+/g, ' ').trim();
  const lower = flat.toLowerCase();
  const words = terms.map((t) => t.toLowerCase()).filter(Boolean);
  let first = -1;
  for (const w of words) {
    const at = lower.indexOf(w);
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  const start = first < 0 ? 0 : Math.max(0, first - Math.floor(width / 3));
  const piece = (start > 0 ? '…' : '') + flat.slice(start, start + width) + (start + width < flat.length ? '…' : '');
  if (!words.length) return [{ text: piece, mark: false }];
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(`(${escaped.join('|')})[\\p{L}\\p{N}_]*`, 'giu');
  const runs: Run[] = [];
  let last = 0;
  for (const match of piece.matchAll(pattern)) {
    if (match.index! > last) runs.push({ text: piece.slice(last, match.index), mark: false });
    runs.push({ text: match[0], mark: true });
    last = match.index! + match[0].length;
  }
  if (last < piece.length) runs.push({ text: piece.slice(last), mark: false });
  return runs;
}
