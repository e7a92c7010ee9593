/**
 * What a thread's first paint needs of Markdown, without the renderer (marked and DOMPurify,
 * render.ts, a lazy chunk: building marked's rules at import costs ~400 ms of a phone's
 * main thread). Markdown.svelte shows each block with `quickHtml` until render.ts has loaded:
 * - a block with no Markdown syntax at all (most replies' paragraphs) gets exactly the HTML
 *   the renderer gives it, since render.ts uses `simpleHtml` for those blocks too: nothing
 *   moves or is replaced when the renderer arrives;
 * - any other block is its text as typed (`plainHtml`), until the renderer takes over.
 * Everything here escapes all text: no markup from a reply passes through.
 */
import type { Block } from './bound';

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Syntax that could make marked (GFM, `breaks`, the maths extension) give anything but one
 * paragraph of text with line breaks: inline delimiters, HTML, escapes, entities, tables,
 * maths, autolinks (a scheme, `www.`, an e-mail address); and, at a line's start, a
 * heading, quote, list, rule, setext underline or indentation. Over-refusing is harmless
 * (the block waits for the renderer); under-refusing would show a block differently.
 */
const INLINE = /[`*_~[\]<>\\|$]|&#?\w+;|:\/\/|www\.|@|[\u0000-\u0009\u000b-\u001f\u007f]/i;
const LINE_START = /(?:^|\n)(?:[ \t#>=+*_-]|\d{1,9}[.)])/;
const TRAILING_SPACE = /[ \t](?:\n|$)/;

/**
 * The HTML of a block that is one plain paragraph, the same as the renderer's (`<p>` with a
 * `<br>` per line break), or null when the block holds any Markdown syntax.
 */
export function simpleHtml(text: string): string | null {
  const body = text.replace(/^\n+|\n+$/g, '');
  if (!body || body.includes('\n\n') || INLINE.test(body) || LINE_START.test(body) || TRAILING_SPACE.test(body)) return null;
  return `<p>${escapeHtml(body).replace(/\n/g, '<br>')}</p>\n`;
}

/**
 * Text shown as typed (the fallback when Markdown is too costly or fails, and before the
 * renderer has loaded), in pieces of about PLAIN_PIECE characters cut at a line end or a
 * space where there is one: the browser then lays out and shapes only the pieces on
 * screen (content-visibility in app.css), not tens of thousands of characters at each change.
 */
const PLAIN_PIECE = 1000;
export function plainHtml(text: string): string {
  const pieces: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + PLAIN_PIECE);
    if (end < text.length) {
      const newline = text.lastIndexOf('\n', end);
      const space = text.lastIndexOf(' ', end);
      const cut = newline > at + PLAIN_PIECE / 2 ? newline : space > at + PLAIN_PIECE / 2 ? space : -1;
      if (cut > 0) end = cut + 1;
    }
    pieces.push(`<p class="plain-text">${escapeHtml(text.slice(at, end))}</p>`);
    at = end;
  }
  return pieces.join('') || '<p class="plain-text"></p>';
}

/** One block's HTML, cached by text, since a streamed reply asks for the same blocks again. */
const cache = new Map<string, string>();
const CACHE_MAX = 400;
export function cached(key: string, make: () => string): string {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const html = make();
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, html);
  return html;
}

/** A block as plain text (cached too: a long streamed reply asks for the same ones again). */
export function pendingHtml(block: Block): string {
  return cached('t' + block.text, () => plainHtml(block.text));
}

/** A block before the renderer has loaded: its final HTML when it has no syntax, else its text. */
export function quickHtml(block: Block): string {
  if (!block.markdown) return pendingHtml(block);
  return cached('q' + block.text, () => simpleHtml(block.text) ?? plainHtml(block.text));
}

/** What render.ts gives once it has loaded (it registers itself: see `provideRenderer`). */
export interface FullRenderer {
  renderBlock(block: Block): string;
  loadMath(): Promise<void>;
  mathLoaded(): boolean;
}
let full: FullRenderer | null = null;
/** The renderer, once render.ts has been imported (by Markdown.svelte, or by a lazy screen with it). */
export const fullRenderer = () => full;
/**
 * Called by render.ts as it loads. A screen that is a lazy chunk anyway (rooms, a shared
 * conversation, the admin's flags) imports render.ts statically, so the renderer comes with
 * it and its Markdown is never shown as text first.
 */
export function provideRenderer(renderer: FullRenderer) {
  full = renderer;
}

/** Whether a text may hold maths worth loading KaTeX for: `$$`, `\[`, `\(`, or `$x$` (the same rules as math.ts's inline `$`). */
export function hasMath(source: string): boolean {
  return /\$\$|\\\[|\\\(|\$(?![\s$])(?:\\.|[^\\$\n])+?(?<!\s)\$(?!\d)/.test(source);
}

/**
 * Each render step's main-thread time, as a User Timing measure `parley:markdown` (seen in
 * the browser's performance tools, and read by the e2e test of hostile replies). The
 * buffer is cleared now and then so a long session does not keep them all.
 */
let measures = 0;
export function noteRenderTime(startedAt: number) {
  if (typeof performance.measure !== 'function') return;
  if (++measures > 1000) {
    performance.clearMeasures('parley:markdown');
    measures = 1;
  }
  performance.measure('parley:markdown', { start: startedAt, end: performance.now() });
}
