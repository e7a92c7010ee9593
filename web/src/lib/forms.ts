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
