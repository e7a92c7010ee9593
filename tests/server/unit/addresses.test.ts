/**
 * Unit tier: the SSRF guard's address classification (server/http/safe-fetch.ts, on ipaddr.js),
 * pure and without a database or network (IP literals and refused names only).
 */
import { describe, expect, test } from 'bun:test';
import { UnsafeUrlError, checkUrl, isPublicAddress, pinnedRequest } from '../../../server/http/safe-fetch';

describe('isPublicAddress', () => {
  test('reserved IPv4 ranges are not public; their neighbours are', () => {
    const cases: [string, boolean][] = [
      ['100.63.255.255', true], ['100.64.0.0', false], ['100.127.255.255', false], ['100.128.0.0', true],
      ['192.0.0.1', false], ['192.0.2.1', false], ['192.0.1.1', true], ['198.18.0.1', false], ['198.19.255.1', false],
      ['198.20.0.1', true], ['198.51.100.7', false], ['203.0.113.9', false], ['203.0.114.9', true],
      ['223.255.255.255', true], ['240.0.0.1', false], ['9.255.255.255', true], ['11.0.0.0', true],
    ];
    for (const [address, expected] of cases) expect([address, isPublicAddress(address)]).toEqual([address, expected]);
  });

  test('IPv6: site-local, documentation, and IPv4 embedded by NAT64 or 6to4 are judged by what they carry', () => {
    const cases: [string, boolean][] = [
      ['fec0::1', false], ['2001:db8::1', false], ['2001:db9::1', true], ['[::1]', false], ['[2606:4700::1111]', true],
      ['64:ff9b::808:808', true], ['64:ff9b::a00:1', false], ['2002:808:808::', true], ['2002:c0a8:101::', false],
      ['::ffff:10.0.0.1', false], ['::8.8.8.8', false],
    ];
    for (const [address, expected] of cases) expect([address, isPublicAddress(address)]).toEqual([address, expected]);
  });

  test('host names and junk are never "public addresses"', () => {
    for (const value of ['example.com', '8.8.8', '8.8.8.8.8', '1.2.3.04a', ' 8.8.8.8', 'localhost']) {
      expect([value, isPublicAddress(value)]).toEqual([value, false]);
    }
  });
});

describe('checkUrl without the network', () => {
  const refused = (url: string, trusted: string[] = []) => expect(checkUrl(new URL(url), trusted)).rejects.toBeInstanceOf(UnsafeUrlError);

  test('schemes other than http(s), and credentials, are refused even for a trusted origin', async () => {
    await refused('ftp://8.8.8.8/x.png');
    await refused('file:///etc/passwd');
    await refused('https://user:pw@8.8.8.8/x.png');
    await refused('http://user@10.0.0.5:8080/x.png', ['http://10.0.0.5:8080']);
  });

  test('a trusted origin is exact: another port or scheme of the same host is judged by the rules', async () => {
    await checkUrl(new URL('http://10.0.0.5:8080/v1/images/x.png'), ['http://10.0.0.5:8080']);
    await refused('http://10.0.0.5:8081/x.png', ['http://10.0.0.5:8080']);
    await refused('https://10.0.0.5:8080/x.png', ['http://10.0.0.5:8080']);
  });

  test('local names are refused before any lookup', async () => {
    for (const url of ['https://LOCALHOST/', 'https://router.lan/', 'https://nas.home.arpa/', 'https://box.localdomain/', 'https://localhost./']) {
      await refused(url);
    }
  });

  test('public IP literals pass over https', async () => {
    await checkUrl(new URL('https://[2606:4700::1111]/x.png'), []);
    await checkUrl(new URL('https://1.1.1.1:8443/x.png'), []);
  });
});

describe('the connection goes to the checked address (no DNS rebinding window)', () => {
  test('a name is sent to the address that was checked, with its own Host, SNI and certificate check', () => {
    const url = new URL('https://images.example.com:8443/a.png?x=1');
    const pinned = pinnedRequest(url, '93.184.216.34');
    expect(pinned.target.toString()).toBe('https://93.184.216.34:8443/a.png?x=1');
    expect(pinned.headers).toEqual({ host: 'images.example.com:8443' });
    expect(pinned.tls?.serverName).toBe('images.example.com');
    const v6 = pinnedRequest(new URL('https://images.example.com/a.png'), '2606:4700::1111');
    expect(v6.target.hostname).toBe('[2606:4700::1111]');
  });

  test('IP literals and trusted origins are fetched as they are', () => {
    const literal = new URL('https://1.1.1.1/x.png');
    expect(pinnedRequest(literal, '1.1.1.1').target).toBe(literal);
    const trusted = new URL('http://10.0.0.5:8080/x.png');
    expect(pinnedRequest(trusted, null)).toEqual({ target: trusted, headers: {} });
  });

  test('checkUrl returns the address it judged', async () => {
    expect(await checkUrl(new URL('https://[2606:4700::1111]/x.png'), [])).toBe('2606:4700::1111');
    expect(await checkUrl(new URL('https://0x08080808/x.png'), [])).toBe('8.8.8.8');
    expect(await checkUrl(new URL('http://10.0.0.5:8080/x.png'), ['http://10.0.0.5:8080'])).toBeNull();
  });
});
