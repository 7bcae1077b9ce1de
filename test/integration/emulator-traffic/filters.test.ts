import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureFilterSpec, SynthesizeCaptureOptions } from '../../emulator/traffic/index.js';
import { CaptureFilterError, synthesizeCapture } from '../../emulator/traffic/index.js';
import type { Frame } from './tshark.js';
import { captureDir, readFrames } from './tshark.js';

const LOCAL_IP = '10.1.2.3';
const base: SynthesizeCaptureOptions = {
  vmId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-filtered',
  localIp: LOCAL_IP,
  startTime: new Date('2025-06-01T12:00:00.000Z'),
  durationSeconds: 90,
  filters: [],
  bytesToCapturePerPacket: 0,
  totalBytesPerSession: 1_073_741_824,
};

let dir: ReturnType<typeof captureDir>;
let all: Frame[];
let written = 0;
beforeAll(() => {
  dir = captureDir();
  all = readFrames(dir.write('all.pcap', synthesizeCapture(base).file));
});
afterAll(() => dir.remove());

/** The VM-side view tshark gives of a frame. */
const view = (f: Frame) => {
  const outbound = f.src === LOCAL_IP;
  return {
    remoteIp: outbound ? f.dst : f.src,
    localPort: outbound ? f.srcPort : f.dstPort,
    remotePort: outbound ? f.dstPort : f.srcPort,
  };
};
const key = (f: Frame): string => [f.time, f.src, f.dst, f.proto, f.srcPort, f.dstPort, f.len].join('|');
const ipNumber = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

/** Captures with `filters` and checks, with tshark, that exactly the frames `expected` picks from the whole capture are kept. */
function expectCaptureKeeps(filters: CaptureFilterSpec[], expected: (f: Frame) => boolean): Frame[] {
  const kept = readFrames(
    dir.write(`filtered-${++written}.pcap`, synthesizeCapture({ ...base, filters }).file),
  );
  const wanted = all.filter(expected);
  expect(wanted.length).toBeGreaterThan(0);
  expect(wanted.length).toBeLessThan(all.length);
  expect(kept.map(key)).toEqual(wanted.map(key));
  return kept;
}

describe('synthesizeCapture filters (checked with tshark)', () => {
  it('keeps only TCP for protocol TCP: no UDP, no ICMP', () => {
    const kept = expectCaptureKeeps([{ protocol: 'TCP' }], (f) => f.proto === 6);
    expect(new Set(kept.map((f) => f.proto))).toEqual(new Set([6]));
  });

  it('keeps only UDP for protocol UDP', () => {
    const kept = expectCaptureKeeps([{ protocol: 'UDP' }], (f) => f.proto === 17);
    expect(new Set(kept.map((f) => f.proto))).toEqual(new Set([17]));
  });

  it('keeps everything, ICMP included, for protocol Any', () => {
    const kept = readFrames(
      dir.write('any.pcap', synthesizeCapture({ ...base, filters: [{ protocol: 'Any' }] }).file),
    );
    expect(kept.map(key)).toEqual(all.map(key));
    expect(kept.some((f) => f.proto === 1)).toBe(true);
  });

  it('keeps both directions of one remote address (remoteIPAddress single)', () => {
    const kept = expectCaptureKeeps(
      [{ remoteIPAddress: '168.63.129.16' }],
      (f) => view(f).remoteIp === '168.63.129.16',
    );
    expect(kept.some((f) => f.src === LOCAL_IP) && kept.some((f) => f.dst === LOCAL_IP)).toBe(true);
  });

  it('keeps a range of remote addresses (remoteIPAddress a-b): the VNet, not the local address itself', () => {
    const low = ipNumber('10.1.0.0');
    const high = ipNumber('10.1.255.255');
    const kept = expectCaptureKeeps([{ remoteIPAddress: '10.1.0.0-10.1.255.255' }], (f) => {
      const remote = ipNumber(view(f).remoteIp);
      return remote >= low && remote <= high;
    });
    expect(kept.every((f) => view(f).remoteIp !== LOCAL_IP)).toBe(true);
  });

  it('keeps a list of remote addresses (remoteIPAddress a;b;)', () => {
    const kept = expectCaptureKeeps([{ remoteIPAddress: '168.63.129.16;169.254.169.254;' }], (f) =>
      ['168.63.129.16', '169.254.169.254'].includes(view(f).remoteIp),
    );
    expect(new Set(kept.map((f) => view(f).remoteIp))).toEqual(new Set(['168.63.129.16', '169.254.169.254']));
  });

  it("keeps everything for the VM's own localIPAddress and nothing for another", () => {
    expect(synthesizeCapture({ ...base, filters: [{ localIPAddress: LOCAL_IP }] }).packets).toBe(all.length);
    expect(synthesizeCapture({ ...base, filters: [{ localIPAddress: '10.1.2.4' }] }).packets).toBe(0);
  });

  it("keeps the VM's web server traffic (localPort 80), in both directions", () => {
    const kept = expectCaptureKeeps([{ localPort: '80' }], (f) => f.proto !== 1 && view(f).localPort === 80);
    expect(kept.some((f) => f.srcPort === 80) && kept.some((f) => f.dstPort === 80)).toBe(true);
  });

  it('keeps a range of remote ports (remotePort 50-123): DNS, HTTP, NTP, and no ICMP', () => {
    const kept = expectCaptureKeeps([{ remotePort: '50-123' }], (f) => {
      const port = view(f).remotePort;
      return f.proto !== 1 && port !== undefined && port >= 50 && port <= 123;
    });
    expect(new Set(kept.map((f) => view(f).remotePort))).toEqual(new Set([53, 80, 123]));
    expect(kept.some((f) => f.proto === 1)).toBe(false);
  });

  it('keeps a list of remote ports (remotePort 53;443)', () => {
    expectCaptureKeeps(
      [{ remotePort: '53;443' }],
      (f) => f.proto !== 1 && [53, 443].includes(view(f).remotePort ?? -1),
    );
  });

  it('ANDs the fields of one filter (protocol TCP, remote 168.63.129.16, remotePort 80)', () => {
    // Each field alone would also keep DNS (UDP, same address) or other HTTP (port 80, other peers).
    const kept = expectCaptureKeeps(
      [{ protocol: 'TCP', remoteIPAddress: '168.63.129.16', remotePort: '80' }],
      (f) => f.proto === 6 && view(f).remoteIp === '168.63.129.16' && view(f).remotePort === 80,
    );
    expect(kept.length).toBeLessThan(all.filter((f) => view(f).remoteIp === '168.63.129.16').length);
    expect(kept.length).toBeLessThan(all.filter((f) => f.proto !== 1 && view(f).remotePort === 80).length);
  });

  it('ORs two filters: UDP, or TCP to remote port 443', () => {
    const kept = expectCaptureKeeps(
      [{ protocol: 'UDP' }, { protocol: 'TCP', remotePort: '443' }],
      (f) => f.proto === 17 || (f.proto === 6 && view(f).remotePort === 443),
    );
    expect(kept.some((f) => f.proto === 17) && kept.some((f) => f.proto === 6)).toBe(true);
  });

  it('rejects a value that is not in Network Watcher notation, naming the field', () => {
    expect(() => synthesizeCapture({ ...base, filters: [{ remotePort: '80-x' }] })).toThrow(
      CaptureFilterError,
    );
    expect(() => synthesizeCapture({ ...base, filters: [{}, { localIPAddress: '10.1.2' }] })).toThrow(
      /filters\[1\]\.localIPAddress/,
    );
  });
});
