/**
 * The audio allow-list. A recording passes only when its declared type (or, for a
 * client that sends none, its file extension) AND its first bytes name the same
 * allowed container: a PNG renamed .webm, or a WAV labelled audio/webm, is refused.
 */
export type AudioFormat = 'webm' | 'ogg' | 'mp4' | 'mp3' | 'wav';

interface FormatInfo {
  /** The type and extension we send upstream, whatever the client called the file. */
  mime: string;
  ext: string;
  declared: string[];
  extensions: string[];
}

export const AUDIO_FORMATS: Record<AudioFormat, FormatInfo> = {
  // MediaRecorder in Chromium and Firefox: audio/webm;codecs=opus.
  webm: { mime: 'audio/webm', ext: 'webm', declared: ['audio/webm', 'video/webm'], extensions: ['webm', 'weba'] },
  ogg: {
    mime: 'audio/ogg',
    ext: 'ogg',
    declared: ['audio/ogg', 'audio/opus', 'application/ogg', 'video/ogg'],
    extensions: ['ogg', 'oga', 'opus'],
  },
  // MediaRecorder in Safari: audio/mp4.
  mp4: {
    mime: 'audio/mp4',
    ext: 'm4a',
    declared: ['audio/mp4', 'audio/m4a', 'audio/x-m4a', 'video/mp4'],
    extensions: ['m4a', 'mp4'],
  },
  mp3: {
    mime: 'audio/mpeg',
    ext: 'mp3',
    declared: ['audio/mpeg', 'audio/mp3', 'audio/mpeg3', 'audio/x-mpeg-3', 'audio/mpga'],
    extensions: ['mp3', 'mpga', 'mpeg'],
  },
  wav: {
    mime: 'audio/wav',
    ext: 'wav',
    declared: ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave'],
    extensions: ['wav'],
  },
};

/** Every declared type accepted, for clients to show or use as an `accept` attribute. */
export const ACCEPTED_TYPES = Object.values(AUDIO_FORMATS).flatMap((f) => f.declared);

const GENERIC_TYPES = new Set(['', 'application/octet-stream']);

/** The format a client claims: its Content-Type, or the file extension when it gave no real type. */
export function declaredFormat(type: string, filename: string): AudioFormat | null {
  const mime = type.split(';')[0]!.trim().toLowerCase();
  const formats = Object.entries(AUDIO_FORMATS) as [AudioFormat, FormatInfo][];
  if (!GENERIC_TYPES.has(mime)) return formats.find(([, f]) => f.declared.includes(mime))?.[0] ?? null;
  const ext = filename.toLowerCase().match(/\.([a-z0-9]{1,5})$/)?.[1];
  if (!ext) return null;
  return formats.find(([, f]) => f.extensions.includes(ext))?.[0] ?? null;
}

const ascii = (bytes: Uint8Array, from: number, text: string) =>
  bytes.length >= from + text.length && [...text].every((c, i) => bytes[from + i] === c.charCodeAt(0));

/** The container the bytes really are, from their magic numbers; null when none we accept. */
export function sniffFormat(bytes: Uint8Array): AudioFormat | null {
  if (bytes.length < 12) return null;
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'webm'; // EBML
  if (ascii(bytes, 0, 'OggS')) return 'ogg';
  if (ascii(bytes, 4, 'ftyp')) return 'mp4';
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WAVE')) return 'wav';
  if (ascii(bytes, 0, 'ID3')) return 'mp3';
  // An MPEG audio frame sync; layer bits 00 are reserved (and mark AAC in ADTS), so not MP3.
  if (bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0 && (bytes[1]! & 0x06) !== 0) return 'mp3';
  return null;
}
