/**
 * The one email normalisation (security class 7). Emails are stored, compared and
 * counted for rate limits only in this form, so JavaScript and SQL never fold case
 * differently (PostgreSQL's lower() and toLowerCase() disagree on letters such as İ).
 *
 * NFKC first (compatibility forms such as the Kelvin sign K or the ligature ﬁ become
 * their plain letters), then a case fold: upper- then lower-casing approximates Unicode
 * full case folding (ß → ss, ς → σ) without a table; NFKC again puts the result back in
 * one composed form. It is a canonical key, not something to show as typed.
 */
export function normalizeEmail(raw: string): string {
  return raw.trim().normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}
