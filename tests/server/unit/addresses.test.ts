/**
 * Unit tier: the SSRF guard's address classification (server/http/safe-fetch.ts),
 * pure and without a database or network (IP literals and refused names only).
 */
import { describe, expect, test } from 'bun:test';
import { UnsafeUrlError, checkUrl, isPublicAddress, parseIPv6 } from '../../../server/http/safe-fetch';

describe('parseIPv6', () => {
  test('full, compressed, bracketed, scoped and dotted-tail spellings give the same 16 bytes', () => {
    const loopback = [...Array(15).fill(0), 1];
    expect(parseIPv6('::1')).toEqual(loopback);
    expect(parseIPv6('0:0:0:0:0:0:0:1')).toEqual(loopback);
    expect(parseIPv6('[::1]')).toEqual(loopback);
    expect(parseIPv6('fe80::1%eth0')).toEqual([0xfe, 0x80, ...Array(13).fill(0), 1]);
    expect(parseIPv6('::ffff:127.0.0.1')).toEqual([...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1]);
    expect(parseIPv6('::ffff:7f00:1')).toEqual(parseIPv6('::ffff:127.0.0.1'));
  });

  test('malformed addresses are null', () => {
    for (const bad of ['', ':::', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', 'g::1', '12345::', '::1.2.3.256', '::1.2.3']) {
      expect([bad, parseIPv6(bad)]).toEqual([bad, null]);
    }
  });
});

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
