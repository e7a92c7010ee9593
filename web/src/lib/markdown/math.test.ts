import { describe, expect, test } from 'bun:test';
import { Marked } from 'marked';
import { mathExtension } from './math';
import { hasMath } from './plain';

const render = (src: string) => new Marked({ gfm: true, breaks: true, async: false }, mathExtension).parse(src) as string;

describe('hasMath', () => {
  test('finds the delimiters models write', () => {
    for (const s of ['$x^2$', 'so $\\alpha + 1$ holds', '$$a=b$$', '\\[ x \\]', 'inline \\(y\\)']) expect(hasMath(s)).toBe(true);
  });
  test('leaves prices and plain dollars alone', () => {
    for (const s of ['it costs $5 or $10', 'a $ sign', '$ 5 $', 'no maths here']) expect(hasMath(s)).toBe(false);
  });
});

describe('math extension', () => {
  test('inline and display maths become MathML, with no TeX left as text', () => {
    const html = render('Euler: $e^{i\\pi} + 1 = 0$.\n\n$$\n\\int_0^1 x^2 \\, dx = \\frac{1}{3}\n$$');
    expect(html.match(/<math/g)?.length).toBe(2);
    expect(html).toContain('display="block"');
    expect(html).toContain('<mfrac>');
    expect(html).not.toContain('annotation');
    expect(html).not.toContain('\\int');
  });
  test('a thin space stays a space, not a comma', () => {
    const html = render('$a\\,b$');
    expect(html).toContain('<mi>a</mi><mtext>\u2009</mtext><mi>b</mi>');
    expect(html).not.toContain(',');
  });
  test('prices stay text', () => {
    expect(render('it costs $5 or $10.')).toBe('<p>it costs $5 or $10.</p>\n');
  });
  test('bad TeX shows as an error, never throws', () => {
    expect(render('$\\frac{1}{$')).toContain('<p>');
  });
});
