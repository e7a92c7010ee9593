import { t } from 'elysia';

export const FileParams = t.Object({ id: t.String({ format: 'uuid', error: 'must be a file id' }) });

export const FileQuery = t.Object({ download: t.Optional(t.String({ maxLength: 8 })) });

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Uploads per user per 10 minutes: plenty for people, a wall for a runaway script. */
export const UPLOAD_LIMIT = { max: 120, windowSeconds: 600 };
