import { describe, expect, test } from 'bun:test';
import { isDocument, MAX_DOCUMENT_BYTES, MAX_SOURCE_BYTES, refuseEarly } from './limits';
import { fitWithin, MAX_SIDE, plan } from './resize';

describe('fitWithin', () => {
  test('a camera photo shrinks to the longest side, keeping its shape', () => {
    expect(fitWithin(4032, 3024)).toEqual({ width: MAX_SIDE, height: 1536 });
    expect(fitWithin(3024, 4032)).toEqual({ width: 1536, height: MAX_SIDE });
  });
  test('small images are never enlarged', () => {
    expect(fitWithin(800, 600)).toEqual({ width: 800, height: 600 });
  });
  test('a very thin image keeps at least one pixel', () => {
    expect(fitWithin(100_000, 10)).toEqual({ width: MAX_SIDE, height: 1 });
  });
});

describe('plan', () => {
  test('photos are re-encoded (metadata dropped), even when small', () => {
    expect(plan({ type: 'image/jpeg', size: 200_000 }, 800, 600)).toBe('encode');
  });
  test('small screenshots and GIFs are kept as they are', () => {
    expect(plan({ type: 'image/png', size: 300_000 }, 1170, 2532 / 2)).toBe('keep');
    expect(plan({ type: 'image/gif', size: 3_000_000 }, 4000, 4000)).toBe('keep');
  });
  test('large or big PNGs are re-encoded', () => {
    expect(plan({ type: 'image/png', size: 300_000 }, 3000, 2000)).toBe('encode');
    expect(plan({ type: 'image/png', size: 5_000_000 }, 1000, 1000)).toBe('encode');
    expect(plan({ type: 'image/heic', size: 2_000_000 }, 4032, 3024)).toBe('encode');
  });
});

describe('refuseEarly', () => {
  test('anything but an image or a document is refused before decoding, SVG included', () => {
    expect(refuseEarly({ type: 'image/svg+xml', size: 10, name: 'logo.svg' })).toContain('cannot be attached');
    expect(refuseEarly({ type: 'video/mp4', size: 10, name: 'clip.mp4' })).toContain('cannot be attached');
    expect(refuseEarly({ type: 'application/zip', size: 10, name: 'all.zip' })).toContain('cannot be attached');
  });
  test('documents pass up to the server limit (20 MB)', () => {
    expect(refuseEarly({ type: 'text/plain', size: 10, name: 'notes.txt' })).toBeNull();
    expect(refuseEarly({ type: 'application/pdf', size: 10, name: 'scan.pdf' })).toBeNull();
    expect(refuseEarly({ type: '', size: 10, name: 'main.rs' })).toBeNull();
    expect(refuseEarly({ type: 'application/pdf', size: MAX_DOCUMENT_BYTES + 1, name: 'big.pdf' })).toContain('up to 20 MB');
    expect(isDocument({ type: 'image/png', name: 'photo.png' })).toBe(false);
  });
  test('an image beyond what the device will decode is refused with its size', () => {
    expect(refuseEarly({ type: 'image/jpeg', size: MAX_SOURCE_BYTES + 1, name: 'huge.jpg' })).toContain('too large');
  });
  test('images pass, also an untyped file named like one', () => {
    expect(refuseEarly({ type: 'image/jpeg', size: 4_000_000, name: 'IMG_0001.JPG' })).toBeNull();
    expect(refuseEarly({ type: '', size: 4_000_000, name: 'IMG_0001.HEIC' })).toBeNull();
  });
});
