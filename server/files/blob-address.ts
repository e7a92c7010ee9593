/** What every blob store shares: the address of bytes and the error for a store that is down. */
import { HttpError } from '../errors';

export const sha256Hex = (bytes: Uint8Array) => new Bun.CryptoHasher('sha256').update(bytes).digest('hex');

const SHA256 = /^[0-9a-f]{64}$/;

/** A store must never be a path-traversal (or key-injection) primitive, whatever calls it. */
export function checkAddress(sha256: string) {
  if (!SHA256.test(sha256)) throw new Error('invalid blob address');
  return sha256;
}

/** The store cannot be reached: 503 with a clear code, never a 500; nothing stored is lost. */
export const storageUnavailable = (cause?: unknown) =>
  Object.assign(new HttpError(503, 'storage_unavailable', 'File storage is unavailable; try again shortly'), {
    cause,
  });
