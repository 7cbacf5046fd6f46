import { describe, expect, it } from 'vitest';
import {
  canonicalAddress,
  isProxyRange,
  MAX_FORWARDED_CHARS,
  MAX_FORWARDED_HOPS,
  pickClient,
  TrustedProxies,
} from '../../src/http/client-address.js';
import { clientNetwork } from '../../src/http/client-network.js';

const PROXY = '127.0.0.1';
const proxies = new TrustedProxies([PROXY, '10.0.0.0/8', 'fd00::/8']);
const viaProxy = (forwardedFor: string) => proxies.clientOf(PROXY, () => forwardedFor);

describe('--trust-proxy values', () => {
  it('takes addresses and CIDR ranges of either family, and nothing else', () => {
    for (const ok of ['127.0.0.1', '::1', '10.0.0.0/8', '0.0.0.0/0', 'fd00::/8', '::/128', '192.0.2.1/32'])
      expect(isProxyRange(ok), ok).toBe(true);
    for (const bad of [
      '',
      'localhost',
      '10.0.0.300',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '10.0.0.0/ 8',
      ' 10.0.0.1',
      '10.0.0.1:80',
      '[::1]',
      'fe80::1%eth0',
    ])
      expect(isProxyRange(bad), bad).toBe(false);
    expect(() => new TrustedProxies(['nope'])).toThrow(/"nope"/);
  });

  it('matches addresses in the ranges, IPv4 also as uWS writes it on a dual-stack socket', () => {
    expect(proxies.trusts('10.1.2.3')).toBe(true);
    expect(proxies.trusts('11.0.0.1')).toBe(false);
    expect(proxies.trusts('fd12::1')).toBe(true);
    expect(proxies.trusts('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe(true);
    expect(proxies.trusts('not an address')).toBe(false);
    expect(new TrustedProxies([]).trusts(PROXY)).toBe(false);
  });
});

describe('canonicalAddress', () => {
  it('spells each address one way and refuses what is not one', () => {
    expect(canonicalAddress('0000:0000:0000:0000:0000:0000:0000:0001')).toBe('::1');
    expect(canonicalAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(canonicalAddress('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(canonicalAddress('0000:0000:0000:0000:0000:ffff:c000:0207')).toBe('192.0.2.7');
    expect(canonicalAddress('192.0.2.7')).toBe('192.0.2.7');
    for (const bad of ['', 'unknown', '192.0.2.7:443', '[::1]:80', 'fe80::1%eth0', '010.0.0.1'])
      expect(canonicalAddress(bad), bad).toBeNull();
  });
});

describe('the client behind trusted proxies', () => {
  it('ignores X-Forwarded-For from a peer that is not trusted, and never reads it', () => {
    let read = 0;
    expect(
      proxies.clientOf('198.51.100.1', () => {
        read++;
        return '203.0.113.9';
      }),
    ).toBe('198.51.100.1');
    expect(read).toBe(0);
    expect(new TrustedProxies([]).clientOf(PROXY, () => '203.0.113.9')).toBe(PROXY);
  });

  it('takes the rightmost address that is not a trusted proxy; the left of it may be forged', () => {
    expect(viaProxy('203.0.113.9')).toBe('203.0.113.9');
    expect(viaProxy('198.51.100.66, 203.0.113.9')).toBe('203.0.113.9');
    expect(viaProxy('203.0.113.9, 10.0.0.5')).toBe('203.0.113.9');
    expect(viaProxy('203.0.113.9,10.0.0.5 , 127.0.0.1')).toBe('203.0.113.9');
    expect(viaProxy('2001:DB8::7, fd00::1')).toBe('2001:db8::7');
    expect(viaProxy('::ffff:203.0.113.9')).toBe('203.0.113.9');
  });

  it('falls back to the peer on a missing or malformed header', () => {
    for (const header of ['', ' ', ',', '203.0.113.9,', 'unknown', '203.0.113.9:5555', '203.0.113.9, junk'])
      expect(viaProxy(header), JSON.stringify(header)).toBe(PROXY);
    // Garbage left of the client's address is the client's own writing: never reached.
    expect(viaProxy('junk, 203.0.113.9')).toBe('203.0.113.9');
  });

  it('gives the leftmost hop when every hop is a trusted proxy', () => {
    expect(viaProxy('10.0.0.9, 10.0.0.5')).toBe('10.0.0.9');
  });

  it(`reads at most ${MAX_FORWARDED_HOPS} hops of the last ${MAX_FORWARDED_CHARS} characters`, () => {
    const trustedHops = (n: number) => Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}`);
    expect(viaProxy(['203.0.113.9', ...trustedHops(MAX_FORWARDED_HOPS - 1)].join(','))).toBe('203.0.113.9');
    // One hop further is not looked at: the leftmost hop read stands for the client.
    expect(viaProxy(['203.0.113.9', ...trustedHops(MAX_FORWARDED_HOPS)].join(','))).toBe('10.0.0.1');
    // A huge header costs the same as a small one, and its cut first piece is never taken.
    const filler = `${'9'.repeat(50_000)}, `;
    expect(viaProxy(`${filler.repeat(20)}203.0.113.9`)).toBe('203.0.113.9');
    expect(viaProxy(`${'1'.repeat(MAX_FORWARDED_CHARS * 2)}`)).toBe(PROXY);
    let calls = 0;
    const counting = (a: string) => {
      calls++;
      return a.startsWith('10.');
    };
    expect(pickClient(PROXY, trustedHops(200).join(','), counting)).toBe('10.0.0.185');
    expect(calls).toBe(MAX_FORWARDED_HOPS);
  });
});

describe('the network an IPv6 client is counted under (client-network.ts)', () => {
  it('masks to the prefix, in the short spelling, whatever spelling came in; IPv4 and /128 stay addresses', () => {
    expect(clientNetwork('2001:db8:1:2:3:4:5:6', 64)).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:0db8:0001:0002:ffff:ffff:ffff:ffff', 64)).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8:abcd:ef01::9', 48)).toBe('2001:db8:abcd::/48');
    expect(clientNetwork('2001:db8:abcd:ef01::9', 56)).toBe('2001:db8:abcd:ef00::/56');
    expect(clientNetwork('64:ff9b::192.0.2.33', 120)).toBe('64:ff9b::c000:200/120');
    expect(clientNetwork('::1', 64)).toBe('::/64');
    expect(clientNetwork('2001:db8::1', 128)).toBe('2001:db8::1');
    expect(clientNetwork('203.0.113.7', 64)).toBe('203.0.113.7');
    expect(clientNetwork('not an address', 64)).toBe('not an address');
  });
});
