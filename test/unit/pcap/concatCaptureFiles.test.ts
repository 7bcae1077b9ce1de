import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { concatCaptureFiles } from '../../../src/pcap/concatCaptureFiles.js';
import { CaptureFormatError } from '../../../src/pcap/CaptureFormatError.js';
import { summarizeStream } from '../../../src/pcap/summarizeStream.js';
import { udpPcap as pcap } from './udpPcap.js';

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
