/**
 * Photos are made smaller on the device before they are uploaded: a phone camera's
 * 12-megapixel JPEG of 4-6 MB becomes a 2048-pixel image of a few hundred KB, which
 * uploads in seconds on a mobile network and is as much as any vision model looks at.
 * Re-encoding also drops the photo's metadata (EXIF, including where it was taken);
 * the orientation is applied to the pixels first.
 *
 * Output: JPEG for opaque images (photos), WebP (or PNG where the browser cannot encode
 * WebP, e.g. older Safari) when there are transparent pixels. Small PNG/WebP files
 * (screenshots) and GIFs (possibly animated) are kept as they are.
 *
 * Loaded on demand (vite.config.ts LAZY): only someone attaching a photo needs it.
 */

import { MAX_UPLOAD_BYTES, megabytes, refuseEarly } from './limits';

/** The longest side after resizing. */
export const MAX_SIDE = 2048;
/** PNG/WebP below this size and MAX_SIDE are uploaded untouched. */
const KEEP_BYTES = 1.5 * 1024 * 1024;
const QUALITY = 0.85;

export class ImageRefused extends Error {}

export interface PreparedImage {
  blob: Blob;
  name: string;
  width: number;
  height: number;
}

/** The size that fits within max×max, keeping the aspect ratio; never enlarged. */
export function fitWithin(width: number, height: number, max = MAX_SIDE): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** What to do with a decoded image: upload it as it is, or re-encode it at `width`×`height`. */
export function plan(file: { type: string; size: number }, width: number, height: number): 'keep' | 'encode' {
  const type = file.type.toLowerCase();
  const fits = Math.max(width, height) <= MAX_SIDE;
  // An animated GIF would lose its animation on a canvas.
  if (type === 'image/gif' && file.size <= MAX_UPLOAD_BYTES) return 'keep';
  if ((type === 'image/png' || type === 'image/webp') && fits && file.size <= KEEP_BYTES) return 'keep';
  return 'encode';
}

export async function prepareImage(file: File): Promise<PreparedImage> {
  const early = refuseEarly(file);
  if (early) throw new ImageRefused(early);
  const source = await decode(file);
  try {
    if (plan(file, source.width, source.height) === 'keep') {
      return { blob: file, name: file.name, width: source.width, height: source.height };
    }
    const size = fitWithin(source.width, source.height);
    const canvas = document.createElement('canvas');
    canvas.width = size.width;
    canvas.height = size.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new ImageRefused('This browser cannot resize images.');
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(source.image, 0, 0, size.width, size.height);
    const alpha = file.type !== 'image/jpeg' && hasTransparency(ctx, size.width, size.height);
    let blob = alpha ? await toBlob(canvas, 'image/webp') : await toBlob(canvas, 'image/jpeg');
    // No WebP encoder (the canvas falls back to PNG): PNG keeps the transparency.
    if (alpha && blob.type !== 'image/webp') blob = await toBlob(canvas, 'image/png');
    if (blob.size > MAX_UPLOAD_BYTES) {
      throw new ImageRefused(`“${file.name}” is still over ${megabytes(MAX_UPLOAD_BYTES)} after resizing.`);
    }
    const ext = blob.type === 'image/webp' ? 'webp' : blob.type === 'image/png' ? 'png' : 'jpg';
    return { blob, name: `${file.name.replace(/\.[^.]*$/, '') || 'photo'}.${ext}`, width: size.width, height: size.height };
  } finally {
    source.close();
  }
}

interface Decoded {
  image: CanvasImageSource;
  width: number;
  height: number;
  close(): void;
}

async function decode(file: File): Promise<Decoded> {
  const unreadable = () =>
    new ImageRefused(`“${file.name}” could not be read as an image. Attach PNG, JPEG, WebP or GIF images.`);
  if ('createImageBitmap' in globalThis) {
    try {
      const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
      return { image: bitmap, width: bitmap.width, height: bitmap.height, close: () => bitmap.close() };
    } catch {
      // Some browsers refuse the options or the type: try an <img> below.
    }
  }
  const url = URL.createObjectURL(file);
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch {
    URL.revokeObjectURL(url);
    throw unreadable();
  }
  return { image: img, width: img.naturalWidth, height: img.naturalHeight, close: () => URL.revokeObjectURL(url) };
}

/** Any pixel not fully opaque. Checks every pixel: at 2048² that is a few milliseconds. */
function hasTransparency(ctx: CanvasRenderingContext2D, width: number, height: number): boolean {
  const { data } = ctx.getImageData(0, 0, width, height);
  for (let i = 3; i < data.length; i += 4) if (data[i]! < 255) return true;
  return false;
}

function toBlob(canvas: HTMLCanvasElement, type: string): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new ImageRefused('The image could not be resized.'))), type, QUALITY),
  );
}
