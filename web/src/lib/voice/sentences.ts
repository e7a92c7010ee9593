/**
 * Streaming Markdown → speakable sentences. A reply arrives in small deltas; as soon as a
 * sentence is certainly complete it is handed out, so its speech can be requested while
 * the rest of the reply is still being written.
 *
 * What is not spoken: fenced code blocks, table rules, images, URLs (a link's text is kept),
 * Markdown punctuation (emphasis, headings, list markers, quotes, inline-code ticks, HTML).
 * A "." ends a sentence only when followed by whitespace and not after an abbreviation
 * ("e.g.", "Dr.", "etc." before a lowercase word), an initial ("J. R. R.") or inside a
 * number ("3.14"); the end of a line always ends one (list items, headings, paragraphs).
 */

export interface SplitterOptions {
  /**
   * The first segment may end at a clause break (", " "; " ": " " — ") once it is at least
   * this long, so the first audio starts sooner. 0 turns it off.
   */
  eagerFirst?: number;
  /** A segment with no sentence end is cut (at a clause break or a space) past this length. */
  maxChars?: number;
}

const ABBREVIATIONS = new Set(
  [
    'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'etc', 'e.g', 'i.e', 'cf', 'al', 'approx', 'inc',
    'ltd', 'co', 'corp', 'no', 'nos', 'vol', 'fig', 'figs', 'p', 'pp', 'ch', 'sec', 'ed', 'eds', 'dept', 'est',
    'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'mon', 'tue', 'wed', 'thu',
    'fri', 'sat', 'sun', 'a.m', 'p.m', 'u.s', 'u.k', 'ph.d', 'min', 'max', 'avg', 'ca', 'viz', 'resp',
  ],
);
/** Abbreviations that often end a sentence too: a boundary only if a capital letter follows. */
const MAYBE_FINAL = new Set(['etc', 'al', 'inc', 'ltd', 'co', 'corp', 'a.m', 'p.m', 'u.s', 'u.k', 'est']);

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;
const TABLE_RULE = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
const HR = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const SPEAKABLE = /[\p{L}\p{N}]/u;

/** One line of Markdown (no newline) as plain text. */
export function plainLine(line: string): string {
  if (HR.test(line) || TABLE_RULE.test(line)) return '';
  let s = line;
  let table = false;
  if (/^\s*\|/.test(s)) {
    table = true;
    s = s
      .replace(/^\s*\|/, '')
      .replace(/\|\s*$/, '')
      .split('|')
      .map((c) => c.trim())
      .filter(Boolean)
      .join(', ');
  }
  s = s
    .replace(/^\s{0,3}#{1,6}\s+/, '') // heading
    .replace(/^(\s*>\s?)+/, '') // quote
    .replace(/^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?/, '') // list item (and task box)
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '') // images: nothing to say
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links: their text
    .replace(/\[\^[^\]]*\]/g, '') // footnote references
    .replace(/<(https?:\/\/[^>\s]+)>/g, 'link')
    .replace(/https?:\/\/[^\s)]*[^\s).,!?;:'"]/g, 'link')
    .replace(/<\/?[a-zA-Z][^>]*>/g, '') // HTML tags
    .replace(/`+/g, '') // inline code: its text, without the ticks
    .replace(/[*_~]+/g, (run, at: number, all: string) => {
      const before = all[at - 1] ?? ' ';
      const after = all[at + run.length] ?? ' ';
      if (run[0] === '_' && /\w/.test(before) && /\w/.test(after)) return run; // snake_case
      if (/\s/.test(before) && /\s/.test(after)) return run; // 2 * 3
      if (run === '~' && /\d/.test(after)) return run; // ~5
      return ''; // emphasis, strike-through
    })
    .replace(/\\([\\`*_{}[\]()#+\-.!|>~])/g, '$1') // escapes
    .replace(/\s+/g, ' ');
  if (table && s.trim() && !/[.!?]$/.test(s.trim())) s = `${s.trim()}.`;
  return s;
}

/** The part of a partial line that cannot change any more: cut before a construct still open at its end. */
function settled(line: string): string {
  let cut = line.length;
  const ticks = line.split('`').length - 1;
  if (ticks % 2 === 1) cut = Math.min(cut, line.lastIndexOf('`'));
  const bracket = line.lastIndexOf('[');
  if (bracket >= 0) {
    const rest = line.slice(bracket);
    const done = /^\[[^\]]*\]\([^)]*\)/.test(rest) || /^\[[^\]]*\][^(]/.test(rest);
    if (!done) cut = Math.min(cut, line[bracket - 1] === '!' ? bracket - 1 : bracket);
  }
  const angle = line.lastIndexOf('<');
  if (angle >= 0 && line.indexOf('>', angle) < 0) cut = Math.min(cut, angle);
  const url = /https?:\/\/\S*$|h(t(t(p(s)?)?)?)?$/.exec(line);
  if (url && (url[0].length > 1 || /\s$/.test(line.slice(0, url.index)))) cut = Math.min(cut, url.index);
  return line.slice(0, cut);
}

interface Found {
  /** Index just after the sentence (its closing punctuation). */
  end: number;
}

