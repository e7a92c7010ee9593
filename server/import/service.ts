/**
 * POST /api/import. The upload is streamed to a temporary file (never held whole), then
 * read once more as a stream: a zip is unpacked entry by entry (the conversations JSON to
 * a file, images to files), and the JSON array is parsed one conversation at a time.
 * The file is read twice: first every conversation is checked (converted, nothing written),
 * so a malformed conversation anywhere imports nothing at all and the error names what was
 * wrong; then the threads are written a batch per transaction. Threads already imported
 * from the same source (their import key) are skipped, so should the writing stop half-way
 * (the database gone), importing the file again brings in the rest.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { enforce } from '../infra/rate-limit';
import { join, basename } from 'node:path';
import { Unzip, UnzipInflate } from 'fflate';
import type { AppDeps } from '../deps';
import type { Tx } from '../db';
import { badRequest, tooLarge, unsupportedMedia } from '../errors';
import { insertImportedThread } from '../conversations/writes';
import { blobStore, sha256Hex } from '../files/blob-store';
import * as files from '../files/queries';
import { safeFileName, sniffImage } from '../files/sniff';
import { toAttachment } from '../files/service';
import { convert, type ImportedThread } from './formats';
import { IMPORT_MAX_BYTES, type ImportAnswer, type ImportProgress } from './model';
import { ImportError, jsonArrayItems, saveUploadedFile } from './streams';

type Deps = Pick<AppDeps, 'sql' | 'config'>;

const CONVERSATION_FILES = ['conversations.json', 'threads.json'];
const IMAGE_FILE = /\.(png|jpe?g|webp|gif)$/i;
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** What a zip may unpack to (a zip bomb must not fill the disk): the conversations and the images together. */
const MAX_UNPACKED_BYTES = 1024 * 1024 * 1024;
/** Bytes of a zip inflated at a time (see unzip). */
const UNZIP_STEP = 256 * 1024;
/**
 * Bytes of a zip inflated between full collections: inflating leaves a few times its input in
 * short-lived buffers (a 36 MB zip: +36 MB collecting every 4 MB, +16 MB every 256 KB, same time).
 */
const UNZIP_COLLECT = 512 * 1024;
/** Threads written per transaction. */
const BATCH = 20;
/**
 * A full collection every batch: parsing 100 MB makes several times that in short-lived
 * strings and objects, which the engine would otherwise let pile up (the process grew by
 * ~100 MB importing a 98 MB file although nothing of it is kept; a minor collection, the
 * nudge this was before, left most of it). Measured with bench:import: the checking and
 * importing phases now stay within a few MB of where they started.
 */
const collect = () => Bun.gc(true);

interface Unpacked {
  json: string;
  images: Map<string, string>; // entry path → temporary file
}

