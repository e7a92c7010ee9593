/**
 * Passkeys in the browser, through @simplewebauthn/browser. Loaded only when someone
 * presses a passkey button (import('$lib/passkeys')), so the first screen does not carry it.
 */
import { browserSupportsWebAuthn, startAuthentication, startRegistration } from '@simplewebauthn/browser';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { api } from '$lib/api';

export const supported = () => browserSupportsWebAuthn();

/** Discoverable credentials: no email asked; the authenticator offers this site's passkeys. */
export async function signInWithPasskey() {
  const options = await api.auth.passkeyLoginOptions();
  const response = await startAuthentication({ optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON });
  const { user } = await api.auth.passkeyLoginVerify(response as unknown as Record<string, unknown>);
  return user;
}

export async function addPasskey(name?: string) {
  const options = await api.auth.passkeyRegisterOptions();
  const response = await startRegistration({ optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON });
  const { passkey } = await api.auth.passkeyRegisterVerify(response as unknown as Record<string, unknown>, name);
  return passkey;
}

/** The person closed the browser's passkey sheet: not an error to show. */
export function cancelled(error: unknown) {
  return error instanceof Error && (error.name === 'NotAllowedError' || error.name === 'AbortError');
}
