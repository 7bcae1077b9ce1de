import { describe, expect, it } from 'vitest';
import type { FilterablePacket } from '../../emulator/traffic/index.js';
import { CaptureFilterError, matchesFilters, parseIpv4 } from '../../emulator/traffic/index.js';

const ip = (text: string): number => parseIpv4(text) as number;
const tcp: FilterablePacket = {
  protocol: 'TCP',
  localIp: ip('10.0.0.4'),
  remoteIp: ip('52.1.2.3'),
  localPort: 50000,
  remotePort: 443,
};
const udp: FilterablePacket = {
  protocol: 'UDP',
  localIp: ip('10.0.0.4'),
  remoteIp: ip('168.63.129.16'),
  localPort: 40000,
  remotePort: 53,
};
const icmp: FilterablePacket = { protocol: 'ICMP', localIp: ip('10.0.0.4'), remoteIp: ip('10.0.0.9') };

describe('matchesFilters', () => {
  it('keeps everything when there is no filter', () => {
    expect([tcp, udp, icmp].every((p) => matchesFilters(p, []))).toBe(true);
  });

  it('treats protocol case-insensitively and lets ICMP through only Any or no protocol', () => {
    expect(matchesFilters(tcp, [{ protocol: 'tcp' }])).toBe(true);
    expect(matchesFilters(icmp, [{ protocol: 'TCP' }])).toBe(false);
    expect(matchesFilters(icmp, [{ protocol: 'UDP' }])).toBe(false);
    expect(matchesFilters(icmp, [{ protocol: 'Any' }])).toBe(true);
    expect(matchesFilters(icmp, [{ remoteIPAddress: '10.0.0.9' }])).toBe(true);
  });

  it('makes a port filter exclude ICMP', () => {
    expect(matchesFilters(icmp, [{ localPort: '0-65535' }])).toBe(false);
  });

  it('includes both ends of an address range', () => {
    expect(matchesFilters(tcp, [{ remoteIPAddress: '52.1.2.3-52.1.2.10' }])).toBe(true);
    expect(matchesFilters(tcp, [{ remoteIPAddress: '52.1.1.0-52.1.2.3' }])).toBe(true);
    expect(matchesFilters(tcp, [{ remoteIPAddress: '52.1.2.4-52.1.2.10' }])).toBe(false);
  });

  it('compares ranges numerically, not as text', () => {
    expect(matchesFilters(tcp, [{ remoteIPAddress: '9.0.0.0-100.0.0.0' }])).toBe(true);
    expect(matchesFilters(udp, [{ remotePort: '9-100' }])).toBe(true);
  });

  it('accepts lists with a trailing semicolon and spaces', () => {
    expect(matchesFilters(udp, [{ remotePort: '80; 53;' }])).toBe(true);
    expect(matchesFilters(tcp, [{ remotePort: '80; 53;' }])).toBe(false);
  });

  it('matches local against the VM side and remote against the other side', () => {
    expect(matchesFilters(tcp, [{ localIPAddress: '10.0.0.4', remoteIPAddress: '52.1.2.3' }])).toBe(true);
    expect(matchesFilters(tcp, [{ localIPAddress: '52.1.2.3' }])).toBe(false);
    expect(matchesFilters(tcp, [{ localPort: '443' }])).toBe(false);
  });

  it('treats an empty field as no constraint', () => {
    expect(matchesFilters(tcp, [{ localIPAddress: '', remotePort: ' ' }])).toBe(true);
  });

  it('rejects malformed values with the field and value in the message', () => {
    expect(() => matchesFilters(tcp, [{ localPort: '70000' }])).toThrow(CaptureFilterError);
    expect(() => matchesFilters(tcp, [{ remoteIPAddress: '10.0.0.300' }])).toThrow(
      /filters\[0\]\.remoteIPAddress.*10\.0\.0\.300/,
    );
    expect(() => matchesFilters(tcp, [{ remotePort: '90-80' }])).toThrow(/start is not after its end/);
    expect(() => matchesFilters(tcp, [{ protocol: 'SCTP' }])).toThrow(/protocol/);
  });
});
