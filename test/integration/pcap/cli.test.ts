import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/runCli.js';
import { DEFAULT_CONVERSATION_TABLE_SIZE } from '../../../src/pcap/SummaryBuilder.js';
import type { CaptureSummary } from '../../../src/pcap/types.js';
import {
  ACK,
  SYN,
  ipv4Packet,
  ipv6Packet,
  tcpSegment,
  udpDatagram,
  writePcap,
} from '../../unit/pcap/captureWriter.js';
import { writeSynFlood } from '../../unit/pcap/floodCapture.js';

const T0 = 1_700_000_000;

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const parts: Buffer[] = [];
  stream.on('data', (d: Buffer) => parts.push(d));
  return { stream, text: () => Buffer.concat(parts).toString('utf8') };
}

async function cli(
  argv: string[],
  stdinBytes?: Buffer,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = collect();
  const err = collect();
  const stdin = Readable.from(stdinBytes === undefined ? [] : [stdinBytes]);
  const code = await runCli(argv, { stdout: out.stream, stderr: err.stream, stdin });
  return { code, stdout: out.text(), stderr: err.text() };
}

const capture = writePcap([
  {
    time: T0,
    data: ipv4Packet({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      protocol: 6,
      payload: tcpSegment(40000, 443, 1, 0, SYN),
    }),
  },
  {
    time: T0 + 0.01,
    data: ipv4Packet({
      src: '10.0.0.2',
      dst: '10.0.0.1',
      protocol: 6,
      payload: tcpSegment(443, 40000, 9, 2, SYN | ACK),
    }),
  },
  {
    time: T0 + 0.02,
    data: ipv4Packet({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      protocol: 6,
      payload: tcpSegment(40000, 443, 2, 10, ACK, Buffer.alloc(900)),
    }),
  },
  {
    time: T0 + 0.03,
    data: ipv4Packet({
      src: '10.0.0.1',
      dst: '10.0.0.53',
      protocol: 17,
      payload: udpDatagram(5353, 53, Buffer.alloc(30)),
    }),
  },
  {
    time: T0 + 0.04,
    data: ipv4Packet({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      protocol: 1,
      payload: Buffer.from([8, 0, 0, 0, 0, 1, 0, 1]),
    }),
  },
  {
    time: T0 + 0.05,
    data: ipv6Packet(
      Buffer.from('fd000000000000000000000000000001', 'hex'),
      Buffer.from('fd000000000000000000000000000002', 'hex'),
      58,
      Buffer.from([128, 0, 0, 0, 0, 1, 0, 1]),
    ),
  },
]);

