/** Unit tier: thread titles (server/replies/title.ts), pure. */
import { describe, expect, test } from 'bun:test';
import { provisionalTitle, tidyTitle } from '../../../server/replies/title';

describe('provisionalTitle', () => {
  test('short messages are kept whole, on one line', () => {
    expect(provisionalTitle('What should I pack?')).toBe('What should I pack?');
    expect(provisionalTitle('  two\n\nlines\tand   spaces  ')).toBe('two lines and spaces');
  });

  test('an empty or blank message (a photo alone) is a "New chat"', () => {
    expect(provisionalTitle('')).toBe('New chat');
    expect(provisionalTitle(' \n\t ')).toBe('New chat');
  });

  test('long messages are cut at a word before 60 characters, with an ellipsis', () => {
    const text = 'What should I pack for a long weekend in Lisbon in May if it might rain?';
    const title = provisionalTitle(text);
    expect(title).toBe('What should I pack for a long weekend in Lisbon in May if…');
    expect(title.length).toBeLessThanOrEqual(61);
    expect(text.startsWith(title.slice(0, -1))).toBe(true);
  });

  test('exactly 60 characters is not cut; a word too long to cut at a space is cut at 60', () => {
    const sixty = 'a'.repeat(60);
    expect(provisionalTitle(sixty)).toBe(sixty);
    expect(provisionalTitle('b'.repeat(100))).toBe('b'.repeat(60) + '…');
    // The last space is too early (before 30 characters): cut at 60 rather than leave a stub.
    expect(provisionalTitle('short ' + 'c'.repeat(80))).toBe(('short ' + 'c'.repeat(80)).slice(0, 60) + '…');
  });
});

describe('tidyTitle', () => {
  test('quotes, markdown marks, a "Title:" label and the final period go', () => {
    expect(tidyTitle('"Packing for Lisbon."')).toBe('Packing for Lisbon');
    expect(tidyTitle('“Packing for Lisbon”')).toBe('Packing for Lisbon');
    expect(tidyTitle('## **Packing for Lisbon**')).toBe('Packing for Lisbon');
    expect(tidyTitle('Title: Packing for Lisbon')).toBe('Packing for Lisbon');
    expect(tidyTitle("«Packing for Lisbon»\n")).toBe('Packing for Lisbon');
  });

  test('inner whitespace collapses; the result is at most 80 characters; nothing useful is empty', () => {
    expect(tidyTitle('Packing\n for   Lisbon')).toBe('Packing for Lisbon');
    expect(tidyTitle('x'.repeat(200)).length).toBe(80);
    expect(tidyTitle('  "" . ')).toBe('');
  });
});
