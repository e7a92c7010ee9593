/** The small pure parts of signing in: devices from user agents, returnTo, claim → role, issuers. */
import { describe, expect, test } from 'bun:test';
import { deviceName } from '../../../server/auth/sessions';
import { mappedRole, safeReturnTo } from '../../../server/auth/oidc';
import { issuerAllowed, loadConfig, ConfigError } from '../../../server/config';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('deviceName', () => {
  test.each([
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1', 'Safari on iPhone'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0', 'Edge on Windows'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Linux'],
    ['curl/8.5.0', 'curl'],
  ])('%s', (ua, name) => expect(deviceName(ua)).toBe(name));
  test('no user agent', () => expect(deviceName(null)).toBe('Unknown device'));
});

describe('safeReturnTo: same-origin paths only', () => {
  test.each([
    ['/t/123?x=1#y', '/t/123?x=1#y'],
    ['/', '/'],
    ['https://evil.example/', '/'],
    ['//evil.example/x', '/'],
    ['/\\evil.example', '/'],
    ['/%2F%2Fevil', '/%2F%2Fevil'],
    ['javascript:alert(1)', '/'],
    ['/\tjavascript', '/'],
    [undefined, '/'],
  ])('%p → %p', (input, out) => expect(safeReturnTo(input)).toBe(out));
});

describe('mappedRole', () => {
  const p = { roleClaim: 'groups', roleMap: { admins: 'admin', family: 'user', kids: 'restricted', visitors: 'guest' } as const };
  test('the most capable match wins', () => expect(mappedRole(p, { groups: ['kids', 'admins'] })).toBe('admin'));
  test('a single string claim', () => expect(mappedRole(p, { groups: 'kids' })).toBe('restricted'));
  test('no match, no claim, no mapping', () => {
    expect(mappedRole(p, { groups: ['other'] })).toBeNull();
    expect(mappedRole(p, {})).toBeNull();
    expect(mappedRole({ roleClaim: null, roleMap: {} }, { groups: ['admins'] })).toBeNull();
  });
  test('never guest through a mapping', () => expect(mappedRole(p, { groups: ['visitors'] })).toBeNull());
});

describe('issuers', () => {
  test.each([
    ['https://accounts.google.com', true],
    ['http://127.0.0.1:9000', true],
    ['http://localhost:8080/realms/x', true],
    ['http://[::1]:9000', true],
    ['http://idp.example.com', false],
    ['http://192.168.1.10', false],
    ['http://127.0.0.1.nip.io', false],
    ['ftp://127.0.0.1', false],
  ])('%s → %p', (issuer, ok) => expect(issuerAllowed(issuer)).toBe(ok));

  test('OIDC_* adds the `oidc` provider; GOOGLE_* the `google` preset; a bad issuer stops start-up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-cfg-'));
    const config = loadConfig({
      DATA_DIR: dir,
      OIDC_ISSUER: 'https://id.example.com',
      OIDC_CLIENT_ID: 'c',
      OIDC_NAME: 'Authentik',
      GOOGLE_CLIENT_ID: 'g',
      GOOGLE_CLIENT_SECRET: 's',
    });
    expect(config.signin.providers.map((p) => [p.id, p.name, p.issuer])).toEqual([
      ['oidc', 'Authentik', 'https://id.example.com'],
      ['google', 'Google', 'https://accounts.google.com'],
    ]);
    expect(config.signin.allowGuests).toBe(false);
    expect(loadConfig({ DATA_DIR: dir }).signin.providers).toEqual([]);
    expect(() => loadConfig({ DATA_DIR: dir, OIDC_ISSUER: 'http://idp.example.com', OIDC_CLIENT_ID: 'c' })).toThrow(ConfigError);
  });
});
