/**
 * Reading a document once, at upload: its text (extract.ts, bounded), or, for a PDF
 * without a text layer (a scan), the text Mistral's OCR endpoint reads from it when a
 * Mistral key or connection exists. The outcome is what the file keeps: `textStatus`
 * ready (text kept), failed (a sentence saying why), none (nothing to read, and why).
 * At most two documents are read at a time per process, so a burst of uploads cannot
 * multiply the memory PDF.js takes.
 */
import { HTTPClient, Mistral } from '@mistralai/mistralai';
import { extractImages, getDocumentProxy } from 'unpdf';
import type { Config } from '../config';
import type { Connections } from '../connections/service';
import { log } from '../log';
import { PUBLIC_URLS } from '../providers/shared';
import type { ChatMessage, Providers } from '../providers/types';
import { encodePng } from './png';
import { closePdf, DocumentError, extractDocument, MAX_TEXT_CHARS, type DocumentKind } from './extract';

export type TextStatus = 'ready' | 'failed' | 'none';

export interface DocumentText {
  textStatus: TextStatus;
  text: string | null;
  pages: number | null;
  /** Why there is no text (failed or none), as a sentence for the person. */
  textError: string | null;
}

/** `providers` and `userId`: a scan can be read by one of the user's vision models when no Mistral OCR is configured. */
export type DocumentDeps = { config: Pick<Config, 'ai'>; connections?: Connections; providers?: Providers };

/** Fewer characters than this per page: the PDF is a scan (or nearly empty). */
const SCANNED_CHARS_PER_PAGE = 20;
export const OCR_MODEL = 'mistral-ocr-latest';
const OCR_TIMEOUT_MS = 120_000;

