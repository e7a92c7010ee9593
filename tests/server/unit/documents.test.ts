/** Document text extraction: real PDFs and DOCX files made here, and hostile ones that must fail fast. */
import { describe, expect, test } from 'bun:test';
import { DocumentError, MAX_PAGES, documentKind, extractDocument, fitToBudget } from '../../../server/documents/extract';
import { makeDocx, makePdf, makeZipBomb } from '../../support/documents';

describe('documents', () => {
  test('a PDF: its pages, in order', async () => {
    const pdf = makePdf(3, 2);
    expect(documentKind(pdf, 'report.pdf', 'application/pdf')).toBe('pdf');
    const out = await extractDocument(pdf, 'pdf');
    expect(out.pages).toBe(3);
    expect(out.text).toContain('--- Page 1 ---');
    expect(out.text).toContain('Page 3 line 2: the quick brown fox');
    expect(out.truncated).toBe(false);
  });

  test('a DOCX through mammoth', async () => {
    const docx = makeDocx(['Quarterly report', 'Revenue grew by 12 percent.']);
    expect(documentKind(docx, 'report.docx', null)).toBe('docx');
    const out = await extractDocument(docx, 'docx');
    expect(out.text).toContain('Quarterly report');
    expect(out.text).toContain('Revenue grew by 12 percent.');
  });

  test('text, Markdown, CSV and code by name; binary is not text', async () => {
    const csv = new TextEncoder().encode('a,b\n1,2\n');
    expect(documentKind(csv, 'data.csv', 'text/csv')).toBe('text');
    expect(documentKind(new TextEncoder().encode('# Title'), 'notes.md', null)).toBe('text');
    expect(documentKind(new TextEncoder().encode('fn main() {}'), 'main.rs', null)).toBe('text');
    expect(documentKind(new Uint8Array([1, 0, 2, 0]), 'blob.txt', null)).toBeNull();
    expect((await extractDocument(csv, 'text')).text).toBe('a,b\n1,2\n');
  });

  test('hostile files fail with a clear error, fast', async () => {
    const started = performance.now();
    await expect(extractDocument(makeZipBomb(), 'docx')).rejects.toThrow(/zip bomb|ZIP64/);
    await expect(extractDocument(new TextEncoder().encode('%PDF-1.4\nthis is not a pdf at all'), 'pdf')).rejects.toBeInstanceOf(DocumentError);
    await expect(extractDocument(new TextEncoder().encode('PK\u0003\u0004 broken'), 'docx')).rejects.toBeInstanceOf(DocumentError);
    await expect(extractDocument(makePdf(MAX_PAGES + 1, 1), 'pdf')).rejects.toThrow(`at most ${MAX_PAGES}`);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test('trimmed to the budget, with a note that says so', () => {
    expect(fitToBudget('a.pdf', 'short', 100)).toEqual({ text: 'short', note: null });
    const fitted = fitToBudget('a.pdf', 'x'.repeat(1000), 250);
    expect(fitted.text).toHaveLength(250);
    expect(fitted.note).toBe("Only the first 25% of a.pdf fits in the model's context; the rest was left out.");
  });
});
