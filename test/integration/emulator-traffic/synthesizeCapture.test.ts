import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynthesizeCaptureOptions } from '../../emulator/traffic/index.js';
import {
  createTrafficProfile,
  formatIpv4,
  PCAP_GLOBAL_HEADER_BYTES,
  PCAP_WHOLE_PACKET_SNAPLEN,
  synthesizeCapture,
} from '../../emulator/traffic/index.js';
import type { Frame } from './tshark.js';
import { captureDir, CHECKSUM_PREFS, readFrames, tshark } from './tshark.js';

const VM_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-web-01';
const LOCAL_IP = '10.1.2.3';
const START = new Date('2025-06-01T10:00:00.000Z');
const base: SynthesizeCaptureOptions = {
  vmId: VM_ID,
  localIp: LOCAL_IP,
  startTime: START,
  durationSeconds: 120,
  filters: [],
  bytesToCapturePerPacket: 0,
  totalBytesPerSession: 1_073_741_824,
};

let dir: ReturnType<typeof captureDir>;
let fullPath: string;
let frames: Frame[];
const full = synthesizeCapture(base);

beforeAll(() => {
  dir = captureDir();
  fullPath = dir.write('full.pcap', full.file);
  frames = readFrames(fullPath);
});
afterAll(() => dir.remove());

const remoteOf = (f: Frame): string => (f.src === LOCAL_IP ? f.dst : f.src);
const streams = (pick: (f: Frame) => boolean): Set<number | undefined> =>
  new Set(frames.filter(pick).map((f) => f.tcpStream));

describe('synthesizeCapture: a file tshark reads', () => {
  it('writes a classic libpcap header: magic a1b2c3d4, version 2.4, Ethernet, whole-packet snaplen', () => {
    expect(full.file.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(full.file.readUInt16LE(4)).toBe(2);
    expect(full.file.readUInt16LE(6)).toBe(4);
    expect(full.file.readUInt32LE(16)).toBe(PCAP_WHOLE_PACKET_SNAPLEN);
    expect(full.file.readUInt32LE(20)).toBe(1);
    expect(frames.every((f) => f.ethDst !== '' && f.src !== '')).toBe(true);
  });

  it('has no malformed packet, bad checksum, warning or error in tshark expert info but the resets it plays', () => {
    const expert = tshark(['-r', fullPath, ...CHECKSUM_PREFS, '-q', '-z', 'expert']);
    expect(expert.status).toBe(0);
    expect(expert.stderr).toBe('');
    expect(expert.stdout).not.toMatch(/malformed|checksum|exception/i);
    expect(expert.stdout).not.toMatch(/^Errors/m);
    const warnings = /^Warns \(\d+\)\n=+\n.*\n((?:[ \t]+\d+[ \t].*\n)+)/m.exec(expert.stdout)?.[1] ?? '';
    expect(warnings).toMatch(/Connection reset \(RST\)/);
    for (const line of warnings.trim().split('\n'))
      expect(line).toMatch(/Sequence\s+TCP\s+Connection reset \(RST\)$/);
    expect(frames.filter((f) => /malformed|checksum|bad/i.test(f.expert))).toEqual([]);
  });

  it('gets every IPv4, TCP, UDP and ICMP checksum right', () => {
    // 1 = good; 0 would be bad, 2 unverified.
    const statuses = new Set(frames.flatMap((f) => f.checksums).filter((s) => s !== ''));
    expect([...statuses]).toEqual(['1']);
    expect(frames.every((f) => f.checksums[0] === '1')).toBe(true);
    expect(frames.filter((f) => f.proto === 1).every((f) => f.checksums[3] === '1')).toBe(true);
  });

  it('keeps TCP seq/ack consistent: no lost, unseen, out-of-order or duplicate-ACK segment', () => {
    const odd = frames.filter((f) =>
      /not captured|unseen|wasn't captured|out-of-order|Duplicate ACK|zero window|spurious/i.test(f.expert),
    );
    expect(odd).toEqual([]);
  });

  it('reports as many packets as tshark reads, with increasing timestamps inside the window', () => {
    const times = frames.map((f) => f.time);
    expect(times.length).toBe(full.packets);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number);
    const startSeconds = START.getTime() / 1000;
    expect(times[0]).toBeGreaterThanOrEqual(startSeconds);
    expect(times.at(-1)).toBeLessThan(startSeconds + base.durationSeconds);
    // Spread over the window, not bunched at its start.
    expect(times.at(-1)).toBeGreaterThan(startSeconds + base.durationSeconds * 0.75);
    expect(full.lastPacketTime.getTime()).toBe(Math.floor(Math.round((times.at(-1) as number) * 1e6) / 1000));
  });
});

