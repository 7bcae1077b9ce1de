/**
 * Connection states, retransmissions, zero windows, ICMP errors and DNS failures on a real capture made in network
 * namespaces (client — router — server, see namespaceCapture.ts), each figure against tshark on the same file:
 * `tcp.analysis.retransmission`, `tcp.analysis.zero_window`, `dns.flags.rcode`, `icmp.type`/`icmp.code` with the
 * quoted datagram's fields, and the packets' own flags (`-T fields`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeBuffer } from '../../../src/pcap/summarizeStream.js';
import type { CaptureSummary, Signal } from '../../../src/pcap/types.js';
import { hasTshark } from '../../unit/pcap/tsharkOracle.js';
import { captureLab, createLab, LAB, namespaceProblem, type Lab } from './namespaceCapture.js';

const run = promisify(execFile);
const problem = (await hasTshark()) ? await namespaceProblem() : 'tshark is not installed';
if (problem !== undefined) console.warn(`skipping the network-namespace capture tests: ${problem}`);

/** tshark `-T fields` rows (all occurrences, comma-separated) for frames matching `filter`. */
async function fields(file: string, filter: string, names: string[]): Promise<string[][]> {
  const { stdout } = await run(
    'tshark',
    [
      '-r',
      file,
      '-n',
      '-2',
      '-Y',
      filter,
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-E',
      'occurrence=a',
      ...names.flatMap((f) => ['-e', f]),
    ],
    { maxBuffer: 64 << 20 },
  );
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

async function frames(file: string, filter: string): Promise<number> {
  return (await fields(file, filter, ['frame.number'])).length;
}

const signal = (s: CaptureSummary, kind: Signal['kind']): Signal | undefined =>
  s.signals.find((x) => x.kind === kind);

describe.runIf(problem === undefined)(
  'summarize, compared with tshark on captures made in network namespaces',
  () => {
    let dir: string;
    let lab: Lab | undefined;
    let file: string;
    let summary: CaptureSummary;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pcap-netns-'));
      file = join(dir, 'lab.pcap');
      lab = await createLab();
      await captureLab(lab, file);
      summary = summarizeBuffer(await readFile(file));
    }, 60_000);

    afterAll(async () => {
      await lab?.remove();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    const conversationTo = (port: number) =>
      summary.conversations.find((c) => c.protocol === 'tcp' && c.b === `${LAB.server}:${port}`)!;

    it('calls the refused connection REJ, as its RST/ACK answering the SYN shows', async () => {
      const rst = await frames(
        file,
        `tcp.srcport == ${LAB.closedPort} && tcp.flags.reset == 1 && tcp.flags.ack == 1`,
      );
      const synAck = await frames(file, `tcp.srcport == ${LAB.closedPort} && tcp.flags.syn == 1`);
      expect([rst, synAck]).toEqual([1, 0]);
      expect(conversationTo(LAB.closedPort).connState).toBe('REJ');
      expect(conversationTo(LAB.closedPort).tcp!.history).toBe('Sr');
      const rejected = signal(summary, 'rejected')!;
      expect(rejected.count).toBe(1);
      expect(rejected.targets).toEqual([{ name: `${LAB.server}:${LAB.closedPort}`, count: 1 }]);
      expect(summary.connStates?.REJ).toBe(1);
    });

    it('calls the connection whose SYNs were dropped S0, with tshark’s SYN count and retransmitted SYNs', async () => {
      const syns = await frames(file, `tcp.dstport == ${LAB.droppedPort} && tcp.flags.syn == 1`);
      const again = await frames(file, `tcp.dstport == ${LAB.droppedPort} && tcp.analysis.retransmission`);
      const c = conversationTo(LAB.droppedPort);
      expect(syns).toBeGreaterThanOrEqual(2);
      expect(c.connState).toBe('S0');
      expect(c.tcp!.syn).toBe(syns);
      expect(c.tcp!.retransmissions).toBe(again);
      const unanswered = signal(summary, 'unanswered-syn')!;
      expect(unanswered.count).toBe(1);
      expect(unanswered.targets).toEqual([{ name: `${LAB.server}:${LAB.droppedPort}`, count: 1 }]);
      expect(unanswered.conversations?.[0]).toMatchObject({ b: `${LAB.server}:${LAB.droppedPort}` });
    });

    it('counts retransmissions exactly as tshark’s tcp.analysis.retransmission, per conversation and in all', async () => {
      const all = await frames(file, 'tcp.analysis.retransmission');
      const echo = await frames(file, `tcp.analysis.retransmission && (tcp.port == ${LAB.echoPort})`);
      expect(echo).toBeGreaterThanOrEqual(2);
      expect(conversationTo(LAB.echoPort).tcp!.retransmissions).toBe(echo);
      expect(conversationTo(LAB.echoPort).tcp!.history).toContain('T');
      expect(conversationTo(LAB.echoPort).connState).toBe('SF');
      const retransmissions = signal(summary, 'retransmissions')!;
      expect(retransmissions.count).toBe(all);
      expect(retransmissions.conversations?.map((c) => c.b)).toContain(`${LAB.server}:${LAB.echoPort}`);
      expect(retransmissions.rate).toBeGreaterThan(0);
    });

    it('counts zero-window segments exactly as tshark’s tcp.analysis.zero_window', async () => {
      const zero = await frames(file, 'tcp.analysis.zero_window');
      expect(zero).toBeGreaterThan(0);
      const c = conversationTo(LAB.stuckPort);
      expect(c.tcp!.zeroWindows).toBe(zero);
      expect(c.tcp!.history).toContain('w');
      expect(c.tcp!.handshakeRttMs).toBeGreaterThan(0);
      expect(signal(summary, 'zero-window')!.count).toBe(zero);
      // The client gave up with a reset after the handshake: Zeek's RSTO.
      expect(c.connState).toBe('RSTO');
    });

    it('measures the handshake time from the first SYN to the SYN-ACK like the frames’ own times', async () => {
      const rows = await fields(file, `tcp.port == ${LAB.echoPort} && tcp.flags.syn == 1`, [
        'frame.time_epoch',
        'tcp.flags.ack',
      ]);
      const syn = Number(rows.find((r) => r[1] === '0')![0]);
      const synAck = Number(rows.find((r) => r[1] === '1')![0]);
      expect(conversationTo(LAB.echoPort).tcp!.handshakeRttMs).toBeCloseTo((synAck - syn) * 1000, 2);
    });

    it('reports ICMP port unreachable and fragmentation needed with the quoted datagram, as tshark reads them', async () => {
      const rows = await fields(file, 'icmp.type == 3', [
        'icmp.code',
        'ip.src',
        'ip.dst',
        'udp.srcport',
        'udp.dstport',
        'icmp.mtu',
      ]);
      const quoted = (code: (c: number) => boolean) =>
        rows
          .filter((r) => code(Number(r[0])))
          .map((r) => ({
            protocol: 'udp',
            a: `${r[1]!.split(',')[1]}:${r[3]}`,
            b: `${r[2]!.split(',')[1]}:${r[4]}`,
          }));
      const unreachable = quoted((c) => c !== 4);
      const fragNeeded = quoted((c) => c === 4);
      expect(fragNeeded).toHaveLength(1);
      const u = signal(summary, 'icmp-unreachable')!;
      expect(u.count).toBe(unreachable.length);
      expect(
        u.conversations
          ?.map(({ protocol, a, b }) => ({ protocol, a, b }))
          .sort((x, y) => x.b.localeCompare(y.b)),
      ).toEqual(unreachable.sort((x, y) => x.b.localeCompare(y.b)));
      expect(u.message).toContain('port unreachable');
      const f = signal(summary, 'icmp-frag-needed')!;
      expect(f.count).toBe(1);
      expect(f.conversations?.map(({ protocol, a, b }) => ({ protocol, a, b }))).toEqual(fragNeeded);
      expect(f.message).toContain(`next-hop MTU ${rows.find((r) => r[0] === '4')![5]}`);
      expect(f.sources).toEqual([{ name: LAB.router, count: 1 }]);
    });

    it('reports DNS NXDOMAIN, SERVFAIL and unanswered queries as dns.flags.rcode and the responses show', async () => {
      const responses = await fields(file, 'dns.flags.response == 1', ['dns.flags.rcode', 'dns.qry.name']);
      const queries = await fields(file, 'dns.flags.response == 0', ['dns.qry.name', 'dns.response_in']);
      const names = (rcode: string) => responses.filter((r) => r[0] === rcode).map((r) => r[1]);
      const nx = signal(summary, 'dns-nxdomain')!;
      expect(nx.count).toBe(names('3').length);
      expect(signal(summary, 'dns-servfail')!.count).toBe(names('2').length);
      const unanswered = queries.filter((q) => (q[1] ?? '') === '').map((q) => q[0]);
      expect(signal(summary, 'dns-no-answer')!.count).toBe(unanswered.length);
      expect(signal(summary, 'dns-no-answer')!.targets).toEqual(
        unanswered.map((name) => ({ name, count: 1 })),
      );
      expect(signal(summary, 'dns-servfail')!.targets).toEqual(
        names('2').map((name) => ({ name, count: 1 })),
      );
      // Plain names read as tshark prints them; the one with markup and a space is escaped, byte by byte.
      expect(nx.targets!.map((t) => t.name).sort()).toEqual([
        '\\060b\\062x\\032y.example',
        'nx1.example',
        'nx2.example',
      ]);
      expect(names('3')).toContain('<b>x y.example');
      expect(nx.sources).toEqual([{ name: `${LAB.server}:53`, count: names('3').length }]);
      // The client-server pair each failure concerns, as the UDP conversation names it.
      const pair = summary.conversations.find((c) => c.protocol === 'udp' && c.b === `${LAB.server}:53`)!;
      for (const kind of ['dns-nxdomain', 'dns-servfail', 'dns-no-answer'] as const) {
        expect(signal(summary, kind)!.conversations).toEqual([
          { protocol: 'udp', a: pair.a, b: pair.b, count: signal(summary, kind)!.count },
        ]);
      }
    });

    it('agrees with tshark’s expert info (-z expert) on retransmissions and zero windows', async () => {
      const { stdout } = await run('tshark', ['-r', file, '-n', '-q', '-z', 'expert']);
      const frequency = (summaryText: string): number => {
        const line = stdout.split('\n').find((l) => l.trimEnd().endsWith(summaryText));
        return line === undefined ? 0 : Number(/^\s*(\d+)/.exec(line)![1]);
      };
      expect(signal(summary, 'retransmissions')!.count).toBe(
        frequency('This frame is a (suspected) retransmission'),
      );
      expect(signal(summary, 'zero-window')!.count).toBe(frequency('TCP Zero Window segment'));
    });

    it('keeps every packet in totals and conversations as tshark counts frames', async () => {
      expect(summary.packets).toBe(await frames(file, 'frame'));
      expect(summary.partial).toBe(false);
      expect(summary.conversationsTruncated).toBe(false);
      expect(summary.conversationsTotal).toBe(summary.conversations.length);
    });
  },
);
