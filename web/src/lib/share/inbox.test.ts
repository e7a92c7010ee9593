import { describe, expect, test } from 'bun:test';
import { sharedText } from './inbox';

describe('sharedText', () => {
  test('title, text and link on their own lines', () => {
    expect(sharedText('Garden ideas', 'What could grow here?', 'https://example.com/g')).toBe('Garden ideas\nWhat could grow here?\nhttps://example.com/g');
  });
  test('a link already in the text, or a title the text repeats, is not written twice', () => {
    expect(sharedText('', 'Read this https://example.com/a', 'https://example.com/a')).toBe('Read this https://example.com/a');
    expect(sharedText('News', 'News: the river rose', '')).toBe('News: the river rose');
  });
  test('nothing shared: nothing written', () => {
    expect(sharedText(' ', '', '')).toBe('');
  });
});