/** Unpacks the zip's conversations JSON and images into `dir`, entry by entry. */
async function unzip(zipPath: string, dir: string): Promise<Unpacked> {
  const images = new Map<string, string>();
  let json: string | null = null;
  const writes: Promise<unknown>[] = [];
  let pending: Promise<unknown>[] = [];
  let failure: Error | null = null;
  let unpacked = 0;
  const unzipper = new Unzip((entry) => {
    const name = entry.name;
    const base = basename(name);
    const isJson = CONVERSATION_FILES.includes(base) && !json;
    const isImage = IMAGE_FILE.test(base) && images.size < 10000;
    if (!isJson && !isImage) return;
    const target = join(dir, isJson ? 'conversations.json' : `img-${images.size}`);
    if (isJson) json = target;
    else images.set(name, target);
    const sink = Bun.file(target).writer({ highWaterMark: 1024 * 1024 }); // flushed a megabyte at a time, not held
    let size = 0;
    entry.ondata = (error, data, final) => {
      if (error) {
        failure ??= new ImportError(`the zip entry ${name} is damaged`);
        return;
      }
      size += data.byteLength;
      unpacked += data.byteLength;
      if (unpacked > MAX_UNPACKED_BYTES) failure ??= new ImportError('the zip unpacks to more than 1 GB');
      else if (isImage && size > MAX_IMAGE_BYTES) images.delete(name);
      else {
        sink.write(data);
        // Written out now: inflating outruns the disk, and what waits in the sink is memory.
        const flushed = sink.flush();
        if (flushed instanceof Promise) pending.push(flushed);
      }
      if (final) writes.push(Promise.resolve(sink.end()));
    };
    try {
      entry.start();
    } catch {
      failure ??= new ImportError(`the zip entry ${name} uses a compression this importer does not read`);
    }
  });
  unzipper.register(UnzipInflate);
  let sinceCollect = 0;
  try {
    for await (const chunk of Bun.file(zipPath).stream()) {
      const bytes = chunk as Uint8Array;
      // A slice at a time, its inflated output on disk before the next: a file stream's chunks
      // are large, and a zip inflates to a few times its size.
      for (let at = 0; at < bytes.byteLength && !failure; at += UNZIP_STEP) {
        unzipper.push(bytes.subarray(at, at + UNZIP_STEP));
        if (pending.length) {
          await Promise.all(pending);
          pending = [];
        }
        sinceCollect += UNZIP_STEP;
        if (sinceCollect >= UNZIP_COLLECT) {
          sinceCollect = 0;
          collect();
        }
      }
      if (failure) break;
    }
    if (!failure) unzipper.push(new Uint8Array(0), true);
  } catch {
    throw new ImportError('the zip is damaged');
  }
  await Promise.all(writes);
  if (failure) throw failure;
  if (!json) throw new ImportError('the zip has no conversations.json (ChatGPT, Claude) or threads.json (Parley)');
  return { json, images };
}

/** A file that cannot be imported: 400 naming why (the `file` field), nothing imported. */
const refused = (error: ImportError) => badRequest({ file: error.message }, `The file could not be imported: ${error.message}. Nothing was imported.`);

/** The image an imported message refers to, among the zip's images: by path, or by ChatGPT's file id. */
function findImage(images: Map<string, string>, ref: string): [string, string] | null {
  const exact = images.get(ref);
  if (exact) return [ref, exact];
  const id = ref.replace(/^.*[/]/, '');
  if (id.length < 6) return null;
  for (const [name, path] of images) if (basename(name).startsWith(id)) return [name, path];
  return null;
}

async function storeImages(deps: Deps, tx: Tx, userId: string, threadId: string, thread: ImportedThread, images: Map<string, string>) {
  const store = blobStore(deps);
  for (const m of thread.messages) {
    for (const ref of m.images) {
      const found = findImage(images, ref.ref);
      if (!found) continue;
      const bytes = new Uint8Array(await Bun.file(found[1]).arrayBuffer());
      const mime = sniffImage(bytes);
      if (!mime) continue;
      const sha256 = sha256Hex(bytes);
      await files.lockBlobs(tx, [sha256]);
      await files.insertBlob(tx, sha256, bytes.length);
      await store.put(bytes, tx); // in the database store, rolled back with a failed import
      const row = await files.insertFile(tx, {
        userId,
        threadId,
        sha256,
        mime,
        size: bytes.length,
        name: safeFileName(ref.name || basename(found[0]), mime),
        source: 'upload',
      });
      m.attachments.push(toAttachment(row));
    }
  }
}

