/** `bun test web/src/lib/voice` — the sentence splitter, fed the way a reply streams. */
import { describe, expect, test } from 'bun:test';
import { SentenceSplitter } from './sentences';

/** Streams `text` in pieces of `size` characters and collects every sentence with the piece count at which it came out. */
function stream(text: string, size = 3, opts = {}) {
  const s = new SentenceSplitter(opts);
  const out: { text: string; at: number }[] = [];
  let i = 0;
  for (; i * size < text.length; i++) for (const t of s.push(text.slice(i * size, (i + 1) * size))) out.push({ text: t, at: i });
  for (const t of s.finish()) out.push({ text: t, at: Infinity });
  return out;
}
const texts = (text: string, size?: number, opts?: object) => stream(text, size, opts).map((o) => o.text);

describe('SentenceSplitter', () => {
  test('hands out each sentence as soon as it is complete', () => {
    const out = stream('Hello there. How are you today? I am fine! Bye', 1);
    expect(out.map((o) => o.text)).toEqual(['Hello there.', 'How are you today?', 'I am fine!', 'Bye']);
    // "Hello there." is out once the space after it arrives, long before the end.
    expect(out[0]!.at).toBe('Hello there. '.length - 1);
    expect(out[3]!.at).toBe(Infinity);
  });

  test('the same sentences whatever the chunking', () => {
    const text = 'Dr. Smith paid $3.50 for it, i.e. a bargain. Then J. R. R. Tolkien wrote more... And so on. Apples, pears, etc. are fruit.';
    const expected = [
      'Dr. Smith paid $3.50 for it, i.e. a bargain.',
      'Then J. R. R. Tolkien wrote more...',
      'And so on.',
      'Apples, pears, etc. are fruit.',
    ];
    for (const size of [1, 2, 5, 7, 1000]) expect(texts(text, size)).toEqual(expected);
  });

  test('code blocks are not spoken; lists, headings and tables are read as text', () => {
    const md = [
      '## Steps',
      '',
      'Here is **the** plan:',
      '1. Install it.',
      '2. Run `bun dev` now',
      '',
      '```ts',
      'const a = 1. + 2; // not spoken. Really.',
      '```',
      '| Name | Age |',
      '| --- | --- |',
      '| Ada | 36 |',
      'See [the docs](https://example.com/a.b) or https://example.org/x. Done.',
      '![a cat](cat.png)',
    ].join('\n');
    const expected = [
      'Steps',
      'Here is the plan:',
      'Install it.',
      'Run bun dev now',
      'Name, Age.',
      'Ada, 36.',
      'See the docs or link.',
      'Done.',
    ];
    for (const size of [1, 4, 9, 1000]) expect(texts(md, size)).toEqual(expected);
  });

  test('keeps snake_case and arithmetic but drops emphasis', () => {
    expect(texts('Use _my_var_ and __bold__ and *it* with 2 * 3 = 6.')).toEqual(['Use my_var and bold and it with 2 * 3 = 6.']);
  });

  test('an eager first clause, then whole sentences', () => {
    const text = 'Sure, the ocean covers about seventy percent of the planet, and it holds most of its water. It is deep, cold, and dark.';
    expect(texts(text, 2, { eagerFirst: 40 })).toEqual([
      'Sure, the ocean covers about seventy percent of the planet,',
      'and it holds most of its water.',
      'It is deep, cold, and dark.',
    ]);
  });

  test('a very long run-on is cut at a clause break', () => {
    const text = `${'word '.repeat(30)}, ${'more '.repeat(100)}end.`;
    const out = texts(text, 10, { maxChars: 200 });
    expect(out.length).toBeGreaterThan(1);
    for (const s of out) expect(s.length).toBeLessThanOrEqual(200);
  });

  test('split() reads a whole message', () => {
    expect(SentenceSplitter.split('One. Two?\n\n- three\n- four')).toEqual(['One.', 'Two?', 'three', 'four']);
  });
});
