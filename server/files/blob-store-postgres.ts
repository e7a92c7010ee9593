/**
 * BLOB_STORE=postgres: bytes in the database, cut into chunks so a large file is
 * written and read a piece at a time (a 25 MB upload never sits in memory twice,
 * a download streams). Writes go through the caller's transaction when given, so
 * the bytes commit together with the rows that refer to them.
 */
import type { Sql, Tx } from '../db';
import type { BlobStore, StoredBlob } from './blob-store';
import { checkAddress, sha256Hex } from './blob-address';

type Db = Sql | Tx;

/** 512 KiB: few round trips for a large file, small enough to keep memory flat. */
export const CHUNK_BYTES = 512 * 1024;

export class PostgresBlobStore implements BlobStore {
  readonly kind = 'postgres' as const;
  constructor(private readonly sql: Sql) {}

  async put(bytes: Uint8Array, tx?: Tx): Promise<string> {
    const sha256 = sha256Hex(bytes);
    const write = async (db: Db) => {
      const [present] = await db`select 1 from blob_objects where sha256 = ${sha256}`;
      if (present) return;
      const chunks = Math.ceil(bytes.length / CHUNK_BYTES);
      for (let n = 0; n < chunks; n++) {
        // A view onto the upload, not a copy.
        const piece = Buffer.from(bytes.buffer, bytes.byteOffset + n * CHUNK_BYTES, Math.min(CHUNK_BYTES, bytes.length - n * CHUNK_BYTES));
        await db`insert into blob_chunks (sha256, n, data) values (${sha256}, ${n}, ${piece}) on conflict do nothing`;
      }
      await db`insert into blob_objects (sha256, size, chunks) values (${sha256}, ${bytes.length}, ${chunks}) on conflict do nothing`;
    };
    if (tx) await write(tx);
    else await this.sql.begin((t) => write(t));
    return sha256;
  }

  private async object(sha256: string) {
    const [row] = await this.sql<{ size: number; chunks: number }[]>`
      select size::float8 as size, chunks from blob_objects where sha256 = ${checkAddress(sha256)}`;
    return row ?? null;
  }

  private async chunk(sha256: string, n: number): Promise<Uint8Array> {
    const [row] = await this.sql<{ data: Uint8Array }[]>`select data from blob_chunks where sha256 = ${sha256} and n = ${n}`;
    if (!row) throw new Error(`blob ${sha256} lost chunk ${n}`);
    return row.data;
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    const obj = await this.object(sha256);
    if (!obj) return null;
    // One buffer of the final size, filled a chunk at a time.
    const out = new Uint8Array(obj.size);
    let offset = 0;
    for (let n = 0; n < obj.chunks; n++) {
      const data = await this.chunk(sha256, n);
      out.set(data, offset);
      offset += data.length;
    }
    return out;
  }

  async open(sha256: string): Promise<StoredBlob | null> {
    const obj = await this.object(sha256);
    if (!obj) return null;
    let n = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (n >= obj.chunks) return controller.close();
        controller.enqueue(await this.chunk(sha256, n++));
      },
    }, { highWaterMark: 1 });
    return { size: obj.size, stream };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.object(sha256)) !== null;
  }

  async delete(sha256: string, tx?: Tx): Promise<void> {
    const db: Db = tx ?? this.sql;
    checkAddress(sha256);
    await db`delete from blob_objects where sha256 = ${sha256}`;
    await db`delete from blob_chunks where sha256 = ${sha256}`;
  }
}
