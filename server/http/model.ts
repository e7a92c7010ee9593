/**
 * Schemas every feature's answers share: times, page cursors, "no content" and the
 * one error body. The web imports their types (type-only), so one name means one
 * thing on both sides.
 */
import { t } from 'elysia';

/** A time on the wire: ISO 8601 in UTC (`Date#toISOString`). db.ts parses timestamptz into this form. */
export const IsoDate = t.String({ format: 'date-time' });

/** The cursor of the next (older) page, or null at the end. */
export const NextCursor = t.Union([t.String(), t.Null()]);

/** A 204 answer: no body at all. */
export const NoContent = t.Undefined();

export const ErrorDetail = t.Object({
  /** Machine-readable: `invalid_input`, `not_found`, `rate_limited`, `provider_error`, … */
  code: t.String(),
  /** What a person reads. */
  message: t.String(),
  /** Per-field reasons on a 400 (`{"email": "must be a valid email address"}`). */
  fields: t.Optional(t.Record(t.String(), t.String())),
  /** On a 500: the id the server logged the failure under. */
  errorId: t.Optional(t.String()),
});
export type ErrorDetail = typeof ErrorDetail.static;

/** Every 4xx/5xx JSON answer (server/errors.ts builds it). */
export const ErrorBody = t.Object({ error: ErrorDetail });
export type ErrorBody = typeof ErrorBody.static;

/**
 * The error answers any route may give (validation, session, refusal, absence, conflict,
 * limits, a failure of ours, the database down), merged under a route's success answers so
 * the generated OpenAPI document lists them; `extra` adds the route's own (413, 415, 501,
 * 502, 504).
 */
export function withErrors<T extends Record<number, unknown>>(ok: T, ...extra: ErrorStatus[]) {
  const errors: Record<number, typeof ErrorBody> = {};
  for (const status of [...COMMON_ERRORS, ...extra]) errors[status] = ErrorBody;
  return { ...ok, ...errors } as T & Record<(typeof COMMON_ERRORS)[number], typeof ErrorBody>;
}
const COMMON_ERRORS = [400, 401, 403, 404, 409, 429, 500, 503] as const;
type ErrorStatus = 413 | 415 | 501 | 502 | 504;

/** GET /api/health: 200 when the database answers, 503 (with Retry-After) when it does not. */
export const Health = t.Object({ ok: t.Boolean(), db: t.Union([t.Literal('up'), t.Literal('down')]) });
export type Health = typeof Health.static;
