/** Errors in plain words: one module for every screen (API failures, forms, replies, images). */
import { tick } from 'svelte';
import { ApiError } from './api';

/** "email: is already registered" → "Email is already registered". */
export function fieldMessage(label: string, why: string): string {
  return /^[a-z]/.test(why) ? `${label} ${why}` : why;
}

/** Splits an API error into per-field messages (for known fields) and a form-level one. */
export function formErrors(error: unknown, labels: Record<string, string>) {
  const fields: Record<string, string> = {};
  let form: string | null = null;
  if (error instanceof ApiError) {
    for (const [name, why] of Object.entries(error.fields)) {
      const label = labels[name];
      if (label) fields[name] = fieldMessage(label, why);
      else form = form ? `${form} ${why}` : fieldMessage(name, why);
    }
    if (!Object.keys(fields).length && !form) form = error.message;
  } else {
    form = error instanceof Error ? error.message : 'Something went wrong';
  }
  return { fields, form };
}

/** Once a form's errors are on screen: focus the first field (by its element id, in `order`) that has one. */
export async function focusFirstError(errors: Record<string, string>, order: string[]) {
  await tick();
  const first = order.find((field) => errors[field]);
  if (first) document.getElementById(first)?.focus();
}

/** Any failure as one plain sentence (the API's message when there is one). */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong';
}

/** No answer at all: no network, or the server is away (as opposed to an answer saying no). */
export function isNetworkError(error: unknown): boolean {
  return (error instanceof ApiError && error.offline) || error instanceof TypeError;
}

/** Said when an action cannot work offline, instead of spinning. */
export const needsNetwork = (what: string) => `You're offline: ${what} needs the network.`;

/** The reply `error` event's reason, whatever shape the provider gave it. */
export function describeProviderError(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; error?: { message?: unknown } };
    if (typeof e.message === 'string') return e.message;
    if (typeof e.error?.message === 'string') return e.error.message;
  }
  return 'The provider failed to answer.';
}

/** What went wrong making an image, in plain words. */
export function imageErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'images_disabled' || error.status === 503) {
      return 'This server cannot make images: no image provider is set up. Whoever runs it can enable one (an OpenAI-compatible key).';
    }
    if (error.status === 504) return 'The image took too long to make. Try again, perhaps with a simpler prompt.';
    if (error.status === 502) return `The image provider failed: ${error.message}`;
  }
  return `Could not make the image: ${errorText(error)}`;
}
