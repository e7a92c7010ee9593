import { t } from 'elysia';
import { Attachment } from '../threads/model';

export const FileParams = t.Object({ id: t.String({ format: 'uuid', error: 'must be a file id' }) });

export const FileQuery = t.Object({ download: t.Optional(t.String({ maxLength: 8 })) });

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Uploads per user per 10 minutes: plenty for people, a wall for a runaway script. */
export const UPLOAD_LIMIT = { max: 120, windowSeconds: 600 };

/** POST /api/files answers the stored file. */
export const FileAnswer = t.Object({ file: Attachment });
export type FileAnswer = typeof FileAnswer.static;

/**
 * The fields of the multipart body of POST /api/files. The route reads the body itself
 * under a byte cap (parse: 'none'), so this schema documents it rather than validating it.
 */
export const FileUpload = t.Object({
  file: t.File({ description: 'a JPEG, PNG, WebP or GIF image (10 MB), or a PDF, DOCX, text, Markdown, CSV or source file (20 MB)' }),
  threadId: t.Optional(t.String({ format: 'uuid', description: 'the thread it is for' })),
});
