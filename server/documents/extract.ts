/**
 * Text from documents, on the server, with maintained libraries: PDF through `unpdf`
 * (PDF.js), DOCX through `mammoth`, and text, Markdown, CSV and source code as UTF-8.
 * Every path is bounded, because a document is hostile until read:
 *   - size: at most MAX_DOCUMENT_BYTES in;
 *   - PDF: at most MAX_PAGES pages (refused before any page is read), a time limit after
 *     which the document is destroyed, and malformed files fail with a clear error;
 *   - DOCX: the zip's central directory is read first, so a zip bomb (huge uncompressed
 *     sizes, thousands of entries, ZIP64 tricks) is refused before anything is inflated;
 *   - text out: at most MAX_TEXT_CHARS characters (the rest is cut, and said so).
 * Trimming to a model's context budget is the caller's (fitToBudget below).
 */
import mammoth from 'mammoth';
import { extractText, getDocumentProxy } from 'unpdf';

export const MAX_DOCUMENT_BYTES = 20 * 1024 * 1024;
export const MAX_PAGES = 500;
export const MAX_TEXT_CHARS = 2_000_000;
export const EXTRACT_TIMEOUT_MS = 30_000;
const MAX_DOCX_INFLATED = 100 * 1024 * 1024;
const MAX_DOCX_ENTRIES = 2000;

export class DocumentError extends Error {}

export type DocumentKind = 'pdf' | 'docx' | 'text';

export interface Extracted {
  text: string;
  pages: number | null;
  /** More text than MAX_TEXT_CHARS: cut. */
  truncated: boolean;
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|typescript|x-sh|x-yaml|toml|sql|csv))/;
const TEXT_NAMES = /\.(txt|md|markdown|csv|tsv|json|ya?ml|toml|xml|html?|css|js|mjs|cjs|ts|tsx|jsx|svelte|vue|py|rb|go|rs|java|kt|c|h|cc|cpp|hpp|cs|php|swift|sh|bash|zsh|sql|r|lua|pl|ini|cfg|conf|log|tex)$/i;

/** What a file is by its bytes (and, for plain text, its name or declared type); null: not a document. */
export function documentKind(bytes: Uint8Array, name: string, declared: string | null): DocumentKind | null {
  if (bytes.length >= 5 && new TextDecoder().decode(bytes.subarray(0, 5)) === '%PDF-') return 'pdf';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && /\.docx$/i.test(name)) return 'docx';
  if (TEXT_NAMES.test(name) || (declared && TEXT_TYPES.test(declared))) {
    // Text has no NUL bytes in its first few kilobytes; binary almost always does.
    return bytes.subarray(0, 8192).includes(0) ? null : 'text';
  }
  return null;
}

function capped(text: string, pages: number | null): Extracted {
  const clean = text.replace(/\u0000/g, '');
  return clean.length > MAX_TEXT_CHARS
    ? { text: clean.slice(0, MAX_TEXT_CHARS), pages, truncated: true }
    : { text: clean, pages, truncated: false };
}

async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new DocumentError(`Reading the document took longer than ${Math.round(ms / 1000)} s`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Frees PDF.js's worker-side state (also what stops a runaway extraction). This PDF.js build's
 * document proxy has no `destroy()`: its loading task does.
 */
export const closePdf = (pdf: unknown) =>
  void (pdf as { loadingTask?: { destroy?: () => Promise<void> } }).loadingTask?.destroy?.()?.catch(() => {});
const close = closePdf;

async function pdfText(bytes: Uint8Array, timeoutMs: number): Promise<Extracted> {
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // PDF.js may detach the buffer it is given: hand it a copy.
    pdf = await withTimeout(getDocumentProxy(bytes.slice()), timeoutMs, () => {});
  } catch (error) {
    if (error instanceof DocumentError) throw error;
    throw new DocumentError(`The PDF could not be read (${error instanceof Error ? error.message.slice(0, 120) : 'malformed'})`);
  }
  try {
    if (pdf.numPages > MAX_PAGES) throw new DocumentError(`The PDF has ${pdf.numPages} pages; at most ${MAX_PAGES} can be read`);
    const { text, totalPages } = await withTimeout(extractText(pdf, { mergePages: false }), timeoutMs, () => close(pdf));
    return capped(text.map((page, i) => `--- Page ${i + 1} ---\n${page.trim()}`).join('\n\n'), totalPages);
  } catch (error) {
    if (error instanceof DocumentError) throw error;
    throw new DocumentError(`The PDF could not be read (${error instanceof Error ? error.message.slice(0, 120) : 'malformed'})`);
  } finally {
    close(pdf);
  }
}

/** Refuses a zip whose central directory promises too much (a zip bomb) before it is inflated. */
export function checkZip(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65_557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new DocumentError('The DOCX file is not a valid zip archive');
  const entries = view.getUint16(eocd + 10, true);
  const size = view.getUint32(eocd + 12, true);
  const offset = view.getUint32(eocd + 16, true);
  if (entries === 0xffff || offset === 0xffffffff || size === 0xffffffff) throw new DocumentError('The DOCX file uses ZIP64, which is refused');
  if (entries > MAX_DOCX_ENTRIES) throw new DocumentError(`The DOCX file has ${entries} parts; at most ${MAX_DOCX_ENTRIES} are read`);
  if (offset + size > bytes.length) throw new DocumentError('The DOCX file is not a valid zip archive');
  let at = offset;
  let inflated = 0;
  for (let n = 0; n < entries; n++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) throw new DocumentError('The DOCX file is not a valid zip archive');
    const unpacked = view.getUint32(at + 24, true);
    if (unpacked === 0xffffffff) throw new DocumentError('The DOCX file uses ZIP64, which is refused');
    inflated += unpacked;
    if (inflated > MAX_DOCX_INFLATED) throw new DocumentError('The DOCX file would inflate to more than 100 MB (a zip bomb?)');
    at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
}

async function docxText(bytes: Uint8Array, timeoutMs: number): Promise<Extracted> {
  checkZip(bytes);
  try {
    const result = await withTimeout(mammoth.extractRawText({ buffer: Buffer.from(bytes) }), timeoutMs, () => {});
    return capped(result.value, null);
  } catch (error) {
    if (error instanceof DocumentError) throw error;
    throw new DocumentError(`The DOCX file could not be read (${error instanceof Error ? error.message.slice(0, 120) : 'malformed'})`);
  }
}

/** The text of a document; throws DocumentError with a sentence a person can read. */
export async function extractDocument(bytes: Uint8Array, kind: DocumentKind, timeoutMs = EXTRACT_TIMEOUT_MS): Promise<Extracted> {
  if (bytes.length > MAX_DOCUMENT_BYTES) throw new DocumentError(`The document is larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB`);
  if (kind === 'pdf') return pdfText(bytes, timeoutMs);
  if (kind === 'docx') return docxText(bytes, timeoutMs);
  return capped(new TextDecoder('utf-8', { fatal: false }).decode(bytes), null);
}

/**
 * A document's text within a budget of characters (about four per token of the model's
 * context left for it); `note` says what was left out, for the thread and the model.
 */
export function fitToBudget(name: string, text: string, budgetChars: number): { text: string; note: string | null } {
  if (text.length <= budgetChars) return { text, note: null };
  const kept = text.slice(0, Math.max(0, budgetChars));
  const percent = Math.round((kept.length / text.length) * 100);
  return { text: kept, note: `Only the first ${percent}% of ${name} fits in the model's context; the rest was left out.` };
}
