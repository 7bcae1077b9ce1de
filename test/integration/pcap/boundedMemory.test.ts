import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeStream } from '../../../src/pcap/summarizeStream.js';
import type { SummarizeOptions } from '../../../src/pcap/summarizeStream.js';
import { DEFAULT_CONVERSATION_TABLE_SIZE } from '../../../src/pcap/SummaryBuilder.js';
import type { CaptureSummary } from '../../../src/pcap/types.js';
import { ipv4Packet, udpDatagram, writePcap } from '../../unit/pcap/captureWriter.js';
import { writeSynFlood, type FloodTruth } from '../../unit/pcap/floodCapture.js';

const FILE_BYTES = 80 * 1024 * 1024;
const PACKET_PAYLOAD = 1400;

describe('summarizeStream on a large file', () => {
  let dir: string;
  let path: string;
  let packets = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcap-big-'));
    path = join(dir, 'big.pcap');
    // Build one 1 MiB block of records (64 conversations) and write it repeatedly: fast, and streamed to disk.
    const records = [];
    for (let i = 0; i < 700; i++) {
      const data = ipv4Packet({
        src: `10.0.${i % 8}.1`,
        dst: `10.1.${i % 8}.2`,
        protocol: 17,
        payload: udpDatagram(1000 + (i % 8), 2000, Buffer.alloc(PACKET_PAYLOAD)),
      });
      records.push({ time: 1_700_000_000 + i / 1000, data });
    }
    const block = writePcap(records);
    const header = block.subarray(0, 24);
    const body = block.subarray(24);
    const out = createWriteStream(path);
    out.write(header);
    for (let written = 0; written < FILE_BYTES; written += body.length) {
      packets += records.length;
      if (!out.write(body)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads it all while its memory stays far below the file size', async () => {
    const before = process.memoryUsage();
    let peak = 0;
    let chunks = 0;
    async function* sampled(): AsyncGenerator<Uint8Array> {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
        if (++chunks % 8 === 0) {
          const m = process.memoryUsage();
          peak = Math.max(peak, m.heapUsed + m.arrayBuffers - before.heapUsed - before.arrayBuffers);
        }
        yield chunk as Buffer;
      }
    }
    const summary = await summarizeStream(sampled());
    expect(summary.partial).toBe(false);
    expect(summary.packets).toBe(packets);
    expect(summary.conversations).toHaveLength(8);
    // Chunks in flight plus the fixed tables (conversations, talkers, tallies: a few MiB by design).
    expect(peak).toBeLessThan(40 * 1024 * 1024);
  }, 60_000);
});

/** Summarizes `path`, sampling heap plus buffers every 8 chunks; returns the summary and the peak growth. */
async function sampledSummary(
  path: string,
  options: SummarizeOptions,
): Promise<{ summary: CaptureSummary; peak: number }> {
  global.gc?.();
  const before = process.memoryUsage();
  let peak = 0;
  let chunks = 0;
  async function* sampled(): AsyncGenerator<Uint8Array> {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      if (++chunks % 4 === 0) {
        const m = process.memoryUsage();
        peak = Math.max(peak, m.heapUsed + m.arrayBuffers - before.heapUsed - before.arrayBuffers);
      }
      yield chunk as Buffer;
    }
  }
  const summary = await summarizeStream(sampled(), options);
  return { summary, peak };
}

describe('summarizeStream on a SYN flood', () => {
  const SOURCES = 300_000;
  const TABLE = 2048;
  let dir: string;
  let path: string;
  let truth: FloodTruth;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcap-flood-'));
    path = join(dir, 'flood.pcap');
    truth = await writeSynFlood(path, SOURCES, 5, 600);
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps its table at the set size with the heavy flows exact, and counts every unanswered SYN', async () => {
    const { summary, peak } = await sampledSummary(path, { conversationTableSize: TABLE });
    expect(summary.conversations).toHaveLength(TABLE);
    expect(summary.conversationsTruncated).toBe(true);
    expect(summary.conversations.slice(0, 5).map((c) => [c.a, c.b, c.packets, c.bytes, c.estimated])).toEqual(
      truth.heavy.map((h) => [h.a, h.b, h.packets, h.bytes, undefined]),
    );
    const listed = summary.conversations.reduce((n, c) => n + c.packets, 0);
    expect(listed + summary.otherConversations!.packets).toBe(summary.packets);
    expect(summary.signals[0]).toMatchObject({ kind: 'syn-flood', count: SOURCES, severity: 'critical' });
    expect(summary.signals[0]!.targets).toEqual([{ name: truth.target, count: SOURCES }]);
    expect(Math.abs(summary.conversationsTotal! - truth.conversations) / truth.conversations).toBeLessThan(
      0.02,
    );
    expect(summary.connStates).toEqual({ S0: SOURCES, S1: 5 });
    // Fixed tables: a few MiB of state whatever the number of sources (the exact mode below needs far more).
    expect(peak).toBeLessThan(40 * 1024 * 1024);
  }, 60_000);

  it('grows with the sources only when asked to keep every conversation', async () => {
    const bounded = await sampledSummary(path, { conversationTableSize: TABLE, listConversations: 10 });
    const exact = await sampledSummary(path, { conversationTableSize: Infinity, listConversations: 10 });
    expect(exact.summary.conversationsTotal).toBe(truth.conversations);
    expect(exact.summary.conversationsTotalEstimated).toBe(false);
    expect(exact.summary.conversations).toHaveLength(10);
    expect(bounded.summary.conversations).toHaveLength(10);
    expect(exact.peak).toBeGreaterThan(3 * bounded.peak);
  }, 60_000);

  it('stays within the default table, as the poller summarizes, however many sources', async () => {
    const { summary, peak } = await sampledSummary(path, { listConversations: 10 });
    expect(summary.conversations).toHaveLength(10);
    expect(summary.otherConversations!.conversations).toBeGreaterThan(
      SOURCES - DEFAULT_CONVERSATION_TABLE_SIZE,
    );
    expect(summary.conversationsTotalEstimated).toBe(true);
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});
