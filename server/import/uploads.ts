/**
 * An import sent in parts. Bun.serve reads a request body as fast as the network brings it,
 * whether or not the handler is reading (no TCP backpressure, oven-sh/bun#36006), so a
 * 100 MB export sent as one request sat in the server's memory while it arrived, however
 * the route streamed it. Sent in parts of at most IMPORT_PART_BYTES, one request each, the
 * server holds at most one part at a time:
 *
 *   POST /api/import/uploads {size, name}   → the upload (its id, part size, part count)
 *   PUT  /api/import/uploads/:id/parts/:n   → part n's bytes, kept in the database in chunks
 *   POST /api/import/uploads/:id/finish     → the parts joined into a file, imported from it
 *
 * Parts live in the database (import_upload_chunks, cut like the postgres blob store's
 * chunks), so any instance takes any part and the finish. Every step checks the upload is
 * the caller's before reading anything (another user's id: 404). An upload with no part for
 * IMPORT_UPLOAD_TTL_SECONDS is abandoned and deleted when anyone next starts one.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AppDeps } from '../deps';
import { badRequest, conflict, notFound, tooLarge } from '../errors';
import { enforce } from '../infra/rate-limit';
import { chunksCapped, refuseDeclaredOver } from '../http/body';
import { CHUNK_BYTES } from '../files/blob-store-postgres';
import {
  IMPORT_MAX_BYTES,
  IMPORT_OPEN_UPLOADS,
  IMPORT_PART_BYTES,
  IMPORT_UPLOAD_TTL_SECONDS,
  type ImportAnswer,
  type ImportUploadBody,
  type ImportUploadView,
} from './model';
import { importFile } from './service';

type Deps = Pick<AppDeps, 'sql' | 'config'>;

/** Parts a user may send per hour: a 100 MB file is 13, so this leaves room for retries. */
const PART_LIMIT = { max: 600, windowSeconds: 3600 };

/**
 * A part leaves garbage several times its size behind (the body, then each chunk as the hex
 * text postgres.js sends a bytea as); collected at once, the next part reuses that memory
 * instead of the process growing by every part's worth until the engine gets round to it.
 */
const release = () => Bun.gc(true);
/** Chunks (of 512 KiB) written or read between collections: each leaves ~2 MB of hex text and buffers. */
const RELEASE_EVERY = 4;

interface UploadRow {
  id: string;
  size: number;
  partBytes: number;
  finishing: boolean;
  updatedAt: Date | string;
}

const partCount = (u: Pick<UploadRow, 'size' | 'partBytes'>) => Math.ceil(u.size / u.partBytes);
/** Part n's exact length: every part but the last is partBytes long. */
const partSize = (u: Pick<UploadRow, 'size' | 'partBytes'>, n: number) => Math.min(u.partBytes, u.size - n * u.partBytes);

function view(u: UploadRow): ImportUploadView {
  return {
    id: u.id,
    size: u.size,
    partBytes: u.partBytes,
    parts: partCount(u),
    expiresAt: new Date(new Date(u.updatedAt).getTime() + IMPORT_UPLOAD_TTL_SECONDS * 1000).toISOString(),
  };
}

/** The caller's upload, or 404 (absent, abandoned, or someone else's: the same answer). */
async function ownUpload(deps: Deps, userId: string, id: string): Promise<UploadRow> {
  const [row] = await deps.sql<UploadRow[]>`
    select id, size::float8 as size, part_bytes, finishing, updated_at from import_uploads
    where id = ${id} and user_id = ${userId} and updated_at > now() - make_interval(secs => ${IMPORT_UPLOAD_TTL_SECONDS})`;
  if (!row) throw notFound('Upload');
  return row;
}

/** Abandoned uploads (every account's) go, with their parts. */
export async function deleteAbandonedUploads(deps: Pick<Deps, 'sql'>): Promise<number> {
  const gone = await deps.sql`
    delete from import_uploads where updated_at <= now() - make_interval(secs => ${IMPORT_UPLOAD_TTL_SECONDS}) returning id`;
  return gone.length;
}

export async function startUpload(deps: Deps, userId: string, body: ImportUploadBody): Promise<ImportUploadView> {
  if (body.size > IMPORT_MAX_BYTES) throw tooLarge('The file is larger than 100 MB');
  // The upload is the import: it counts against the same hourly allowance as POST /api/import.
  await enforce(deps.sql, [{ key: `import:user:${userId}`, max: deps.config.library.importsPerHour, windowSeconds: 3600 }]);
  await deleteAbandonedUploads(deps);
  return deps.sql.begin(async (tx) => {
    // One at a time per user, so two starts cannot both pass the count.
    await tx`select id from users where id = ${userId} for update`;
    const [open] = await tx<{ n: number }[]>`select count(*)::int as n from import_uploads where user_id = ${userId}`;
    if ((open?.n ?? 0) >= IMPORT_OPEN_UPLOADS) {
      throw conflict(`You already have ${IMPORT_OPEN_UPLOADS} imports being uploaded: finish them or wait an hour`);
    }
    const [row] = await tx<UploadRow[]>`
      insert into import_uploads (id, user_id, size, part_bytes, name)
      values (${crypto.randomUUID()}, ${userId}, ${body.size}, ${IMPORT_PART_BYTES}, ${body.name ?? ''})
      returning id, size::float8 as size, part_bytes, finishing, updated_at`;
    return view(row!);
  });
}

