/**
 * Password rules (ASVS: length over composition) and Argon2id hashing at or above
 * OWASP's floor: 19 MiB, 2 iterations, parallelism 1 (Bun's argon2 is single-lane).
 */
import { dictionary } from '@zxcvbn-ts/language-common';

export const ARGON2 = { algorithm: 'argon2id', memoryCost: 19456, timeCost: 2 } as const;
export const MIN_LENGTH = 8;
export const MAX_LENGTH = 128;

// zxcvbn-ts's list of leaked passwords (~49k, most common first), lower-cased.
const common = new Set((dictionary.passwords as string[]).map((p) => p.toLowerCase()));

/** Why a password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, email?: string): string | null {
  const length = [...password].length;
  if (length < MIN_LENGTH) return `must be at least ${MIN_LENGTH} characters`;
  if (length > MAX_LENGTH) return `must be at most ${MAX_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (common.has(lower)) return 'is one of the most common passwords; choose another';
  if (email && lower === email.toLowerCase()) return 'must not be your email address';
  return null;
}

export const hashPassword = (password: string) => Bun.password.hash(password, ARGON2);
export const verifyPassword = (password: string, hash: string) => Bun.password.verify(password, hash);

// Verified against when the email is unknown, so both failures take the same time.
let dummyHash: Promise<string> | null = null;
export function timingDummyHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  return dummyHash;
}
