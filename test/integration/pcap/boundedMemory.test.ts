import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeStream } from '../../../src/pcap/summarizeStream.js';
import { ipv4Packet, udpDatagram, writePcap } from '../../unit/pcap/captureWriter.js';

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
    expect(peak).toBeLessThan(32 * 1024 * 1024);
  }, 60_000);
});
