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