describe('synthesizeCapture: determinism', () => {
  it('gives byte-identical files for the same options', () => {
    expect(synthesizeCapture({ ...base }).file.equals(full.file)).toBe(true);
  });

  it('gives the same traffic whatever the case of the VM id (ARM ids are case-insensitive)', () => {
    expect(synthesizeCapture({ ...base, vmId: VM_ID.toUpperCase() }).file.equals(full.file)).toBe(true);
  });

  it('gives another VM other peers', () => {
    const other = synthesizeCapture({ ...base, vmId: VM_ID.replace('vm-web-01', 'vm-web-02') });
    expect(other.file.equals(full.file)).toBe(false);
    const mine = new Set(frames.map(remoteOf));
    const theirs = [...new Set(readFrames(dir.write('other.pcap', other.file)).map(remoteOf))].filter(
      (ip) => !['168.63.129.16', '169.254.169.254'].includes(ip),
    );
    expect(theirs.filter((ip) => !mine.has(ip)).length).toBeGreaterThan(theirs.length / 2);
  });

  it('varies the details between two captures of the same VM but keeps to the peers of its profile', () => {
    const later = synthesizeCapture({ ...base, startTime: new Date(START.getTime() + 3_600_000) });
    expect(later.file.equals(full.file)).toBe(false);
    const profile = createTrafficProfile(VM_ID, LOCAL_IP);
    const known = new Set(
      [
        profile.azurePlatform,
        profile.imds,
        profile.ntpServer,
        profile.blackhole,
        ...profile.webServices,
        ...profile.webClients,
        ...profile.vnetPeers,
      ].map((p) => formatIpv4(p.ip)),
    );
    for (const capture of [frames, readFrames(dir.write('later.pcap', later.file))]) {
      for (const ip of new Set(capture.map(remoteOf))) expect(known).toContain(ip);
    }
  });
});

