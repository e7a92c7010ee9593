/**
 * BLOB_STORE=s3: bytes in any S3-compatible object store (AWS, MinIO, Garage,
 * Ceph, R2…), through Bun's built-in S3 client (SigV4). Objects are named
 * blobs/ab/cdef… after their SHA-256, like the directory store's files. A store
 * that cannot be reached answers 503 storage_unavailable; nothing is deleted
 * on the way.
 */
import type { BlobStore, StoredBlob } from './blob-store';
import { checkAddress, sha256Hex, storageUnavailable } from './blob-address';

export interface S3Settings {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const missing = (error: unknown) => (error as { code?: string } | null)?.code === 'NoSuchKey';

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  private readonly client: Bun.S3Client;

  constructor(settings: S3Settings) {
    this.client = new Bun.S3Client({
      endpoint: settings.endpoint,
      bucket: settings.bucket,
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      region: settings.region,
    });
  }

  private key(sha256: string) {
    checkAddress(sha256);
    return `blobs/${sha256.slice(0, 2)}/${sha256.slice(2)}`;
  }

  /** Runs a request; anything but "no such key" means the store is unreachable or refusing us. */
  private async call<T>(work: () => Promise<T>, onMissing: () => T): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (missing(error)) return onMissing();
      throw storageUnavailable(error);
    }
  }

  async put(bytes: Uint8Array): Promise<string> {
    const sha256 = sha256Hex(bytes);
    const file = this.client.file(this.key(sha256));
    await this.call(async () => {
      if (await file.exists()) return;
      await file.write(bytes, { type: 'application/octet-stream' });
    }, () => undefined);
    return sha256;
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    const file = this.client.file(this.key(sha256));
    return this.call(async () => new Uint8Array(await file.arrayBuffer()), () => null);
  }

  async open(sha256: string): Promise<StoredBlob | null> {
    const key = this.key(sha256);
    const stat = await this.call(() => this.client.stat(key), () => null);
    if (!stat) return null;
    return { size: stat.size, stream: this.client.file(key).stream() };
  }

  async has(sha256: string): Promise<boolean> {
    return this.call(() => this.client.file(this.key(sha256)).exists(), () => false);
  }

  async delete(sha256: string): Promise<void> {
    const key = this.key(sha256);
    await this.call(() => this.client.delete(key), () => undefined);
  }
}
