import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6 } from '../../../src/pcap/formatAddress.js';

describe('formatIPv6 (RFC 5952)', () => {
  it('compresses the first of two equally long runs of zero groups', () => {
    expect(formatIPv6('20010db8000000000001000000000001')).toBe('2001:db8::1:0:0:1');
  });
  it('compresses a later run when it is longer', () => {
    expect(formatIPv6('20010000000000010000000000000001')).toBe('2001:0:0:1::1');
  });
  it('does not compress a single zero group', () => {
    expect(formatIPv6('20010db8000000010001000100010001')).toBe('2001:db8:0:1:1:1:1:1');
  });
  it('writes loopback and unspecified', () => {
    expect(formatIPv6('00000000000000000000000000000001')).toBe('::1');
    expect(formatIPv6('00000000000000000000000000000000')).toBe('::');
  });
  it('drops leading zeros and uses lower case', () => {
    expect(formatIPv6('FE80000000000000020C29FFFE0A0B0C')).toBe('fe80::20c:29ff:fe0a:b0c');
  });
  it('writes IPv4-mapped addresses with a dotted quad', () => {
    expect(formatIPv6('00000000000000000000ffffc0000201')).toBe('::ffff:192.0.2.1');
  });
});

describe('formatIPv4', () => {
  it('writes a dotted quad from an unsigned number', () => {
    expect(formatIPv4(0xc0a80101)).toBe('192.168.1.1');
    expect(formatIPv4(0xffffffff)).toBe('255.255.255.255');
  });
});
