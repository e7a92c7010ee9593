/**
 * Known-device cookies (OWASP's "device cookie" defence against account lockout).
 * A browser that signed in to an account gets a cookie naming a random device id and
 * bound to that account by an HMAC. Sign-in attempts from a device that proves it
 * signed in before are counted against that device only, so an attacker who knows the
 * email and exhausts the account's allowance from elsewhere cannot lock the owner out.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKey, randomToken } from '../crypto';

export const DEVICE_COOKIE = 'parley_device';
export const DEVICE_COOKIE_SECONDS = 365 * 24 * 3600;

const mac = (secret: string, deviceId: string, email: string) =>
  createHmac('sha256', deriveKey(secret, 'device-cookie')).update(`${deviceId}|${email}`).digest('base64url');

/** A new cookie value for this (normalized) email. */
export function issueDevice(secret: string, email: string): string {
  const id = randomToken(16);
  return `${id}.${mac(secret, id, email)}`;
}

/** The device id when the cookie was issued to this email's account, else null. */
export function knownDevice(secret: string, email: string, cookie: string | undefined): string | null {
  if (!cookie || cookie.length > 200) return null;
  const [id, tag] = cookie.split('.');
  if (!id || !tag) return null;
  const expected = Buffer.from(mac(secret, id, email));
  const given = Buffer.from(tag);
  return expected.length === given.length && timingSafeEqual(expected, given) ? id : null;
}
