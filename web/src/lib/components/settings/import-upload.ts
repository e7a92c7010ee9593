/**
 * An export sent to the server in parts (POST /api/import/uploads, a PUT per part, then the
 * finish that imports it): the server never holds more than one part of a large file. Loaded
 * with Settings › Import only.
 */
import { ApiError, json, upload } from '$lib/api';
import type { ImportAnswer, ImportUploadAnswer } from '$server/import/model';

export interface PartedImport {
  /** 0…1 of the file's bytes sent. */
  onProgress: (fraction: number) => void;
  /** Every part is on the server: it is checking and importing the file now. */
  onSent: () => void;
  signal?: AbortSignal;
}

/** A part whose request failed on the way (the network dropped) is sent once more. */
const TRIES = 2;

export async function importInParts(file: File, { onProgress, onSent, signal }: PartedImport): Promise<ImportAnswer> {
  const { upload: started } = await json<ImportUploadAnswer>('POST', '/api/import/uploads', { size: file.size, name: file.name.slice(0, 255) }, { signal });
  onProgress(0);
  for (let n = 0; n < started.parts; n++) {
    const from = n * started.partBytes;
    const part = file.slice(from, Math.min(file.size, from + started.partBytes));
    for (let attempt = 1; ; attempt++) {
      try {
        await upload(`/api/import/uploads/${started.id}/parts/${n}`, part, (f) => onProgress((from + f * part.size) / file.size), signal, 'PUT');
        break;
      } catch (error) {
        if (attempt >= TRIES || !(error instanceof ApiError && error.offline) || signal?.aborted) throw error;
      }
    }
  }
  onProgress(1);
  onSent();
  return json<ImportAnswer>('POST', `/api/import/uploads/${started.id}/finish`, undefined, { signal });
}