describe('synthesizeCapture: what the traffic contains', () => {
  it('opens several TCP connections with a three-way handshake', () => {
    const synAcks = streams((f) => f.syn && f.ack);
    const handshakes = [...synAcks].filter((s) =>
      frames.some((f) => f.tcpStream === s && !f.syn && f.ack && f.tcpLen === 0),
    );
    expect(handshakes.length).toBeGreaterThanOrEqual(5);
    expect(streams((f) => f.syn && !f.ack).size).toBeGreaterThan(synAcks.size);
  });

  it('closes connections with FIN from both sides', () => {
    const fins = frames.filter((f) => f.fin);
    expect(fins.length).toBeGreaterThanOrEqual(10);
    expect(fins.some((f) => f.src === LOCAL_IP) && fins.some((f) => f.dst === LOCAL_IP)).toBe(true);
  });

  it('has a connection refused with RST', () => {
    const withData = streams((f) => (f.tcpLen ?? 0) > 0);
    expect(frames.some((f) => f.rst && f.src !== LOCAL_IP && !withData.has(f.tcpStream))).toBe(true);
  });

  it('has a connection reset in the middle of a response', () => {
    const withData = streams((f) => (f.tcpLen ?? 0) > 0);
    expect(frames.some((f) => f.rst && withData.has(f.tcpStream))).toBe(true);
  });

  it('has a SYN that is never answered, retransmitted', () => {
    const answered = streams((f) => (f.syn && f.ack) || f.rst);
    const unanswered = frames.filter((f) => f.syn && !f.ack && !answered.has(f.tcpStream));
    expect(unanswered.length).toBeGreaterThanOrEqual(2);
    expect(unanswered.some((f) => /retransmission/i.test(f.expert))).toBe(true);
  });

  it('resolves names with Azure DNS at 168.63.129.16 before connecting to them', () => {
    const answers = frames
      .filter((f) => f.src === '168.63.129.16' && f.srcPort === 53)
      .flatMap((f) => f.dnsA);
    expect(answers.length).toBeGreaterThan(0);
    const https = frames.filter((f) => f.src === LOCAL_IP && f.dstPort === 443 && f.syn);
    expect(https.length).toBeGreaterThan(0);
    expect(https.every((f) => answers.includes(f.dst))).toBe(true);
  });

  it('has an NTP request and its answer', () => {
    expect(frames.some((f) => f.ntpMode === 3 && f.dstPort === 123)).toBe(true);
    expect(frames.some((f) => f.ntpMode === 4 && f.srcPort === 123)).toBe(true);
  });

  it('has ICMP echo requests, each with its reply', () => {
    const requests = frames.filter((f) => f.icmpType === 8);
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(frames.filter((f) => f.icmpType === 0).length).toBe(requests.length);
    expect(requests.filter((f) => /no response/i.test(f.expert))).toEqual([]);
  });

  it('talks to several remote peers, public and in its own VNet, through the Azure gateway MAC', () => {
    const out = tshark(['-r', fullPath, '-q', '-z', 'conv,ip']);
    const peers = [...out.stdout.matchAll(/^(\S+)\s+<->\s+(\S+)\s/gm)].map(
      ([, a, b]) => (a === LOCAL_IP ? b : a) as string,
    );
    expect(peers.length).toBeGreaterThanOrEqual(6);
    expect(peers.filter((ip) => ip.startsWith('10.1.')).length).toBeGreaterThanOrEqual(1);
    expect(
      peers.filter((ip) => !/^(10\.|168\.63\.129\.16$|169\.254\.)/.test(ip)).length,
    ).toBeGreaterThanOrEqual(3);
    expect(peers).toEqual(expect.arrayContaining(['168.63.129.16', '169.254.169.254']));
    expect(new Set(frames.filter((f) => f.src === LOCAL_IP).map((f) => f.ethDst))).toEqual(
      new Set(['12:34:56:78:9a:bc']),
    );
  });

  it('sets realistic header fields: DF and TTL 64 from the VM, an MSS option on every SYN', () => {
    const fromVm = frames.filter((f) => f.src === LOCAL_IP);
    expect(new Set(fromVm.map((f) => `${f.df}/${f.ttl}`))).toEqual(new Set(['true/64']));
    const syns = frames.filter((f) => f.syn);
    expect(syns.every((f) => f.mss !== undefined && f.mss >= 1400 && f.mss <= 1460)).toBe(true);
  });
});

