/** The voices each text-to-speech engine offers, and the default of each. */
import type { TtsProvider, Voice } from './model';

/** OpenAI's built-in voices for gpt-4o-mini-tts. */
export const OPENAI_VOICES: Voice[] = [
  'alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'nova', 'onyx', 'sage', 'shimmer', 'verse', 'marin', 'cedar',
].map((id) => ({ id, name: id[0]!.toUpperCase() + id.slice(1), language: null }));

/** Mistral's preset voices (Voxtral 3, and the Voxtral 2 presets it still accepts). */
export const MISTRAL_VOICES: Voice[] = [
  { id: 'gb_jane_neutral', name: 'Jane', language: 'en-GB' },
  { id: 'gb_oliver_neutral', name: 'Oliver', language: 'en-GB' },
  { id: 'en_paul_neutral', name: 'Paul', language: 'en-US' },
  { id: 'voice_478', name: 'Sarah', language: 'en' },
  { id: 'voice_447', name: 'Yael', language: 'en' },
  { id: 'voice_485', name: 'Eric', language: 'en-US' },
  { id: 'voice_484', name: 'Jesse', language: 'en-US' },
  { id: 'voice_483', name: 'Esmeralda', language: 'es' },
  { id: 'voice_482', name: 'Andrea', language: 'it' },
  { id: 'voice_481', name: 'Fiona', language: 'de' },
  { id: 'voice_480', name: 'Marina', language: 'pt' },
];

/** A curated handful of `espeak-ng --voices`; only those installed are offered. */
export const ESPEAK_VOICES: Voice[] = [
  { id: 'en-us', name: 'English (US)', language: 'en-US' },
  { id: 'en-gb', name: 'English (UK)', language: 'en-GB' },
  { id: 'fr-fr', name: 'French', language: 'fr' },
  { id: 'de', name: 'German', language: 'de' },
  { id: 'es', name: 'Spanish', language: 'es' },
  { id: 'it', name: 'Italian', language: 'it' },
  { id: 'pt-br', name: 'Portuguese (Brazil)', language: 'pt-BR' },
  { id: 'nl', name: 'Dutch', language: 'nl' },
];

export const DEFAULT_VOICE: Record<TtsProvider, string> = {
  openai: 'alloy',
  mistral: 'gb_jane_neutral',
  espeak: 'en-us',
};
