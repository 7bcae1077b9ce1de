import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeStream } from '../../../src/pcap/summarizeStream.js';
import type { CaptureSummary } from '../../../src/pcap/types.js';
import {
  conversationKey,
  hasTshark,
  ourPortView,
  portKey,
  tsharkPortView,
  tsharkView,
  type TsharkView,
} from '../../unit/pcap/tsharkOracle.js';
import {
  canCapture,
  captureLoopback,
  editcap,
  toBigEndianPcap,
  type LoopbackCaptures,
} from './loopbackCapture.js';

const available = (await canCapture()) && (await hasTshark());
if (!available) {
  console.warn('skipping pcap-vs-tshark tests: they need tcpdump (run as root) and tshark');
}

/** Variants of the loopback capture, by name, each a file in the temp dir. */
const VARIANTS = [
  'ethernet-usec.pcap',
  'ethernet-nsec.pcap',
  'ethernet-bigendian.pcap',
  'ethernet.pcapng',
  'ethernet-nsec.pcapng',
  'ethernet-snap54.pcap',
  'ethernet-snap60.pcap',
  'ethernet-snap64.pcap',
  'ethernet-snap70.pcapng',
  'ethernet-snap96.pcap',
  'sll2.pcap',
  'sll.pcap',
  'two-sections.pcapng',
  'mixed-linktypes.pcapng',
] as const;

