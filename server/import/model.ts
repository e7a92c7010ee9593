import { t } from 'elysia';

/** The largest import accepted (the upload as sent, zip or JSON). */
export const IMPORT_MAX_BYTES = 100 * 1024 * 1024;

export const ImportAnswer = t.Object({
  imported: t.Object({ threads: t.Integer(), messages: t.Integer() }),
  /** Threads already imported from the same source (importing a file twice adds nothing). */
  skipped: t.Integer(),
});
export type ImportAnswer = typeof ImportAnswer.static;

/** Documents the body; the route reads it itself, streamed to disk (parse: 'none'). */
export const ImportUpload = t.Object({ file: t.File({ description: 'conversations.json, its zip, a Claude export or a Parley export' }) });

/** An import under way: `checking` counts the conversations read so far (nothing written yet); `importing` counts threads written of `total`. */
export const ImportProgress = t.Object({
  phase: t.Union([t.Literal('checking'), t.Literal('importing')]),
  done: t.Integer(),
  total: t.Integer(),
});
export type ImportProgress = typeof ImportProgress.static;
export const ImportProgressAnswer = t.Object({ progress: t.Union([ImportProgress, t.Null()]) });
export type ImportProgressAnswer = typeof ImportProgressAnswer.static;

/**
 * An import sent in parts (POST /api/import/uploads, then PUT …/parts/:n, then POST …/finish):
 * each part is a request of its own, so the server never holds more than one part of the
 * file (a single 100 MB request body is buffered by Bun.serve as fast as it arrives).
 */
export const IMPORT_PART_BYTES = 4 * 1024 * 1024;
/** Uploads one account may have open at once. */
export const IMPORT_OPEN_UPLOADS = 3;
/** An upload with no part for this long is abandoned: deleted by the next upload's start. */
export const IMPORT_UPLOAD_TTL_SECONDS = 3600;

export const ImportUploadBody = t.Object({
  /** The whole file's size in bytes. */
  size: t.Integer({ minimum: 1 }),
  name: t.Optional(t.String({ maxLength: 255 })),
});
export type ImportUploadBody = typeof ImportUploadBody.static;

export const ImportUploadView = t.Object({
  id: t.String({ format: 'uuid' }),
  size: t.Integer(),
  /** Every part but the last is exactly this long; the last is the rest. */
  partBytes: t.Integer(),
  parts: t.Integer(),
  /** When the upload is dropped if no further part arrives. */
  expiresAt: t.String({ format: 'date-time' }),
});
export type ImportUploadView = typeof ImportUploadView.static;
export const ImportUploadAnswer = t.Object({ upload: ImportUploadView });
export type ImportUploadAnswer = typeof ImportUploadAnswer.static;

export const ImportUploadParams = t.Object({ id: t.String({ format: 'uuid' }) });
export const ImportPartParams = t.Object({ id: t.String({ format: 'uuid' }), n: t.Numeric({ minimum: 0, maximum: 1000 }) });
export const ImportPartAnswer = t.Object({ part: t.Integer(), size: t.Integer() });
