/**
 * The string formats our schemas use are checked by Elysia's functions, not by the Zod checks
 * @elysiajs/openapi's import installs in their place (server/http/formats.ts).
 */
import { describe, expect, test } from 'bun:test';
import { FormatRegistry } from '@sinclair/typebox';
import { join } from 'node:path';
import '../../../server/app';

const root = join(import.meta.dir, '../../..');
const USED = ['uuid', 'email', 'date-time'] as const;
/** Those of them the plugin replaces ('date-time' it leaves). */
const REPLACED = ['uuid', 'email'] as const;
/** How the plugin's replacements read: `(value) => check(string3().uuid(), value)`. */
const zodWrapper = /check\(\w+\(\)\./;

describe('string formats', () => {
  test('importing @elysiajs/openapi alone replaces them with per-call Zod checks (why the fix exists)', () => {
    const probe = Bun.spawnSync(
      ['bun', '-e', `import '@elysiajs/openapi'; import { FormatRegistry } from '@sinclair/typebox'; console.log(JSON.stringify(${JSON.stringify(REPLACED)}.map((n) => String(FormatRegistry.Get(n)))))`],
      { cwd: root },
    );
    const sources = JSON.parse(probe.stdout.toString()) as string[];
    expect(sources.length).toBe(REPLACED.length);
    for (const source of sources) expect(source).toMatch(zodWrapper);
  });

  test("with the server loaded they are Elysia's again, and check what they should", () => {
    for (const name of USED) expect(String(FormatRegistry.Get(name))).not.toMatch(zodWrapper);
    const check = (name: string, value: string) => FormatRegistry.Get(name)!(value);
    expect(check('uuid', crypto.randomUUID())).toBe(true);
    expect(check('uuid', 'not-a-uuid')).toBe(false);
    expect(check('uuid', `${crypto.randomUUID()}x`)).toBe(false);
    expect(check('uuid', `urn:uuid:${crypto.randomUUID()}`)).toBe(false); // PostgreSQL would refuse it
    expect(check('email', 'ada@example.test')).toBe(true);
    expect(check('email', 'ada@')).toBe(false);
    expect(check('date-time', new Date().toISOString())).toBe(true);
    expect(check('date-time', 'yesterday')).toBe(false);
  });
});