describe.runIf(available)('summarize, compared with tshark on real loopback captures', () => {
  let dir: string;
  let live: LoopbackCaptures;
  const files = new Map<string, string>();
  const ours = new Map<string, CaptureSummary>();
  const theirs = new Map<string, TsharkView>();
  const theirPorts = new Map<string, Awaited<ReturnType<typeof tsharkPortView>>>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcap-it-'));
    live = await captureLoopback(dir);
    const f = (name: string): string => {
      const path = join(dir, name);
      files.set(name, path);
      return path;
    };
    await Promise.all([
      readFile(live.ethernet).then((b) => writeFile(f('ethernet-usec.pcap'), b)),
      editcap(['-F', 'nsecpcap', live.ethernet, f('ethernet-nsec.pcap')]),
      toBigEndianPcap(live.ethernet, f('ethernet-bigendian.pcap')),
      editcap(['-F', 'pcapng', live.ethernet, f('ethernet.pcapng')]),
      ...[54, 60, 64, 96].map((snap) =>
        editcap(['-F', 'pcap', '-s', String(snap), live.ethernet, f(`ethernet-snap${snap}.pcap`)]),
      ),
      editcap(['-F', 'pcapng', '-s', '70', live.ethernet, f('ethernet-snap70.pcapng')]),
      readFile(live.sll2).then((b) => writeFile(f('sll2.pcap'), b)),
      readFile(live.sll).then((b) => writeFile(f('sll.pcap'), b)),
      editcap(['-F', 'pcapng', live.sll2, join(dir, 'sll2.pcapng')]),
    ]);
    await editcap(['-F', 'pcapng', f('ethernet-nsec.pcap'), f('ethernet-nsec.pcapng')]);
    // Two sections: a pcapng file followed by another; tshark reads both.
    const [ng, ng2] = await Promise.all([readFile(f('ethernet.pcapng')), readFile(join(dir, 'sll2.pcapng'))]);
    await writeFile(f('two-sections.pcapng'), Buffer.concat([ng, ng2]));
    await editcap(['-F', 'pcapng', '-w', f('mixed-linktypes.pcapng'), live.ethernet, live.sll2], 'mergecap');
    await Promise.all(
      VARIANTS.map(async (name) => {
        const path = files.get(name)!;
        const [summary, view, ports] = await Promise.all([
          summarizeStream(createReadStream(path, { highWaterMark: 97 })),
          tsharkView(path),
          tsharkPortView(path),
        ]);
        ours.set(name, summary);
        theirs.set(name, view);
        theirPorts.set(name, ports);
      }),
    );
  }, 120_000);

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('captured the traffic it generated', () => {
    const summary = ours.get('ethernet-usec.pcap')!;
    const protocols = summary.conversations.map((c) => c.protocol);
    expect(protocols).toContain('tcp');
    expect(protocols).toContain('udp');
    expect(protocols).toContain('icmp');
    if (live.ipv6) expect(protocols).toContain('icmpv6');
    expect(summary.conversations.some((c) => c.tcp !== undefined && c.tcp.rst > 0 && c.tcp.fin === 0)).toBe(
      true,
    );
  });

  for (const name of VARIANTS) {
    describe(name, () => {
      it('reads the whole file', () => {
        const summary = ours.get(name)!;
        expect(summary.partial, summary.partialReason).toBe(false);
        expect(summary.format).toBe(name.endsWith('.pcapng') ? 'pcapng' : 'pcap');
      });

      it('counts the same frames and frame.len bytes as tshark', () => {
        const view = theirs.get(name)!;
        const summary = ours.get(name)!;
        expect(summary.packets).toBe(view.frames);
        expect(summary.bytes).toBe(view.bytes);
        expect(summary.protocols.reduce((n, p) => n + p.bytes, 0)).toBe(view.bytes);
      });

      it('has every TCP and UDP packet in the conversation of its own ports, as tshark -T fields shows them', () => {
        const mine = ourPortView(ours.get(name)!.conversations).map(portKey).sort();
        expect(mine).toEqual(theirPorts.get(name)!.conversations.map(portKey).sort());
      });

      it('counts the packets whose headers the snap length cut', () => {
        const cut = ours.get(name)!.signals.find((s) => s.kind === 'headers-cut');
        expect(cut?.count ?? 0).toBe(theirPorts.get(name)!.headersCut);
      });

      it.skipIf(name.includes('snap'))(
        'has exactly tshark’s TCP, UDP and ICMP conversations, each way',
        () => {
          const view = theirs.get(name)!;
          const summary = ours.get(name)!;
          const mine = summary.conversations
            .filter((c) => ['tcp', 'udp', 'icmp', 'icmpv6'].includes(c.protocol))
            .map(conversationKey)
            .sort();
          expect(mine).toEqual(view.conversations.map(conversationKey).sort());
          for (const c of summary.conversations) {
            expect(c.packets).toBe(c.packetsAtoB + c.packetsBtoA);
            expect(c.bytes).toBe(c.bytesAtoB + c.bytesBtoA);
          }
        },
      );
    });
  }

  it('adds up to tshark’s conv,ip per address pair when every header was captured', () => {
    for (const name of ['ethernet-usec.pcap', 'ethernet.pcapng', 'sll2.pcap'] as const) {
      const view = theirs.get(name)!;
      const perPair = new Map<string, { packets: number; bytes: number }>();
      for (const c of ours.get(name)!.conversations) {
        if (c.a.includes('[') || c.protocol === 'icmpv6') continue;
        const key = [c.a.split(':')[0], c.b.split(':')[0]].sort().join(' ');
        const t = perPair.get(key) ?? { packets: 0, bytes: 0 };
        t.packets += c.packets;
        t.bytes += c.bytes;
        perPair.set(key, t);
      }
      const expected = new Map(
        view.ipConversations.map((c) => [c.pair, { packets: c.packets, bytes: c.bytes }]),
      );
      expect(perPair).toEqual(expected);
    }
  });

  it('keeps IPv4 TCP segments whose options were cut by the snap length, where tshark’s conv,tcp drops them', () => {
    const full = ours.get('ethernet-usec.pcap')!;
    const tcp4 = (s: CaptureSummary): number =>
      s.conversations
        .filter((c) => c.protocol === 'tcp' && !c.a.startsWith('['))
        .reduce((n, c) => n + c.packets, 0);
    const tsharkTcp4 = (name: string): number =>
      theirs
        .get(name)!
        .conversations.filter((c) => c.protocol === 'tcp' && !c.a.startsWith('['))
        .reduce((n, c) => n + c.packetsAtoB + c.packetsBtoA, 0);
    for (const name of ['ethernet-snap54.pcap', 'ethernet-snap60.pcap', 'ethernet-snap64.pcap'] as const) {
      // 54 to 64 bytes leave no room for the TCP options Linux sends on every connected segment.
      expect(tsharkTcp4(name)).toBeLessThan(tcp4(full) / 4);
      expect(tcp4(ours.get(name)!)).toBe(tcp4(full));
      expect(ours.get(name)!.bytes).toBe(full.bytes);
      expect(ours.get(name)!.signals.find((s) => s.kind === 'headers-cut')?.count).toBeGreaterThan(0);
    }
  });

  it('loses only IPv6 TCP segments with no port captured (54 bytes end with the IPv6 header)', () => {
    if (!live.ipv6) return;
    const snapped = ours.get('ethernet-snap54.pcap')!;
    expect(snapped.conversations.some((c) => c.protocol === 'tcp' && c.a.startsWith('['))).toBe(false);
    const cut = snapped.signals.find((s) => s.kind === 'headers-cut')!;
    expect(cut.severity).toBe('warning');
    expect(cut.message).toMatch(/lost even their ports/);
    const at60 = ours.get('ethernet-snap60.pcap')!;
    expect(at60.conversations.some((c) => c.protocol === 'tcp' && c.a.startsWith('[::1]:'))).toBe(true);
  });

  it('writes IPv6 endpoints as [address]:port in compressed form', () => {
    if (!live.ipv6) return;
    const summary = ours.get('ethernet-usec.pcap')!;
    expect(summary.conversations.some((c) => c.protocol === 'tcp' && c.a.startsWith('[::1]:'))).toBe(true);
    expect(summary.conversations.some((c) => c.protocol === 'icmpv6' && c.a === '::1')).toBe(true);
  });
});
