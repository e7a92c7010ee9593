/**
 * The string formats request and answer schemas are checked with (`format: 'uuid'`,
 * 'date-time', 'email', …): Elysia's own, which test a regular expression or a small function.
 *
 * @elysiajs/openapi (server/openapi.ts) bundles @sinclair/typemap, whose import replaces 46 of
 * TypeBox's global formats with Zod checks that build a new Zod schema on every call: a uuid
 * check went from 0.1 µs to 12.5 µs, with garbage, on every id of every request and every
 * timestamp of every answer. This module is imported before it, keeps Elysia's checks, and
 * server/openapi.ts puts them back once the plugin is loaded.
 */
import 'elysia'; // registers its formats on import
import { FormatRegistry } from '@sinclair/typebox';

const elysiaFormats = FormatRegistry.Entries();

/** A uuid as PostgreSQL stores it (Elysia's also takes a `urn:uuid:` prefix, which PostgreSQL refuses). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Makes every format Elysia registered check with Elysia's function again ('uuid': the plain form). */
export function restoreElysiaFormats() {
  for (const [name, check] of elysiaFormats) FormatRegistry.Set(name, check);
  FormatRegistry.Set('uuid', (value) => UUID.test(value));
}
