/**
 * The one error path. Services throw HttpError (or its helpers) for expected
 * failures; Elysia's own validation/parse/not-found errors and PostgreSQL errors
 * are mapped here; anything else is logged under an error id and answered 500
 * with that id, never a stack trace.
 */
import { Elysia, ValidationError } from 'elysia';
import type { ErrorBody } from './http/model';
import { log } from './log';

export type { ErrorBody } from './http/model';

export class HttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly fields?: Record<string, string>,
    public readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (fields: Record<string, string>, message = 'Some fields are invalid') =>
  new HttpError(400, 'invalid_input', message, fields);
export const unauthorized = (message = 'Not signed in') => new HttpError(401, 'unauthorized', message);
export const forbidden = (message = 'Not allowed') => new HttpError(403, 'forbidden', message);
export const notFound = (what = 'Resource') => new HttpError(404, 'not_found', `${what} not found`);
export const conflict = (message: string, fields?: Record<string, string>) =>
  new HttpError(409, 'conflict', message, fields);
export const tooLarge = (message = 'Too large') => new HttpError(413, 'too_large', message);
export const unsupportedMedia = (message = 'Unsupported media type') => new HttpError(415, 'unsupported_media_type', message);
export const tooManyRequests = (retryAfterSeconds: number) =>
  new HttpError(429, 'rate_limited', `Too many attempts; try again in ${retryAfterSeconds} s`, undefined, {
    'retry-after': String(retryAfterSeconds),
  });
export const badGateway = (message = 'The provider failed') => new HttpError(502, 'provider_error', message);
export const gatewayTimeout = (message = 'The provider timed out') => new HttpError(504, 'provider_timeout', message);

/** Unique constraints by name → the field a user can fix. */
const CONSTRAINT_FIELDS: Record<string, [string, string]> = {
  users_email_key: ['email', 'is already registered'],
};

const DB_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ENOENT',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
  '08006',
  '08001',
  '08003',
]);

export function isDatabaseDown(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return typeof code === 'string' && DB_DOWN_CODES.has(code);
}

export function errorBody(code: string, message: string, fields?: Record<string, string>, errorId?: string): ErrorBody {
  return { error: { code, message, ...(fields ? { fields } : {}), ...(errorId ? { errorId } : {}) } };
}

function json(status: number, body: ErrorBody, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** Turns a TypeBox validation error into {field: why}. */
function validationFields(error: ValidationError, request?: Request): Record<string, string> {
  // Query values are checked one property at a time and the error carries no name:
  // find the query parameter holding the offending value.
  const queryName = () => {
    if (!request) return null;
    for (const [key, value] of new URL(request.url).searchParams) if (value === String(error.value)) return key;
    return null;
  };
  const fields: Record<string, string> = {};
  let all: { path?: string; message?: string; summary?: string; value?: unknown; schema?: { error?: unknown } }[] = [];
  try {
    all = error.all as typeof all;
  } catch {
    all = [];
  }
  for (const e of all) {
    const name =
      (e.path ?? '').replace(/^\//, '').replace(/\//g, '.') || (error.type === 'property' && queryName()) || error.type;
    if (fields[name]) continue;
    if (e.value === undefined) fields[name] = 'is required';
    else if (typeof e.schema?.error === 'string') fields[name] = e.schema.error;
    else fields[name] = e.summary ?? e.message ?? 'is invalid';
  }
  if (Object.keys(fields).length === 0) fields[error.type] = 'is invalid';
  return fields;
}

export function toResponse(code: string | number, error: unknown, request?: Request): Response {
  if (error instanceof HttpError) {
    return json(error.status, errorBody(error.code, error.message, error.fields), error.headers);
  }
  if (error instanceof ValidationError) {
    const where = error.type === 'property' ? 'query' : error.type;
    return json(400, errorBody('invalid_input', `Invalid ${where}`, validationFields(error, request)));
  }
  switch (code) {
    case 'PARSE':
      // Our body parser's refusals (413, 415, too deep) arrive wrapped in Elysia's ParseError.
      if ((error as { cause?: unknown }).cause instanceof HttpError) return toResponse(code, (error as { cause: HttpError }).cause, request);
      return json(400, errorBody('invalid_body', 'The request body could not be parsed', { body: 'is not valid' }));
    case 'NOT_FOUND':
      return json(404, errorBody('not_found', 'Not found'));
    case 'INVALID_COOKIE_SIGNATURE':
      return json(401, errorBody('unauthorized', 'Not signed in'));
    case 'INVALID_FILE_TYPE':
      return json(415, errorBody('unsupported_media_type', 'Unsupported media type'));
  }
  // Elysia's `status()` responses thrown from hooks.
  const maybeStatus = error as { code?: unknown; response?: unknown };
  if (typeof maybeStatus?.code === 'number' && maybeStatus.code >= 400 && maybeStatus.code < 500) {
    const message = typeof maybeStatus.response === 'string' ? maybeStatus.response : 'Request refused';
    return json(maybeStatus.code, errorBody('request_refused', message));
  }
  // A body nested so deeply that describing its validation failure overflows the stack
  // (Elysia's ValidationError stringifies the value): the input was wrong, not us.
  if (error instanceof RangeError && error.stack?.includes('ValidationError')) {
    return json(400, errorBody('invalid_body', 'The request body is nested too deeply', { body: 'is nested too deeply' }));
  }
  if (isDatabaseDown(error)) {
    return json(503, errorBody('database_unavailable', 'The database is unavailable; try again shortly'), {
      'retry-after': '5',
    });
  }
  const pg = error as { code?: string; constraint_name?: string; constraint?: string };
  if (pg?.code === '23505') {
    const [field, why] = CONSTRAINT_FIELDS[pg.constraint_name ?? pg.constraint ?? ''] ?? ['id', 'already exists'];
    return json(409, errorBody('conflict', `${field} ${why}`, { [field]: why }));
  }
  if (pg?.code === '22P02' || pg?.code === '22021' || pg?.code === '54000') {
    // Bad text representation / bad encoding / too long: the input was wrong.
    return json(400, errorBody('invalid_input', 'Invalid input', { input: 'is malformed' }));
  }
  const errorId = crypto.randomUUID();
  log.error('unhandled error', {
    errorId,
    method: request?.method,
    path: request ? new URL(request.url).pathname : undefined,
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  return json(500, errorBody('internal', 'Something went wrong on our side', undefined, errorId));
}

export const errorHandler = new Elysia({ name: 'errors' }).onError({ as: 'global' }, ({ code, error, request }) =>
  toResponse(code, error, request),
);