describe('alert-capture summarize', () => {
  let dir: string;
  let file: string;
  let cut: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcap-cli-'));
    file = join(dir, 'capture.pcap');
    cut = join(dir, 'cut.pcap');
    await writeFile(file, capture);
    await writeFile(cut, capture.subarray(0, capture.length - 7));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints totals, the protocol mix and the top conversation as text', async () => {
    const { code, stdout, stderr } = await cli(['summarize', file]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('6 packets');
    expect(stdout).toMatch(/Protocols:\n\s+tcp/);
    // The handshake completed and nobody closed: Zeek's S1.
    expect(stdout).toMatch(/tcp\s+10\.0\.0\.1:40000\s+10\.0\.0\.2:443\s+S1\s+3\s/);
    expect(stdout).toContain('Top conversations (4 of 4, by bytes)');
    expect(stdout).toContain('Connection states (Zeek conn_state): S0 1, S1 1');
    expect(stdout).toContain('Signals: none');
  });

  it('prints one JSON object with every conversation and the documented endpoint formats', async () => {
    const { code, stdout } = await cli(['summarize', file, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as CaptureSummary;
    expect(summary.packets).toBe(6);
    expect(summary.bytes).toBe(capture.length - 24 - 6 * 16);
    expect(summary.protocols.map((p) => p.protocol).sort()).toEqual(['icmp', 'icmpv6', 'tcp', 'udp']);
    expect(summary.conversations.map((c) => [c.protocol, c.a, c.b])).toEqual(
      expect.arrayContaining([
        ['tcp', '10.0.0.1:40000', '10.0.0.2:443'],
        ['udp', '10.0.0.1:5353', '10.0.0.53:53'],
        ['icmp', '10.0.0.1', '10.0.0.2'],
        ['icmpv6', 'fd00::1', 'fd00::2'],
      ]),
    );
    expect(summary.conversations).toHaveLength(4);
  });

  it('keeps the heavy hitters past the table size, and every conversation with --all-conversations', async () => {
    const flood = join(dir, 'flood.pcap');
    const truth = await writeSynFlood(flood, DEFAULT_CONVERSATION_TABLE_SIZE + 3000, 2, 200);
    const bounded = JSON.parse((await cli(['summarize', flood, '--json'])).stdout) as CaptureSummary;
    expect(bounded.conversations).toHaveLength(DEFAULT_CONVERSATION_TABLE_SIZE);
    expect(bounded.conversationsTruncated).toBe(true);
    expect(bounded.conversationsTotalEstimated).toBe(true);
    expect(Math.abs(bounded.conversationsTotal! - truth.conversations) / truth.conversations).toBeLessThan(
      0.02,
    );
    expect(
      bounded.otherConversations!.packets + bounded.conversations.reduce((n, c) => n + c.packets, 0),
    ).toBe(bounded.packets);
    const all = JSON.parse(
      (await cli(['summarize', flood, '--json', '--all-conversations'])).stdout,
    ) as CaptureSummary;
    expect(all.conversations).toHaveLength(truth.conversations);
    expect(all.conversationsTotal).toBe(truth.conversations);
    expect(all.conversationsTruncated).toBe(false);
    expect(all.otherConversations).toBeUndefined();
    for (const s of [bounded, all]) {
      expect(s.conversations.slice(0, 2).map((c) => [c.a, c.b, c.packets, c.bytes, c.estimated])).toEqual(
        truth.heavy.map((h) => [h.a, h.b, h.packets, h.bytes, undefined]),
      );
    }
  }, 60_000);

  it('reads standard input for -', async () => {
    const { code, stdout } = await cli(['summarize', '-', '--json'], capture);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as CaptureSummary).packets).toBe(6);
  });

  it('exits 1 on a cut file, still printing what it read, with the error on stderr', async () => {
    const { code, stdout, stderr } = await cli(['summarize', cut, '--json']);
    expect(code).toBe(1);
    const summary = JSON.parse(stdout) as CaptureSummary;
    expect(summary).toMatchObject({ partial: true, packets: 5 });
    expect(stderr).toMatch(/cut\.pcap: file ends inside a packet record .* byte offset \d+/);
  });

  it('exits 2 (invalid input) on garbage from standard input, saying so once and printing no summary', async () => {
    const { code, stdout, stderr } = await cli(
      ['summarize', '-'],
      Buffer.from('garbage that is not a capture'),
    );
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'alert-capture: standard input is not a pcap or pcapng file (starts with 67 61 72 62, "garb")\n',
    );
  });

  it('exits 2 (invalid input) on a file that is not a capture, naming it', async () => {
    const text = join(dir, 'notes.txt');
    await writeFile(text, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14]));
    const empty = join(dir, 'empty.pcap');
    await writeFile(empty, '');
    expect(await cli(['summarize', text])).toEqual({
      code: 2,
      stdout: '',
      stderr: `alert-capture: ${text} is not a pcap or pcapng file (starts with 50 4b 03 04)\n`,
    });
    expect((await cli(['summarize', empty])).stderr).toBe(
      `alert-capture: ${empty} is not a pcap or pcapng file (it is empty)\n`,
    );
  });

  it('reads a capture from standard input in small chunks, the first bytes included', async () => {
    const out = collect();
    const err = collect();
    const chunks = [...capture].map((b) => Buffer.from([b]));
    const code = await runCli(['summarize', '-', '--json'], {
      stdout: out.stream,
      stderr: err.stream,
      stdin: Readable.from(chunks),
    });
    expect(code).toBe(0);
    expect((JSON.parse(out.text()) as CaptureSummary).packets).toBe(6);
  });

  it('exits 2 with the usage for a missing file argument', async () => {
    const { code, stderr, stdout } = await cli(['summarize']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/missing capture file[\s\S]*Usage: alert-capture summarize/);
  });

  it('exits 2 for an unknown command', async () => {
    const { code, stderr } = await cli(['explode', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command explode');
  });

  it('exits 2 for an unknown option', async () => {
    expect((await cli(['summarize', file, '--yaml'])).code).toBe(2);
  });

  it('exits 3 for a file that does not exist, with a plain message', async () => {
    const missing = join(dir, 'nope.pcap');
    expect(await cli(['summarize', missing])).toEqual({
      code: 3,
      stdout: '',
      stderr: `alert-capture: no such file: ${missing}\n`,
    });
  });

  it('says why it cannot read a file that exists but cannot be opened', async () => {
    const { code, stderr } = await cli(['summarize', join(dir, 'x'.repeat(300))]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^alert-capture: cannot read .*ENAMETOOLONG/);
  });

  it('tells how to build it when the command runs before npm run build', async () => {
    // The package's bin stub, alone in a folder with no dist/ beside it: as after `npm run clean`.
    await mkdir(join(dir, 'bin'));
    await copyFile(
      fileURLToPath(new URL('../../../bin/alert-capture.js', import.meta.url)),
      join(dir, 'bin/x.js'),
    );
    await writeFile(join(dir, 'package.json'), '{"type":"module"}');
    const run = spawnSync(process.execPath, [join(dir, 'bin/x.js'), 'summarize', file], { encoding: 'utf8' });
    expect(run.status).toBe(127);
    expect(run.stderr).toContain('not built yet: run `npm run build` first');
  });

  it('exits 2 for a directory', async () => {
    expect(await cli(['summarize', dir])).toMatchObject({
      code: 2,
      stderr: `alert-capture: ${dir} is not a file\n`,
    });
  });

  it('prints the usage for --help and exits 0', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: alert-capture summarize');
  });
});
