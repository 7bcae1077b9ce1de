import { describe, expect, it } from 'vitest';
import { classifyAddress } from '../../../src/report/classifyAddress.js';
import { endpointAddress, endpointPort, parseAddress } from '../../../src/report/parseAddress.js';

describe('parseAddress', () => {
  it('reads IPv4 as a 32-bit number and refuses octets over 255', () => {
    expect(parseAddress('8.8.8.8')).toEqual({ version: 4, value: 0x08080808 });
    expect(parseAddress('255.255.255.255')).toEqual({ version: 4, value: 0xffffffff });
    expect(parseAddress('256.1.1.1')).toBeUndefined();
    expect(parseAddress('1.2.3')).toBeUndefined();
  });

  it('reads compressed, full and IPv4-tailed IPv6', () => {
    expect(parseAddress('::1')).toEqual({ version: 6, value: 1n });
    expect(parseAddress('::')).toEqual({ version: 6, value: 0n });
    expect(parseAddress('2001:4860:4860::8888')).toEqual({
      version: 6,
      value: 0x20014860486000000000000000008888n,
    });
    expect(parseAddress('2001:db8:0:0:0:0:0:1')).toEqual({
      version: 6,
      value: 0x20010db8000000000000000000000001n,
    });
    expect(parseAddress('::ffff:10.0.0.4')).toEqual({ version: 6, value: 0xffff0a000004n });
  });

  it('refuses what is not an address', () => {
    for (const text of [
      '',
      'example.com',
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      '::ffff:1.2.3.999',
      'fe80::1%eth0',
    ])
      expect(parseAddress(text), text).toBeUndefined();
  });
});

describe('summary endpoints', () => {
  it('split into address and port for IPv4, bracketed IPv6 and port-less ICMP', () => {
    expect([endpointAddress('10.0.0.4:443'), endpointPort('10.0.0.4:443')]).toEqual(['10.0.0.4', 443]);
    expect([endpointAddress('[2001:db8::1]:53'), endpointPort('[2001:db8::1]:53')]).toEqual([
      '2001:db8::1',
      53,
    ]);
    expect([endpointAddress('10.0.0.4'), endpointPort('10.0.0.4')]).toEqual(['10.0.0.4', undefined]);
    expect([endpointAddress('2001:db8::1'), endpointPort('2001:db8::1')]).toEqual(['2001:db8::1', undefined]);
  });
});

describe('classifyAddress', () => {
  it('labels the Azure platform addresses before anything else', () => {
    expect(classifyAddress('168.63.129.16')).toEqual({
      kind: 'azure-platform',
      description: 'Azure platform (WireServer: DHCP, DNS, health probes, VM agent)',
    });
    expect(classifyAddress('169.254.169.254')).toEqual({
      kind: 'azure-platform',
      description: 'Azure platform (Instance Metadata Service)',
    });
  });

  it('labels private, shared, loopback, link-local and multicast ranges, IPv4 and IPv6', () => {
    const kinds = Object.fromEntries(
      [
        '10.1.2.3',
        '172.16.0.1',
        '172.31.255.255',
        '192.168.1.1',
        '100.64.0.1',
        '127.0.0.1',
        '169.254.1.1',
        '224.0.0.251',
        '255.255.255.255',
        '0.0.0.0',
        'fd00::4',
        'fe80::1',
        'ff02::1',
        '::1',
        '::',
      ].map((a) => [a, classifyAddress(a)?.kind]),
    );
    expect(kinds).toEqual({
      '10.1.2.3': 'private',
      '172.16.0.1': 'private',
      '172.31.255.255': 'private',
      '192.168.1.1': 'private',
      '100.64.0.1': 'private',
      '127.0.0.1': 'special',
      '169.254.1.1': 'special',
      '224.0.0.251': 'special',
      '255.255.255.255': 'special',
      '0.0.0.0': 'special',
      'fd00::4': 'private',
      'fe80::1': 'special',
      'ff02::1': 'special',
      '::1': 'special',
      '::': 'special',
    });
  });

  it('leaves public addresses and non-addresses to the lookup', () => {
    for (const a of ['8.8.8.8', '172.32.0.1', '52.239.160.36', '2001:4860:4860::8888', 'not-an-ip'])
      expect(classifyAddress(a), a).toBeUndefined();
  });
});
