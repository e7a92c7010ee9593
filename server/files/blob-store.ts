/**
 * Where file bytes live, behind one small interface, chosen by BLOB_STORE:
 * - `directory`: files under DATA_DIR/blobs (the default with the embedded database);
 * - `postgres`: chunks in the database itself (the default with DATABASE_URL), so
 *   every instance on that database serves every file with nothing else to run;
 * - `s3`: any S3-compatible object store.
 * Blobs are addressed by the SHA-256 of their bytes: identical bytes are stored once.
 * Which blobs exist and who refers to them is the `blobs`/`files` tables' job
 * (server/files/queries.ts); a store only keeps bytes under their address.
 */
import { mkdirSync, renameSync, rmSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config';
import type { Sql, Tx } from '../db';
import { checkAddress, sha256Hex } from './blob-address';
import { PostgresBlobStore } from './blob-store-postgres';
import { S3BlobStore } from './blob-store-s3';

export interface StoredBlob {
  size: number;
  /** The bytes, read lazily: a large file never sits in memory whole on its way out. */
  stream: ReadableStream<Uint8Array>;
}

export interface BlobStore {
  readonly kind: BlobStoreKind;
  /**
   * Stores the bytes (a no-op when already present) and returns their SHA-256 in hex.
   * `tx` is the caller's transaction: a store that lives in the database writes
   * through it, so the bytes commit (or roll back) with the rows that refer to them.
   */
  put(bytes: Uint8Array, tx?: Tx): Promise<string>;
  /** The bytes, or null when the store does not hold them. */
  get(sha256: string): Promise<Uint8Array | null>;
  /** The bytes as a stream with their size, or null when the store does not hold them. */
  open(sha256: string): Promise<StoredBlob | null>;
  /** Whether the store holds these bytes. */
  has(sha256: string): Promise<boolean>;
  /** Removes the bytes; absent is fine. */
  delete(sha256: string, tx?: Tx): Promise<void>;
}

export type BlobStoreKind = 'directory' | 'postgres' | 's3';

export { sha256Hex, checkAddress, storageUnavailable } from './blob-address';

/** DATA_DIR/blobs/ab/cdef…: two-level fan-out keeps directories small. */
export class DirectoryBlobStore implements BlobStore {
  readonly kind = 'directory' as const;
  constructor(private readonly root: string) {}

  private path(sha256: string): string {
    checkAddress(sha256);
    return join(this.root, sha256.slice(0, 2), sha256.slice(2));
  }

  async put(bytes: Uint8Array): Promise<string> {
    const sha256 = sha256Hex(bytes);
    const target = this.path(sha256);
    if (existsSync(target)) return sha256;
    mkdirSync(join(this.root, sha256.slice(0, 2)), { recursive: true, mode: 0o700 });
    // Write then rename: a reader never sees half a file, and two writers of the same bytes are harmless.
    const temp = `${target}.${crypto.randomUUID()}.tmp`;
    try {
      await Bun.write(temp, bytes, { mode: 0o600 });
      renameSync(temp, target);
    } finally {
      rmSync(temp, { force: true });
    }
    return sha256;
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    const file = Bun.file(this.path(sha256));
    if (!(await file.exists())) return null;
    return new Uint8Array(await file.arrayBuffer());
  }

  async open(sha256: string): Promise<StoredBlob | null> {
    const path = this.path(sha256);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return null;
    }
    return { size, stream: Bun.file(path).stream() };
  }

  async has(sha256: string): Promise<boolean> {
    return existsSync(this.path(sha256));
  }

  async delete(sha256: string): Promise<void> {
    rmSync(this.path(sha256), { force: true });
  }
}

const stores = new Map<string, BlobStore>();

export type BlobStoreConfig = Pick<Config, 'dataDir' | 'files'>;

/** A store of the given kind (blobs:move opens two; the app uses the configured one). */
export function createBlobStore(kind: BlobStoreKind, config: BlobStoreConfig, sql: Sql): BlobStore {
  if (kind === 'postgres') return new PostgresBlobStore(sql);
  if (kind === 's3') {
    if (!config.files.s3) throw new Error('BLOB_STORE=s3 needs S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY');
    return new S3BlobStore(config.files.s3);
  }
  return new DirectoryBlobStore(join(config.dataDir, 'blobs'));
}

/** The configured store (one per data directory and kind, so tests with several servers stay apart). */
export function blobStore(deps: { config: BlobStoreConfig; sql: Sql }): BlobStore {
  const kind = deps.config.files.store;
  const key = `${kind}:${deps.config.dataDir}`;
  let store = stores.get(key);
  if (!store) {
    store = createBlobStore(kind, deps.config, deps.sql);
    stores.set(key, store);
  }
  return store;
}
