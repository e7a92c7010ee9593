/**
 * Bounding what the Markdown renderer is given (issue 11, defect 5). A model's reply is
 * untrusted input to marked, whose work is more than linear on some shapes: deeply
 * nested quotes and lists (recursion, stack overflow), and long runs of emphasis or
 * bracket delimiters in one paragraph (delimiter matching, seconds of main thread).
 * (Measured in marked 18: one 90,000-character paragraph of plain words takes 2.7 s; `_a`
 * repeated 40,000 times, 5 s.) Every step here is linear, runs before marked, and leaves
 * ordinary replies untouched. The text is split into top-level blocks, rendered (and
 * cached) one by one, so a streamed chunk re-renders only the block it lands in, and:
 * - quote nesting is cut to MAX_QUOTE_DEPTH and indentation to MAX_INDENT columns;
 * - a block (other than fenced code) longer than MAX_BLOCK_CHARS or holding more than
 *   MAX_DELIMITERS inline delimiters is shown as plain text;
 * - over MAX_MARKDOWN_CHARS, the whole text is plain text.
 */
export const MAX_MARKDOWN_CHARS = 200_000;
export const MAX_BLOCK_CHARS = 6_000;
export const MAX_QUOTE_DEPTH = 8;
export const MAX_INDENT = 24;
export const MAX_DELIMITERS = 300;

export interface Block {
  text: string;
  /** False: show as plain text (too long or too dense for the renderer). */
  markdown: boolean;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const DELIMITERS = /[*_~[\]<>`!]/g;

/** Lines with a flag for whether each is inside a fenced code block (fences included). */
function* linesWithFences(source: string): Generator<[line: string, inCode: boolean]> {
  let fence: string | null = null;
  for (const line of source.split('\n')) {
    const open = line.match(FENCE)?.[1];
    if (fence === null && open) {
      fence = open[0]!.repeat(open.length);
      yield [line, true];
    } else if (fence !== null) {
      if (open && open.startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') fence = null;
      yield [line, true];
    } else yield [line, false];
  }
}

/** Quote markers beyond the depth and indentation beyond the limit are dropped. */
function boundLine(line: string): string {
  const indent = line.match(/^[ \t]*/)![0];
  let rest = line.slice(indent.length);
  // A line of only spaces is a blank line to Markdown; kept as spaces, marked's list rule
  // backtracks on it (250 ms for a 20 KB nested list ending in one, seen while streaming).
  if (rest === '') return '';
  if (rest.startsWith('>')) {
    const quotes = rest.match(/^(?:> ?)+/)![0];
    const depth = (quotes.match(/>/g) ?? []).length;
    if (depth > MAX_QUOTE_DEPTH) rest = '> '.repeat(MAX_QUOTE_DEPTH) + rest.slice(quotes.length);
  }
  const width = indent.replace(/\t/g, '    ').length;
  return (width > MAX_INDENT ? ' '.repeat(MAX_INDENT) : indent) + rest;
}

/**
 * The text as top-level blocks for the renderer, bounded as above. Blocks split at a
 * blank line followed by an unindented line outside code, so a list item's indented
 * continuation stays with its list.
 */
export function markdownBlocks(source: string): Block[] {
  if (source.length > MAX_MARKDOWN_CHARS) return [{ text: source, markdown: false }];
  const blocks: Block[] = [];
  let lines: string[] = [];
  // Only prose counts against the limits: fenced code is cheap for marked.
  let proseChars = 0;
  let delimiters = 0;
  let previousBlank = false;
  const flush = () => {
    if (!lines.length) return;
    blocks.push({ text: lines.join('\n'), markdown: proseChars <= MAX_BLOCK_CHARS && delimiters <= MAX_DELIMITERS });
    lines = [];
    proseChars = 0;
    delimiters = 0;
  };
  for (const [raw, inCode] of linesWithFences(source)) {
    const blank = raw.trim() === '';
    if (previousBlank && !blank && !/^[ \t]/.test(raw)) flush();
    const line = inCode ? raw : boundLine(raw);
    if (!inCode) {
      proseChars += line.length + 1;
      delimiters += line.match(DELIMITERS)?.length ?? 0;
    }
    lines.push(line);
    previousBlank = blank && !inCode;
  }
  flush();
  return blocks;
}
