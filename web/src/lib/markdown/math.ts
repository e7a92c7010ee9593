/**
 * Maths in replies, as MathML (KaTeX's `output: 'mathml'`: the browser lays it out, so no
 * fonts or stylesheet ship). Loaded only when a reply contains maths (render.ts `hasMath`),
 * never in the first load (vite.config.ts LAZY).
 *
 * Delimiters models actually write: `$$…$$` and `\[…\]` for display, `$…$` and `\(…\)` inline.
 * An inline `$` must hug its content (`$x$`, not `$ 5 and $`) and the closing one must not be
 * followed by a digit, so prices ("$5 and $10") stay text. The TeX is taken raw, before
 * Markdown's escapes, so `\,` stays a thin space instead of becoming a comma.
 */
import katex from 'katex';
import type { MarkedExtension, TokenizerAndRendererExtension } from 'marked';

function tex(source: string, displayMode: boolean): string {
  const mathml = katex.renderToString(source, { displayMode, output: 'mathml', throwOnError: false, strict: 'ignore', trust: false });
  // The sanitizer refuses <semantics>/<annotation> (and would keep the TeX as visible text):
  // drop the annotation, which only repeats the source, and unwrap <semantics>.
  return mathml.replace(/<annotation\b[\s\S]*?<\/annotation>/g, '').replace(/<\/?semantics>/g, '');
}

const block: TokenizerAndRendererExtension = {
  name: 'mathBlock',
  level: 'block',
  start: (src) => src.match(/\$\$|\\\[/)?.index,
  tokenizer(src) {
    const m = /^(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])[ \t]*(?:\n|$)/.exec(src);
    if (m) return { type: 'mathBlock', raw: m[0], text: (m[1] ?? m[2] ?? '').trim() };
  },
  renderer: (token) => `<div class="math-block">${tex(token.text as string, true)}</div>\n`,
};

const inline: TokenizerAndRendererExtension = {
  name: 'mathInline',
  level: 'inline',
  start: (src) => src.match(/\$|\\\(/)?.index,
  tokenizer(src) {
    const m =
      /^\$\$([^$]+?)\$\$/.exec(src) ?? /^\$(?![\s$])((?:\\.|[^\\$\n])+?)(?<!\s)\$(?!\d)/.exec(src) ?? /^\\\(([\s\S]+?)\\\)/.exec(src);
    if (m) return { type: 'mathInline', raw: m[0], text: m[1]!.trim(), display: m[0].startsWith('$$') };
  },
  renderer: (token) => tex(token.text as string, Boolean(token.display)),
};

export const mathExtension: MarkedExtension = { extensions: [block, inline] };
