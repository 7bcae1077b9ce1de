import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { concatCaptureFiles } from '../../../src/pcap/concatCaptureFiles.js';
import { CaptureFormatError } from '../../../src/pcap/CaptureFormatError.js';
import { summarizeStream } from '../../../src/pcap/summarizeStream.js';

/** A classic µs pcap file (Ethernet) of `count` UDP packets from 10.0.0.`host`, one second apart from `startSeconds`. */
function pcap(host: number, startSeconds: number, count: number, linkType = 1): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262_144, 16);
  header.writeUInt32LE(linkType, 20);
  const records = Array.from({ length: count }, (_, i) => {
    const frame = Buffer.alloc(14 + 20 + 8 + 4);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45;
    frame.writeUInt16BE(20 + 8 + 4, 16);
    frame[22] = 64;
    frame[23] = 17;
    Buffer.from([10, 0, 0, host]).copy(frame, 26);
    Buffer.from([10, 0, 0, 99]).copy(frame, 30);
    frame.writeUInt16BE(5000 + host, 34);
    frame.writeUInt16BE(53, 36);
    frame.writeUInt16BE(12, 38);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(startSeconds + i, 0);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    return Buffer.concat([record, frame]);
  });
  return Buffer.concat([header, ...records]);
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of source) out.push(chunk);
  return out;
}

/** `file` as a stream of chunks of `size` bytes (so headers straddle chunks). */
function chunks(file: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let at = 0; at < file.length; at += size) parts.push(file.subarray(at, at + size));
  return Readable.from(parts);
}

describe('concatCaptureFiles', () => {
  it('joins ring files into one capture, dropping each next global header even split across chunks', async () => {
    const files = [pcap(1, 1000, 3), pcap(2, 1003, 4), pcap(3, 1007, 2)];
    const joined = Buffer.concat(
      await collect(concatCaptureFiles(files.length, (i) => Promise.resolve(chunks(files[i]!, 7)))),
    );
    expect(joined.length).toBe(files.reduce((n, f) => n + f.length, 0) - 2 * 24);
    const summary = await summarizeStream(chunks(joined, 1000));
    expect(summary.partial).toBe(false);
    expect(summary.packets).toBe(9);
    expect(summary.conversations.map((c) => c.a).sort()).toEqual([
      '10.0.0.1:5001',
      '10.0.0.2:5002',
      '10.0.0.3:5003',
    ]);
  });

  it('refuses a file of another link type, and one shorter than a header', async () => {
    const mixed = [pcap(1, 1000, 1), pcap(2, 1001, 1, 101)];
    await expect(
      collect(concatCaptureFiles(2, (i) => Promise.resolve(chunks(mixed[i]!, 64)))),
    ).rejects.toBeInstanceOf(CaptureFormatError);
    const short = [pcap(1, 1000, 1), Buffer.alloc(10)];
    await expect(
      collect(concatCaptureFiles(2, (i) => Promise.resolve(chunks(short[i]!, 64)))),
    ).rejects.toThrow(/shorter than a capture file header/);
  });
});
