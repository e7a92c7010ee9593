import { describe, expect, test } from 'bun:test';
import { documentInfo, fileSize, isDocumentAttachment } from './documents';

describe('document descriptions', () => {
  test('size, pages and what reading it gave', () => {
    expect(documentInfo({ size: 1_300_000, pages: 3, textStatus: 'ready' })).toBe('1.2 MB · 3 pages · text read');
    expect(documentInfo({ size: 2048, textStatus: 'failed', textError: 'The DOCX file would inflate to more than 100 MB (a zip bomb?)' })).toBe(
      '2 KB · The DOCX file would inflate to more than 100 MB (a zip bomb?)',
    );
    expect(documentInfo({ size: 10, pages: 1, textStatus: 'none' })).toBe('10 B · 1 page · no text could be read');
    expect(fileSize(512 * 1024)).toBe('512 KB');
  });
  test('images are not documents', () => {
    expect(isDocumentAttachment({ mime: 'image/png' })).toBe(false);
    expect(isDocumentAttachment({ mime: 'application/pdf', textStatus: 'ready' })).toBe(true);
    expect(isDocumentAttachment({ mime: 'text/plain' })).toBe(true);
  });
});