/** Part n of the caller's upload: exactly its length (413 past it, 400 short), kept in chunks. Sending a part again replaces it. */
export async function putPart(deps: Deps, userId: string, id: string, n: number, request: Request): Promise<{ part: number; size: number }> {
  const upload = await ownUpload(deps, userId, id);
  const parts = partCount(upload);
  if (!Number.isInteger(n) || n < 0 || n >= parts) {
    await request.body?.cancel().catch(() => {});
    throw badRequest({ n: `must be a part number from 0 to ${parts - 1}` });
  }
  if (upload.finishing) {
    await request.body?.cancel().catch(() => {});
    throw conflict('This upload is already being imported');
  }
  await enforce(deps.sql, [{ key: `import-part:user:${userId}`, ...PART_LIMIT }]);
  const want = partSize(upload, n);
  // The last part's garbage goes before this one's arrives in pieces.
  release();
  const pieces = await readPieces(request, want, () => tooLarge(`Part ${n} is longer than ${want} bytes`));
  const got = pieces.reduce((sum, p) => sum + p.byteLength, 0);
  if (got !== want) throw badRequest({ body: `part ${n} must be ${want} bytes, not ${got}` });
  await deps.sql.begin(async (tx) => {
    await tx`delete from import_upload_chunks where upload_id = ${id} and part = ${n}`;
    for (const [k, piece] of pieces.entries()) {
      await tx`insert into import_upload_chunks (upload_id, part, n, data) values (${id}, ${n}, ${k}, ${Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)})`;
      if (k % RELEASE_EVERY === RELEASE_EVERY - 1) release();
    }
    await tx`update import_uploads set updated_at = now() where id = ${id}`;
  });
  release();
  return { part: n, size: want };
}

/**
 * The body in chunks of CHUNK_BYTES as it is read (never joined into one buffer), refused past
 * `max` bytes: a declared Content-Length over it unread, a body without one as soon as it passes.
 */
async function readPieces(request: Request, max: number, tooBig: () => Error): Promise<Uint8Array[]> {
  await refuseDeclaredOver(request, max, tooBig);
  const pieces: Uint8Array[] = [];
  let piece = new Uint8Array(Math.min(CHUNK_BYTES, max));
  let filled = 0;
  let total = 0;
  for await (const value of chunksCapped(request.body, max, tooBig)) {
    total += value.byteLength;
    for (let at = 0; at < value.byteLength; ) {
      const take = Math.min(piece.byteLength - filled, value.byteLength - at);
      piece.set(value.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === piece.byteLength) {
        pieces.push(piece);
        piece = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(1, max - total + (value.byteLength - at))));
        filled = 0;
      }
    }
  }
  if (filled) pieces.push(piece.subarray(0, filled));
  return pieces;
}

/**
 * Joins the parts into a file under DATA_DIR/tmp (a chunk at a time), drops them from the
 * database and imports the file (deleted afterwards). A part missing or of the wrong length:
 * 400 naming it, and the upload stays so the part can be sent.
 */
export async function finishUpload(deps: Deps, userId: string, id: string): Promise<ImportAnswer> {
  const upload = await ownUpload(deps, userId, id);
  const parts = partCount(upload);
  const have = await deps.sql<{ part: number; size: number }[]>`
    select part, sum(length(data))::float8 as size from import_upload_chunks where upload_id = ${id} group by part`;
  const sizes = new Map(have.map((p) => [p.part, p.size]));
  for (let n = 0; n < parts; n++) {
    if (sizes.get(n) !== partSize(upload, n)) throw badRequest({ parts: `part ${n} of ${parts} (numbered from 0) is missing` }, `Part ${n} of the upload is missing: send it, then finish again`);
  }
  const [claimed] = await deps.sql`update import_uploads set finishing = true, updated_at = now() where id = ${id} and not finishing returning id`;
  if (!claimed) throw conflict('This upload is already being imported');
  const dir = join(deps.config.dataDir, 'tmp', `import-${crypto.randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  try {
    const path = join(dir, 'upload');
    const sink = Bun.file(path).writer({ highWaterMark: 1024 * 1024 });
    try {
      for (let n = 0; n < parts; n++) {
        for (let k = 0; ; k++) {
          const [chunk] = await deps.sql<{ data: Uint8Array }[]>`
            select data from import_upload_chunks where upload_id = ${id} and part = ${n} and n = ${k}`;
          if (!chunk) break;
          sink.write(chunk.data);
          await sink.flush();
          if (k % RELEASE_EVERY === RELEASE_EVERY - 1) release();
        }
        release();
      }
    } finally {
      await sink.end();
    }
    // The bytes are on this instance's disk now: the database lets go of them before the import.
    await deps.sql`delete from import_uploads where id = ${id}`;
    return await importFile(deps, userId, path, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await deps.sql`delete from import_uploads where id = ${id}`.catch(() => {});
  }
}
