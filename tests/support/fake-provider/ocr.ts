/**
 * The fake's OCR, in Mistral's wire format: POST /v1/ocr
 *   {model, document: {type: 'document_url', document_url: 'data:application/pdf;base64,…'}}
 * → {pages: [{index, markdown, images: [], dimensions}], model, usage_info: {pages_processed, doc_size_bytes}}.
 * It "reads" the scripted `pages` (default: one page saying what it received), and checks
 * that the document really is a PDF sent inline. Tests script it through `control`.
 */
import type { FakeModule } from './index';

export interface OcrControl {
  /** The Markdown of each page it answers (null: one page naming the document's size). */
  pages: string[] | null;
  /** Answer this HTTP error instead. */
  fail: { status: number; message?: string } | null;
  /** Wait this long before answering (a long document being read). */
  delayMs: number;
  /** The JSON bodies received (the document URL shortened). */
  bodies: { model: unknown; documentName: unknown; bytes: number }[];
  reset(): void;
}

export function createOcrModule(): FakeModule<OcrControl> {
  const control: OcrControl = {
    pages: null,
    fail: null,
    delayMs: 0,
    bodies: [],
    reset() {
      control.pages = null;
      control.fail = null;
      control.delayMs = 0;
      control.bodies = [];
    },
  };
  return {
    control,
    async handle(req, url, recorded) {
      if (req.method !== 'POST' || url.pathname !== '/v1/ocr') return null;
      const body = recorded.body as { model?: unknown; document?: { type?: string; document_url?: string; document_name?: unknown } } | null;
      const href = body?.document?.document_url ?? '';
      const match = /^data:application\/pdf;base64,(.+)$/.exec(href);
      if (body?.document?.type !== 'document_url' || !match) {
        return Response.json({ message: 'document must be a document_url with a base64 PDF' }, { status: 422 });
      }
      const bytes = Buffer.from(match[1]!, 'base64');
      control.bodies.push({ model: body.model, documentName: body.document.document_name, bytes: bytes.length });
      if (!bytes.subarray(0, 5).equals(Buffer.from('%PDF-'))) return Response.json({ message: 'not a PDF' }, { status: 422 });
      if (control.delayMs) await Bun.sleep(control.delayMs);
      if (control.fail) return Response.json({ message: control.fail.message ?? 'OCR failed' }, { status: control.fail.status });
      const pages = control.pages ?? [`Scanned text of a ${bytes.length}-byte PDF`];
      return Response.json({
        pages: pages.map((markdown, index) => ({ index, markdown, images: [], dimensions: { dpi: 200, height: 2200, width: 1700 } })),
        model: typeof body.model === 'string' ? body.model : 'mistral-ocr-latest',
        document_annotation: null,
        usage_info: { pages_processed: pages.length, doc_size_bytes: bytes.length },
      });
    },
  };
}
