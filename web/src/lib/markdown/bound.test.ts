import { describe, expect, test } from 'bun:test';
import { Marked } from 'marked';
import { MAX_BLOCK_CHARS, MAX_MARKDOWN_CHARS, MAX_QUOTE_DEPTH, markdownBlocks } from './bound';

const marked = new Marked({ gfm: true, breaks: true, async: false });
/** Renders the bounded blocks and returns how long marked took, in ms. */
function renderTime(source: string) {
  const started = performance.now();
  for (const block of markdownBlocks(source)) if (block.markdown) marked.parse(block.text);
  return performance.now() - started;
}

describe('markdownBlocks', () => {
  test('ordinary replies pass through unchanged, split into top-level blocks', () => {
    const reply = '# Title\n\nSome *emphasis* and `code`.\n\n- one\n- two\n\n  continued item\n\n```js\nconst a = 1;\n\n\nconst b = 2;\n```\n\n> a quote\n\n| a | b |\n|---|---|\n| 1 | 2 |';
    const blocks = markdownBlocks(reply);
    expect(blocks.map((b) => b.text).join('\n')).toBe(reply);
    expect(blocks.every((b) => b.markdown)).toBe(true);
    expect(blocks.map((b) => b.text)).toEqual([
      '# Title\n',
      'Some *emphasis* and `code`.\n',
      '- one\n- two\n\n  continued item\n',
      '```js\nconst a = 1;\n\n\nconst b = 2;\n```\n',
      '> a quote\n',
      '| a | b |\n|---|---|\n| 1 | 2 |',
    ]);
  });

  test('too long or too dense to render: plain text, the whole text or the one block', () => {
    expect(markdownBlocks('a'.repeat(MAX_MARKDOWN_CHARS + 1))).toEqual([{ text: 'a'.repeat(MAX_MARKDOWN_CHARS + 1), markdown: false }]);
    const [long, short] = markdownBlocks('word '.repeat(MAX_BLOCK_CHARS) + '\n\nfine *here*');
    expect([long!.markdown, short!.markdown]).toEqual([false, true]);
    // Long code is fine (cheap for the renderer), even right under a line of prose.
    const code = 'Here:\n```\n' + 'let x = 1;\n'.repeat(2000) + '```';
    expect(markdownBlocks(code)).toEqual([{ text: code, markdown: true }]);
  });

  test('quote nesting and indentation are cut; code blocks are left as they are', () => {
    const [quote] = markdownBlocks('>'.repeat(5000) + ' deep');
    expect(quote!.text).toBe('> '.repeat(MAX_QUOTE_DEPTH) + 'deep');
    const code = '```\n' + '>'.repeat(50) + '\n' + ' '.repeat(60) + 'x\n```';
    expect(markdownBlocks(code)).toEqual([{ text: code, markdown: true }]);
  });

  test('hostile shapes render in bounded time (each took seconds before)', () => {
    const hostile = [
      '_a'.repeat(40_000),
      '*a'.repeat(40_000),
      '*_'.repeat(40_000),
      '['.repeat(80_000),
      '[a]('.repeat(20_000),
      '<'.repeat(90_000),
      Array.from({ length: 400 }, (_, i) => '>'.repeat(i + 1) + ' x').join('\n'),
      Array.from({ length: 400 }, (_, i) => '  '.repeat(i) + '- x').join('\n'),
      // A nested list cut mid-stream, ending in a line of spaces.
      Array.from({ length: 150 }, (_, i) => '  '.repeat(i) + '- item').join('\n').slice(0, 20373),
    ];
    for (const source of hostile) {
      expect(source.length).toBeLessThanOrEqual(MAX_MARKDOWN_CHARS);
      expect([source.slice(0, 12), renderTime(source) < 400]).toEqual([source.slice(0, 12), true]);
    }
  });

  test('a block full of delimiters is left to plain text', () => {
    const [block] = markdownBlocks('*a'.repeat(1000));
    expect(block).toEqual({ text: '*a'.repeat(1000), markdown: false });
  });
});