export async function importUpload(deps: Deps, userId: string, request: Request): Promise<ImportAnswer> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) throw unsupportedMedia('Send the export as multipart/form-data with a `file` field');
  const declared = Number(request.headers.get('content-length') ?? 0);
  const tooBig = () => tooLarge('The file is larger than 100 MB');
  if (declared > IMPORT_MAX_BYTES + 65536) throw tooBig();
  await enforce(deps.sql, [{ key: `import:user:${userId}`, max: deps.config.library.importsPerHour, windowSeconds: 3600 }]);
  const dir = join(deps.config.dataDir, 'tmp', `import-${crypto.randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  try {
    const upload = join(dir, 'upload');
    try {
      await saveUploadedFile(request.body, type, upload, IMPORT_MAX_BYTES + 65536, tooBig);
    } catch (error) {
      if (error instanceof ImportError) throw refused(error);
      throw error;
    }
    return await importFile(deps, userId, upload, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Imports the export in the file at `upload` (a zip or JSON), unpacking a zip into `dir`
 * (the caller's temporary directory, which it removes afterwards). Used by POST /api/import
 * and by the finish of an upload sent in parts (uploads.ts).
 */
export async function importFile(deps: Deps, userId: string, upload: string, dir: string): Promise<ImportAnswer> {
  try {
    const head = new Uint8Array(await Bun.file(upload).slice(0, 4).arrayBuffer());
    const isZip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
    const { json, images } = isZip ? await unzip(upload, dir) : { json: upload, images: new Map<string, string>() };
    const start = new TextDecoder().decode(await Bun.file(json).slice(0, 256).arrayBuffer()).replace(/^[\s\ufeff]+/, '');
    const topLevelObject = start.startsWith('{');
    const conversations = async function* () {
      for await (const item of jsonArrayItems(Bun.file(json).stream() as unknown as AsyncIterable<Uint8Array>)) {
        // A Parley thread export is one object holding its threads.
        yield* topLevelObject && isParleyDocument(item) ? item.threads : [item];
      }
    };
    // Pass 1: every conversation read and converted, nothing written. A malformed one
    // anywhere in the file fails here, so nothing of the file is imported.
    let total = 0;
    let reported = 0;
    /** Progress for GET /api/import/progress, written twice a second at most. */
    const report = async (phase: ImportProgress['phase'], done: number, of: number, now = false) => {
      if (!now && Date.now() - reported < 500) return;
      reported = Date.now();
      await setProgress(deps.sql, userId, phase, done, of);
    };
    await report('checking', 0, 0, true);
    for await (const each of conversations()) {
      convert(each, ++total);
      await report('checking', total, 0);
      if (total % BATCH === 0) collect();
    }
    await report('importing', 0, total, true);
    // Pass 2: written BATCH threads a transaction, so a 100 MB import never holds the
    // user's writes (or, on the embedded database, everyone's queries) for its whole length.
    const answer: ImportAnswer = { imported: { threads: 0, messages: 0 }, skipped: 0 };
    let batch: ImportedThread[] = [];
    const flush = async () => {
      const threads = batch;
      batch = [];
      await deps.sql.begin(async (tx) => {
        for (const thread of threads) {
          const made = await insertImportedThread(tx, userId, thread, (threadId) => storeImages(deps, tx, userId, threadId, thread, images));
          if (made === 'skipped') answer.skipped++;
          else {
            answer.imported.threads++;
            answer.imported.messages += made.messages;
          }
        }
      });
    };
    let n = 0;
    for await (const each of conversations()) {
      batch.push(convert(each, ++n));
      if (batch.length >= BATCH) {
        await flush();
        collect();
        await report('importing', n, total);
      }
    }
    await flush();
    return answer;
  } catch (error) {
    if (error instanceof ImportError) throw refused(error);
    throw error;
  } finally {
    await deps.sql`delete from import_progress where user_id = ${userId}`.catch(() => {});
  }
}

async function setProgress(sql: Deps['sql'], userId: string, phase: ImportProgress['phase'], done: number, total: number) {
  await sql`
    insert into import_progress (user_id, phase, done, total) values (${userId}, ${phase}, ${done}, ${total})
    on conflict (user_id) do update set phase = excluded.phase, done = excluded.done, total = excluded.total, updated_at = now()`;
}

/** The user's import under way, if any (a row left by a process that died is stale after a minute without news). */
export async function importProgress(sql: Deps['sql'], userId: string): Promise<ImportProgress | null> {
  const [row] = await sql<ImportProgress[]>`
    select phase, done, total from import_progress
    where user_id = ${userId} and updated_at > now() - interval '1 minute'`;
  return row ? { phase: row.phase, done: row.done, total: row.total } : null;
}

function isParleyDocument(item: unknown): item is { threads: unknown[] } {
  const x = item as { format?: unknown; threads?: unknown } | null;
  if (!x || typeof x !== 'object' || Array.isArray(x)) return false;
  if (x.format === 'parley') {
    if (!Array.isArray(x.threads)) throw new ImportError('the Parley export has no threads list');
    return true;
  }
  throw new ImportError('the JSON is a single object, not a Parley export nor a list of conversations');
}
