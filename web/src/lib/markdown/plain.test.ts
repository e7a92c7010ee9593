import { describe, expect, test } from 'bun:test';
import { Marked } from 'marked';
import { markdownBlocks } from './bound';
import { mathExtension } from './math';
import { quickHtml, simpleHtml } from './plain';

// The renderer's options (render.ts), with maths: what a block would get once it has loaded.
const marked = new Marked({ gfm: true, breaks: true, async: false }, mathExtension);

describe('simpleHtml: the first paint without the renderer', () => {
  test('a block with no syntax gets exactly what marked gives it', () => {
    const texts = [
      'Echo: What are three good habits for writing clear emails to a busy team at work?',
      'Sure. Here is a short answer.\nAnd a second line, right after it.\n',
      "It's \"quoted\", costs 3.5 euros (or 4), and is well-known; isn't it? Yes!",
      'Q&A time, 2 + 2 = 4, 10% off, and #hashtag in the middle',
      'Ünïcödé, 日本語, emoji 🎉, and a – dash — too.',
      '2024 was a year.\nThen 2025 came.',
      'One\nTwo\nThree\n\n',
    ];
    for (const text of texts) {
      const html = simpleHtml(text);
      expect(html).not.toBeNull();
      expect(html).toBe(marked.parse(text.replace(/\n+$/, '')) as string);
    }
  });

  test('anything with syntax waits for the renderer (null)', () => {
    const texts = [
      '**bold**', 'some *emphasis*', 'a `code` span', 'snake_case', '~~gone~~', '[a link](x)', '![img](x)',
      '<b>html</b>', 'a \\* escape', '&amp; entity', '| a | b |', 'maths $x$', 'see https://example.com',
      'www.example.com', 'mail me@example.com', '# Heading', '> quote', '- item', '+ item', '* item',
      '1. first', '2) second', '    code', '\tcode', 'Title\n===', 'Title\n---', '***', 'a  \nb', 'a\n\n    b',
      '', '\n\n', 'nul\u0000byte', 'tab\there',
    ];
    for (const text of texts) expect(simpleHtml(text)).toBeNull();
  });

  test('every block of a mixed reply is either its final HTML or plain text; no markup passes through', () => {
    const reply = 'Plain opening line.\n\n**Bold** start <img src=x onerror=alert(1)>\n\nPlain closing <line>?';
    const html = markdownBlocks(reply).map(quickHtml);
    expect(html[0]).toBe('<p>Plain opening line.</p>\n');
    expect(html[1]).toStartWith('<p class="plain-text">');
    expect(html[1]).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html[2]).toBe('<p class="plain-text">Plain closing &lt;line&gt;?</p>');
  });
});
