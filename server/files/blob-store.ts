/**
 * Where file bytes live, behind one small interface so an S3-compatible store can
 * replace the directory without touching anything else. Blobs are addressed by
 * the SHA-256 of their bytes: identical bytes are stored once.
 */
import { mkdirSync, renameSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config';

export interface BlobStore {
  /** Stores the bytes (a no-op when already present) and returns their SHA-256 in hex. */
  put(bytes: Uint8Array): Promise<string>;
  /** The bytes, or null when the store does not hold them. */
  get(sha256: string): Promise<Uint8Array | null>;
  /** Removes the bytes; absent is fine. */
  delete(sha256: string): Promise<void>;
}

export const sha256Hex = (bytes: Uint8Array) => new Bun.CryptoHasher('sha256').update(bytes).digest('hex');

const SHA256 = /^[0-9a-f]{64}$/;

/** DATA_DIR/blobs/ab/cdef…: two-level fan-out keeps directories small. */
export class DirectoryBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private path(sha256: string): string {
    // The name only ever comes from our own hash, but a store must not be a path-traversal primitive.
    if (!SHA256.test(sha256)) throw new Error('invalid blob address');
    return join(this.root, sha256.slice(0, 2), sha256.slice(2));
  }

  async put(bytes: Uint8Array): Promise<string> {
    const sha256 = sha256Hex(bytes);
    const target = this.path(sha256);
    if (existsSync(target)) return sha256;
    mkdirSync(join(this.root, sha256.slice(0, 2)), { recursive: true });
    // Write then rename: a reader never sees half a file, and two writers of the same bytes are harmless.
    const temp = `${target}.${crypto.randomUUID()}.tmp`;
    try {
      await Bun.write(temp, bytes);
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

  async delete(sha256: string): Promise<void> {
    rmSync(this.path(sha256), { force: true });
  }
}

const stores = new Map<string, BlobStore>();

/** The configured store (one per data directory). Swap the implementation here. */
export function blobStore(config: Pick<Config, 'dataDir'>): BlobStore {
  let store = stores.get(config.dataDir);
  if (!store) {
    store = new DirectoryBlobStore(join(config.dataDir, 'blobs'));
    stores.set(config.dataDir, store);
  }
  return store;
}
