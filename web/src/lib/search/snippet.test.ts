import { describe, expect, test } from 'bun:test';
import { runsAround, runsFromServer } from './snippet';

describe('snippets', () => {
  test('server snippets become text runs: entities unescaped, only <mark> makes a mark', () => {
    expect(runsFromServer('a &lt;b&gt; &amp; <mark>treasure</mark> here')).toEqual([
      { text: 'a <b> & ', mark: false },
      { text: 'treasure', mark: true },
      { text: ' here', mark: false },
    ]);
  });

  test('offline snippets centre on the first match and mark word prefixes', () => {
    const text = `${'lorem '.repeat(60)}the acetone smell ${'ipsum '.repeat(60)}`;
    const runs = runsAround(text, ['aceto']);
    expect(runs.find((r) => r.mark)?.text).toBe('acetone');
    expect(runs[0]!.text.startsWith('…')).toBe(true);
  });
});