let running = 0;
const waiting: (() => void)[] = [];
async function oneOfTwo<T>(work: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** The text a document gives, never throwing for the document's own faults. */
export async function readDocument(
  deps: DocumentDeps,
  bytes: Uint8Array,
  kind: DocumentKind,
  name: string,
  userId?: string,
): Promise<DocumentText> {
  let extracted;
  try {
    extracted = await oneOfTwo(() => extractDocument(bytes, kind));
  } catch (error) {
    if (error instanceof DocumentError) return { textStatus: 'failed', text: null, pages: null, textError: error.message };
    log.error('document extraction failed', { kind, error: String(error) });
    return { textStatus: 'failed', text: null, pages: null, textError: 'The document could not be read' };
  }
  const pages = extracted.pages;
  const meaningful = extracted.text.replace(/--- Page \d+ ---/g, '').replace(/\s+/g, '');
  const scanned = kind === 'pdf' && meaningful.length < SCANNED_CHARS_PER_PAGE * Math.max(1, pages ?? 1);
  if (scanned) {
    const ocr = (await ocrPdf(deps, bytes, name)) ?? (userId ? await visionPdf(deps, userId, bytes) : null);
    if (ocr) return { ...ocr, pages: ocr.pages ?? pages };
    if (!meaningful.length) {
      return {
        textStatus: 'none',
        text: null,
        pages,
        textError: 'This PDF has no text layer (a scan?) and no OCR is configured: a Mistral key or connection, or a model that sees images, reads scans',
      };
    }
  }
  if (!meaningful.length) return { textStatus: 'none', text: null, pages, textError: 'The document holds no text' };
  return { textStatus: 'ready', text: extracted.text, pages, textError: null };
}

/** The Mistral account OCR uses: the environment's, else a Mistral connection; null: none configured. */
async function ocrAccount(deps: DocumentDeps): Promise<{ apiKey: string | null; serverURL: string; fetch?: typeof fetch } | null> {
  const env = deps.config.ai.mistral;
  if (env) return { apiKey: env.apiKey, serverURL: env.serverURL ?? PUBLIC_URLS.mistral };
  const connection = await deps.connections?.mistralAccount().catch(() => null);
  if (connection) return { apiKey: connection.apiKey, serverURL: connection.row.baseUrl.replace(/\/+$/, ''), fetch: connection.fetch };
  return null;
}

/**
 * A scanned PDF's text through Mistral's OCR (`client.ocr.process`, the document sent
 * inline as a base64 data URL); null when no Mistral account is configured. A failure of
 * the service is a `failed` status with its reason, never an exception.
 */
export async function ocrPdf(deps: DocumentDeps, bytes: Uint8Array, name: string): Promise<DocumentText | null> {
  const account = await ocrAccount(deps);
  if (!account) return null;
  const client = new Mistral({
    apiKey: account.apiKey || '',
    serverURL: account.serverURL,
    ...(account.fetch ? { httpClient: new HTTPClient({ fetcher: account.fetch }) } : {}),
  });
  try {
    const result = await client.ocr.process(
      {
        model: OCR_MODEL,
        document: { type: 'document_url', documentUrl: `data:application/pdf;base64,${Buffer.from(bytes).toString('base64')}`, documentName: name },
        includeImageBase64: false,
      },
      { timeoutMs: OCR_TIMEOUT_MS, retries: { strategy: 'none' } },
    );
    const pages = [...result.pages].sort((a, b) => a.index - b.index);
    const text = pages.map((p) => `--- Page ${p.index + 1} ---\n${p.markdown.trim()}`).join('\n\n').slice(0, MAX_TEXT_CHARS);
    if (!text.replace(/--- Page \d+ ---/g, '').trim()) {
      return { textStatus: 'none', text: null, pages: pages.length, textError: 'OCR found no text in this PDF' };
    }
    return { textStatus: 'ready', text, pages: pages.length, textError: null };
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    log.warn('OCR failed', { status, error: String(error).slice(0, 200) });
    return {
      textStatus: 'failed',
      text: null,
      pages: null,
      textError: status ? `The OCR service answered ${status}` : 'The OCR service could not be reached',
    };
  }
}

/** Pages of a scan a vision model is asked to read (one request each). */
export const VISION_MAX_PAGES = 10;
const VISION_TIMEOUT_MS = 60_000;
const VISION_PROMPT =
  'Transcribe all the text in this scanned page exactly, as Markdown (tables as Markdown tables). Answer with the text only; if there is none, answer with nothing.';

/** The vision model a scan is read with: the user's default if it sees images, else the first that does. */
async function visionModel(providers: Providers, userId: string): Promise<string | null> {
  const { models, defaultModel } = await providers.models(userId).catch(() => ({ models: [], defaultModel: null }));
  const seeing = models.filter((m) => m.capabilities.includes('vision'));
  return (seeing.find((m) => m.id === defaultModel) ?? seeing[0])?.id ?? null;
}

/** The largest image on each of the first pages (a scanner puts one per page), as PNG. */
async function pageImages(bytes: Uint8Array): Promise<(Uint8Array | null)[]> {
  const pdf = await getDocumentProxy(bytes.slice());
  try {
    const out: (Uint8Array | null)[] = [];
    for (let p = 1; p <= Math.min(pdf.numPages, VISION_MAX_PAGES); p++) {
      const images = await extractImages(pdf, p);
      const largest = images.sort((a, b) => b.width * b.height - a.width * a.height)[0];
      out.push(largest ? encodePng(largest.data, largest.width, largest.height, largest.channels) : null);
    }
    return out;
  } finally {
    closePdf(pdf);
  }
}

/**
 * A scan read by one of the user's vision models, page by page (the first VISION_MAX_PAGES);
 * null when the user has no model that sees images or the PDF has no page images.
 */
export async function visionPdf(deps: DocumentDeps, userId: string, bytes: Uint8Array): Promise<DocumentText | null> {
  if (!deps.providers) return null;
  const model = await visionModel(deps.providers, userId);
  if (!model) return null;
  let images: (Uint8Array | null)[];
  try {
    images = await oneOfTwo(() => pageImages(bytes));
  } catch (error) {
    log.warn('the page images of a scan could not be read', { error: String(error).slice(0, 200) });
    return null;
  }
  if (!images.some(Boolean)) return null;
  const signal = AbortSignal.timeout(VISION_TIMEOUT_MS);
  const pages: string[] = [];
  for (const [i, image] of images.entries()) {
    let text = '';
    if (image) {
      const messages: ChatMessage[] = [
        { role: 'user', content: [{ type: 'text', text: VISION_PROMPT }, { type: 'image', mime: 'image/png', data: image }] },
      ];
      for await (const event of deps.providers.stream(userId, model, messages, signal)) {
        if (event.type === 'delta') text += event.text;
        else if (event.type === 'error') {
          return { textStatus: 'failed', text: null, pages: null, textError: `The model reading the scan failed: ${event.message}`.slice(0, 300) };
        }
      }
      if (signal.aborted) return { textStatus: 'failed', text: null, pages: null, textError: 'Reading the scan took too long' };
    }
    pages.push(`--- Page ${i + 1} ---\n${text.trim()}`);
  }
  const text = pages.join('\n\n').slice(0, MAX_TEXT_CHARS);
  if (!text.replace(/--- Page \d+ ---/g, '').trim()) return { textStatus: 'none', text: null, pages: null, textError: 'No text was found in this scan' };
  return { textStatus: 'ready', text, pages: null, textError: null };
}