describe('synthesizeCapture: size of the window', () => {
  it('writes a few hundred packets per emulated minute, more for a longer window', () => {
    const minute = synthesizeCapture({ ...base, durationSeconds: 60 });
    const tenMinutes = synthesizeCapture({ ...base, durationSeconds: 600 });
    expect(minute.packets).toBeGreaterThanOrEqual(100);
    expect(minute.packets).toBeLessThanOrEqual(800);
    expect(tenMinutes.packets).toBeGreaterThan(minute.packets * 5);
  });

  it('keeps a one-hour capture to a few MB', () => {
    const hour = synthesizeCapture({ ...base, durationSeconds: 3600 });
    expect(hour.file.length).toBeLessThan(6 * 1024 * 1024);
    expect(hour.bytesLimitReached).toBe(false);
    expect(hour.lastPacketTime.getTime()).toBeGreaterThan(START.getTime() + 3_300_000);
  });

  it('still has TCP with resets, UDP and ICMP in a two-second window', () => {
    const short = synthesizeCapture({ ...base, durationSeconds: 2 });
    const shortFrames = readFrames(dir.write('short.pcap', short.file));
    expect(new Set(shortFrames.map((f) => f.proto))).toEqual(new Set([1, 6, 17]));
    expect(shortFrames.some((f) => f.rst)).toBe(true);
    expect(short.lastPacketTime.getTime()).toBeLessThan(START.getTime() + 2000);
  });

  it('writes a header-only file for an empty window, last packet time = start time', () => {
    const empty = synthesizeCapture({ ...base, durationSeconds: 0 });
    expect(empty.file.length).toBe(PCAP_GLOBAL_HEADER_BYTES);
    expect(empty.packets).toBe(0);
    expect(empty.lastPacketTime).toEqual(START);
    expect(readFrames(dir.write('empty.pcap', empty.file))).toEqual([]);
  });
});

describe('synthesizeCapture: bytesToCapturePerPacket', () => {
  it('cuts every frame to the snap length and keeps the original length', () => {
    const snapped = synthesizeCapture({ ...base, bytesToCapturePerPacket: 96 });
    expect(snapped.file.readUInt32LE(16)).toBe(96);
    const snappedFrames = readFrames(dir.write('snap.pcap', snapped.file));
    expect(snappedFrames.length).toBe(full.packets);
    expect(snappedFrames.every((f) => f.capLen <= 96)).toBe(true);
    const big = snappedFrames.filter((f) => f.len > 96);
    expect(big.length).toBeGreaterThan(50);
    expect(big.every((f) => f.capLen === 96)).toBe(true);
    expect(snappedFrames.map((f) => f.len)).toEqual(frames.map((f) => f.len));
  });
});

describe('synthesizeCapture: totalBytesPerSession', () => {
  it('stops before the file would exceed the limit and says so', () => {
    const limited = synthesizeCapture({ ...base, totalBytesPerSession: 20_000 });
    expect(limited.file.length).toBeLessThanOrEqual(20_000);
    expect(limited.bytesLimitReached).toBe(true);
    expect(limited.packets).toBeLessThan(full.packets);
    // What it kept is exactly the start of the unlimited capture, and the next packet would not have fitted.
    expect(full.file.subarray(0, limited.file.length).equals(limited.file)).toBe(true);
    const nextRecordLength = 16 + full.file.readUInt32LE(limited.file.length + 8);
    expect(limited.file.length + nextRecordLength).toBeGreaterThan(20_000);
    const limitedFrames = readFrames(dir.write('limited.pcap', limited.file));
    expect(limitedFrames.length).toBe(limited.packets);
    expect(limited.lastPacketTime.getTime()).toBe(
      Math.floor(Math.round((limitedFrames.at(-1)?.time ?? 0) * 1e6) / 1000),
    );
  });

  it('does not flag the limit when the whole capture fits exactly', () => {
    const exact = synthesizeCapture({ ...base, totalBytesPerSession: full.file.length });
    expect(exact.bytesLimitReached).toBe(false);
    expect(exact.file.equals(full.file)).toBe(true);
  });

  it('writes only the header when not even one packet fits', () => {
    const tiny = synthesizeCapture({ ...base, totalBytesPerSession: 30 });
    expect(tiny.file.length).toBe(PCAP_GLOBAL_HEADER_BYTES);
    expect(tiny.packets).toBe(0);
    expect(tiny.bytesLimitReached).toBe(true);
    expect(tiny.lastPacketTime).toEqual(START);
  });
});