/**
 * Sentence ends in `text`. `final`: nothing more will come (the last piece counts as complete).
 * Stops at the first point it cannot decide yet (a maybe-final abbreviation at the very end).
 */
function boundaries(text: string): Found[] {
  const out: Found[] = [];
  const re = /([.!?…]+|\.{3})(["'”’)\]]*)(?=\s)/g;
  for (let m: RegExpExecArray | null; (m = re.exec(text)); ) {
    const punct = m[1]!;
    const end = m.index + m[0].length;
    if (punct === '.' || punct === '...' || punct === '…') {
      const word = (text.slice(0, m.index).match(/(\S+)$/)?.[1] ?? '').replace(/^[("'“‘[]+/, '').toLowerCase();
      const next = text.slice(end).match(/\S/)?.[0];
      const ellipsis = punct !== '.';
      if (!ellipsis && /^\d+$/.test(word) && out.length === 0 && text.slice(0, m.index).trim() === word) continue; // "1." as a list number
      if (!ellipsis && /^\p{L}$/u.test(word)) continue; // an initial
      if (ellipsis || MAYBE_FINAL.has(word)) {
        if (next === undefined) break; // can't tell yet
        if (!/\p{Lu}/u.test(next)) continue;
      } else if (ABBREVIATIONS.has(word)) continue;
    }
    out.push({ end });
  }
  return out;
}

export class SentenceSplitter {
  #buffer = '';
  #inCode = false;
  /** How much of the current line's plain text was already handed out. */
  #lineDone = 0;
  #count = 0;
  readonly #eagerFirst: number;
  readonly #maxChars: number;

  constructor(opts: SplitterOptions = {}) {
    this.#eagerFirst = opts.eagerFirst ?? 0;
    this.#maxChars = opts.maxChars ?? 400;
  }

  /** Adds streamed text; returns the sentences it completed, in order. */
  push(text: string): string[] {
    this.#buffer += text;
    const out: string[] = [];
    for (let nl = this.#buffer.indexOf('\n'); nl >= 0; nl = this.#buffer.indexOf('\n')) {
      const line = this.#buffer.slice(0, nl).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(nl + 1);
      this.#line(line, true, out);
    }
    this.#line(this.#buffer, false, out);
    return out;
  }

  /** The reply is complete: whatever is left, as sentences. */
  finish(): string[] {
    const out: string[] = [];
    this.#line(this.#buffer.replace(/\r$/, ''), true, out);
    this.#buffer = '';
    this.#inCode = false;
    return out;
  }

  /** Every sentence of a whole text (Read aloud). */
  static split(markdown: string, opts?: SplitterOptions): string[] {
    const s = new SentenceSplitter(opts);
    return [...s.push(markdown), ...s.finish()];
  }

  #line(line: string, complete: boolean, out: string[]) {
    if (FENCE.test(line)) {
      if (complete) {
        this.#inCode = !this.#inCode;
        this.#lineDone = 0;
      }
      return;
    }
    if (this.#inCode) {
      if (complete) this.#lineDone = 0;
      return;
    }
    if (!complete) {
      // Not yet decidable: a fence or list marker being typed, a table row (needs its whole line).
      if (/^\s*(`{1,2}|~{1,2}|\d{1,3}[.)]?|[-*+>#_|]+)\s*$/.test(line) || /^\s*\|/.test(line)) return;
    }
    const plain = plainLine(complete ? line : settled(line));
    const rest = plain.slice(this.#lineDone);
    let used = 0;
    for (const { end } of boundaries(rest)) {
      this.#emit(rest.slice(used, end), out);
      used = end;
    }
    let tail = rest.slice(used);
    if (!complete && tail.length) {
      const cut = this.#earlyCut(tail);
      if (cut > 0) {
        this.#emit(tail.slice(0, cut), out);
        used += cut;
        tail = tail.slice(cut);
      }
    }
    if (complete) {
      this.#emit(tail, out);
      this.#lineDone = 0;
    } else {
      this.#lineDone += used;
    }
  }

  /** Where a still-open segment may be cut anyway: the first clause of a reply, or one that is far too long. */
  #earlyCut(text: string): number {
    const clause = /[,;:—–](?=\s)/g;
    if (this.#count === 0 && this.#eagerFirst > 0) {
      for (let m: RegExpExecArray | null; (m = clause.exec(text)); ) {
        if (m.index >= this.#eagerFirst && /\s\S/.test(text.slice(m.index))) return m.index + 1;
      }
    }
    if (text.length > this.#maxChars) {
      const head = text.slice(0, this.#maxChars);
      let best = -1;
      for (const m of head.matchAll(/[,;:—–](?=\s)/g)) best = m.index! + 1;
      if (best < this.#maxChars / 3) best = head.lastIndexOf(' ');
      return best > 0 ? best : this.#maxChars;
    }
    return 0;
  }

  #emit(segment: string, out: string[]) {
    const s = segment.replace(/\s+/g, ' ').trim();
    if (!s || !SPEAKABLE.test(s)) return;
    this.#count++;
    out.push(s);
  }
}
