/**
 * Benchmark of the capture summary: `npm run bench -- pcap` (or `npx tsx test/bench/pcap.ts`).
 *
 * Generates once, cached under `.cache/bench/` in the repository (`npm run clean` removes it), three captures:
 * a ~200 MB mix of TCP conversations, DNS-like UDP and ICMP; 1,000,000 packets in 600,000 conversations; and a
 * SYN flood from 1,000,000 sources holding 5 heavy flows. It builds the CLI as `npm run build` does (into
 * `.cache/bench/dist`, since `alert-capture` is the compiled `dist/src/cli/main.js`), then runs for each file, in
 * child processes, side by side: `alert-capture summarize <file> --json` and `tshark -q -n -z conv,ip`, and prints
 * wall time, MB/s
 * and peak RSS (GNU time), then checks the flood summary against the generator's truth (heavy flows exact and on
 * top, the unanswered-SYN count, `conversationsTotal` within 2 %) and prints what it found.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaptureSummary } from '../../src/pcap/types.js';
import { random, writeManyConversations, writeSynFlood, type FloodTruth } from '../unit/pcap/floodCapture.js';

const CHUNK_BYTES = 4 << 20;
const ACTIVE_CONVERSATIONS = 2000;

interface Slot {
  client: number;
  server: number;
  clientPort: number;
  serverPort: number;
  clientSeq: number;
  serverSeq: number;
  step: number;
  dataPackets: number;
}

/**
 * Writes realistic-looking Ethernet/IPv4 traffic as pcap records into 4 MiB chunks: interleaved TCP conversations
 * (handshake, data both ways, close, sometimes a reset), DNS-like UDP and ICMP echo.
 */
function* generate(totalBytes: number): Generator<Buffer> {
  const rand = random(42);
  let conversations = 0;
  const newSlot = (): Slot => {
    conversations++;
    return {
      client: (0x0a000000 | ((conversations * 7919) % 0xffffff)) >>> 0,
      server: (0xac100000 | Math.floor(rand() * 200)) >>> 0,
      clientPort: 1024 + Math.floor(rand() * 60000),
      serverPort: [443, 80, 8443, 5432, 6379][Math.floor(rand() * 5)]!,
      clientSeq: Math.floor(rand() * 0xffffffff),
      serverSeq: Math.floor(rand() * 0xffffffff),
      step: 0,
      dataPackets: 2 + Math.floor(rand() * 40),
    };
  };
  const slots = Array.from({ length: ACTIVE_CONVERSATIONS }, newSlot);
  let time = 1_700_000_000 * 1e6;
  let written = 0;
  let first = true;
  while (written < totalBytes) {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let p = 0;
    if (first) {
      chunk.writeUInt32LE(0xa1b2c3d4, 0);
      chunk.writeUInt16LE(2, 4);
      chunk.writeUInt16LE(4, 6);
      chunk.writeUInt32LE(262144, 16);
      chunk.writeUInt32LE(1, 20);
      p = 24;
      first = false;
    }
    while (p + 16 + 1514 <= CHUNK_BYTES && written + p < totalBytes) {
      time += Math.floor(rand() * 40);
      const r = rand();
      let src: number,
        dst: number,
        proto: number,
        sport = 0,
        dport = 0,
        payload: number,
        flags = 0,
        seq = 0,
        ack = 0;
      if (r < 0.05) {
        src = (0x0a000000 | Math.floor(rand() * 5000)) >>> 0;
        dst = 0x0a000035;
        proto = 17;
        sport = 1024 + Math.floor(rand() * 60000);
        dport = 53;
        payload = 30 + Math.floor(rand() * 200);
      } else if (r < 0.055) {
        src = (0x0a000000 | Math.floor(rand() * 50)) >>> 0;
        dst = 0x08080808;
        proto = 1;
        payload = 56;
      } else {
        const index = Math.floor(rand() * ACTIVE_CONVERSATIONS);
        const s = slots[index]!;
        proto = 6;
        const fromClient = s.step === 0 || s.step === 2 || (s.step > 2 && rand() < 0.4);
        src = fromClient ? s.client : s.server;
        dst = fromClient ? s.server : s.client;
        sport = fromClient ? s.clientPort : s.serverPort;
        dport = fromClient ? s.serverPort : s.clientPort;
        seq = fromClient ? s.clientSeq : s.serverSeq;
        ack = fromClient ? s.serverSeq : s.clientSeq;
        payload = 0;
        if (s.step === 0) flags = 0x02;
        else if (s.step === 1) flags = 0x12;
        else if (s.step === 2) flags = 0x10;
        else if (s.step < 3 + s.dataPackets) {
          flags = 0x18;
          payload = rand() < 0.5 ? 1448 : Math.floor(rand() * 1448);
        } else flags = rand() < 0.1 ? 0x14 : 0x11;
        if (s.step <= 1) {
          if (fromClient) s.clientSeq = (s.clientSeq + 1) >>> 0;
          else s.serverSeq = (s.serverSeq + 1) >>> 0;
        } else if (fromClient) s.clientSeq = (s.clientSeq + payload) >>> 0;
        else s.serverSeq = (s.serverSeq + payload) >>> 0;
        s.step++;
        if (s.step > 3 + s.dataPackets) slots[index] = newSlot();
      }
      const l4 = proto === 6 ? 20 : 8;
      const ipLength = 20 + l4 + payload;
      const frame = 14 + ipLength;
      chunk.writeUInt32LE(Math.floor(time / 1e6), p);
      chunk.writeUInt32LE(time % 1e6, p + 4);
      chunk.writeUInt32LE(frame, p + 8);
      chunk.writeUInt32LE(frame, p + 12);
      const e = p + 16;
      chunk[e + 5] = 1;
      chunk[e + 11] = 2;
      chunk.writeUInt16BE(0x0800, e + 12);
      const ip = e + 14;
      chunk[ip] = 0x45;
      chunk.writeUInt16BE(ipLength, ip + 2);
      chunk[ip + 8] = 64;
      chunk[ip + 9] = proto;
      chunk.writeUInt32BE(src, ip + 12);
      chunk.writeUInt32BE(dst, ip + 16);
      const t = ip + 20;
      if (proto === 6) {
        chunk.writeUInt16BE(sport, t);
        chunk.writeUInt16BE(dport, t + 2);
        chunk.writeUInt32BE(seq, t + 4);
        chunk.writeUInt32BE(ack, t + 8);
        chunk[t + 12] = 0x50;
        chunk[t + 13] = flags;
        chunk.writeUInt16BE(65535, t + 14);
      } else if (proto === 17) {
        chunk.writeUInt16BE(sport, t);
        chunk.writeUInt16BE(dport, t + 2);
        chunk.writeUInt16BE(8 + payload, t + 4);
      } else {
        chunk[t] = 8;
      }
      p += 16 + frame;
    }
    written += p;
    yield chunk.subarray(0, p);
  }
}

async function writeCapture(path: string, bytes: number): Promise<void> {
  const partial = `${path}.part`;
  const out = createWriteStream(partial);
  for (const chunk of generate(bytes)) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(partial, path);
}

interface Measurement {
  wallSeconds: number;
  /** User plus system CPU time (GNU time): steadier than wall time on a shared machine. */
  cpuSeconds: number | undefined;
  peakRssMiB: number | undefined;
}

/** Runs a command, its output to `stdoutFile` (or discarded); peak RSS from GNU time when present. */
async function measure(command: string, args: string[], stdoutFile?: string): Promise<Measurement> {
  const gnuTime = existsSync('/usr/bin/time');
  const start = process.hrtime.bigint();
  const child = gnuTime
    ? spawn('/usr/bin/time', ['-f', 'MAXRSS_KIB=%M CPU=%U+%S', command, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const out = stdoutFile === undefined ? undefined : createWriteStream(stdoutFile);
  if (out !== undefined) child.stdout.pipe(out);
  else child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (out !== undefined && !out.writableFinished) await once(out, 'finish');
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  // summarize exits 1 for a partial capture; anything else is a failure of the benchmark.
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  const match = /MAXRSS_KIB=(\d+) CPU=([\d.]+)\+([\d.]+)/.exec(stderr);
  return {
    wallSeconds,
    cpuSeconds: match ? Number(match[2]) + Number(match[3]) : undefined,
    peakRssMiB: match ? Number(match[1]) / 1024 : undefined,
  };
}

/** The best of `runs` measurements (least wall and least CPU time, most peak RSS). */
async function best(runs: number, run: () => Promise<Measurement>): Promise<Measurement> {
  const all: Measurement[] = [];
  for (let i = 0; i < runs; i++) all.push(await run());
  const cpu = all.map((m) => m.cpuSeconds).filter((c): c is number => c !== undefined);
  const rss = all.map((m) => m.peakRssMiB).filter((c): c is number => c !== undefined);
  return {
    wallSeconds: Math.min(...all.map((m) => m.wallSeconds)),
    cpuSeconds: cpu.length > 0 ? Math.min(...cpu) : undefined,
    peakRssMiB: rss.length > 0 ? Math.max(...rss) : undefined,
  };
}

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Runs per tool and file; the best is shown (the machine may be shared). */
const RUNS = 2;

/** Compiles the app like `npm run build`, into the bench cache; returns the CLI's entry point. */
async function buildCli(dir: string): Promise<string> {
  const outDir = join(dir, 'dist');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await measure(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir]);
  return join(outDir, 'src', 'cli', 'main.js');
}

function row(cells: string[]): string {
  const widths = [36, 7, 7, 7, 9, 9, 20];
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
}

const rss = (m: Measurement | undefined): string =>
  m?.peakRssMiB === undefined ? 'n/a' : m.peakRssMiB.toFixed(0);

async function hasTshark(): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const probe = spawn('tshark', ['--version'], { stdio: 'ignore' });
    probe.on('error', () => resolve(false));
    probe.on('exit', (code) => resolve(code === 0));
  });
}

/** What the flood summary says next to the truth. */
function checkFlood(summary: CaptureSummary, truth: FloodTruth): string[] {
  const top = summary.conversations.slice(0, truth.heavy.length);
  const exact = truth.heavy.every((h) =>
    top.some(
      (c) => c.a === h.a && c.b === h.b && c.packets === h.packets && c.bytes === h.bytes && !c.estimated,
    ),
  );
  const unanswered = summary.signals.find((s) => s.kind === 'syn-flood' || s.kind === 'unanswered-syn');
  const total = summary.conversationsTotal ?? 0;
  const error = (100 * (total - truth.conversations)) / truth.conversations;
  return [
    `flood check: ${truth.heavy.length} heavy flows exactly on top with exact packets and bytes: ${exact ? 'yes' : 'NO'}`,
    `flood check: ${unanswered?.kind ?? 'no signal'} count ${unanswered?.count ?? 0} (truth ${truth.floodSources}), ` +
      `severity ${unanswered?.severity ?? '-'}`,
    `flood check: conversationsTotal ${total} (estimated: ${summary.conversationsTotalEstimated}) vs truth ` +
      `${truth.conversations}: ${error >= 0 ? '+' : ''}${error.toFixed(2)} %; listed ${summary.conversations.length}`,
  ];
}

async function main(): Promise<void> {
  const dir = join(root, '.cache', 'bench');
  await mkdir(dir, { recursive: true });
  const mixed = join(dir, 'mixed-200MB.pcap');
  if (!existsSync(mixed)) {
    process.stdout.write(`generating ${mixed} ...\n`);
    await writeCapture(mixed, 200 * 1024 * 1024);
  }
  const many = join(dir, 'many-1M-packets-600k-conversations.pcap');
  if (!existsSync(many)) {
    process.stdout.write(`generating ${many} ...\n`);
    await writeManyConversations(many, 200_000, 400_000);
  }
  const flood = join(dir, 'syn-flood-1M-sources.pcap');
  const truthFile = `${flood}.truth.json`;
  if (!existsSync(flood) || !existsSync(truthFile)) {
    process.stdout.write(`generating ${flood} ...\n`);
    await writeFile(truthFile, JSON.stringify(await writeSynFlood(flood, 1_000_000)));
  }
  const truth = JSON.parse(await readFile(truthFile, 'utf8')) as FloodTruth;
  const cli = await buildCli(dir);
  const tshark = await hasTshark();
  const lines = [
    '',
    `best of ${RUNS} runs each; "MB/s cpu" is file size / (user + system CPU time), steadier on a shared machine`,
    row(['capture / tool', 'wall s', 'cpu s', 'MB/s', 'MB/s cpu', 'peak MiB', 'x tshark']),
  ];
  const notes: string[] = [];
  for (const [label, file] of [
    ['mixed 200 MB', mixed],
    ['1M packets, 600k conversations', many],
    ['SYN flood, 1M sources + 5 heavy flows', flood],
  ] as const) {
    const mb = (await stat(file)).size / 1e6;
    const json = join(dir, `${label.replace(/\W+/g, '-')}.json`);
    const ours = await best(RUNS, () => measure(process.execPath, [cli, 'summarize', file, '--json'], json));
    const theirs = tshark
      ? await best(RUNS, () => measure('tshark', ['-q', '-n', '-z', 'conv,ip', '-r', file]))
      : undefined;
    const cpu = (m: Measurement): string => (m.cpuSeconds === undefined ? 'n/a' : m.cpuSeconds.toFixed(2));
    const cpuRate = (m: Measurement): string =>
      m.cpuSeconds === undefined ? 'n/a' : (mb / m.cpuSeconds).toFixed(1);
    const ratio =
      theirs === undefined
        ? 'n/a'
        : theirs.cpuSeconds !== undefined && ours.cpuSeconds !== undefined
          ? `${(theirs.cpuSeconds / ours.cpuSeconds).toFixed(1)} cpu, ${(theirs.wallSeconds / ours.wallSeconds).toFixed(1)} wall`
          : `${(theirs.wallSeconds / ours.wallSeconds).toFixed(1)} wall`;
    lines.push(`${label} (${mb.toFixed(1)} MB, ${file.slice(root.length)})`);
    lines.push(
      row([
        '  alert-capture summarize --json',
        ours.wallSeconds.toFixed(2),
        cpu(ours),
        (mb / ours.wallSeconds).toFixed(1),
        cpuRate(ours),
        rss(ours),
        ratio,
      ]),
    );
    lines.push(
      theirs === undefined
        ? row(['  tshark -q -n -z conv,ip', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', ''])
        : row([
            '  tshark -q -n -z conv,ip',
            theirs.wallSeconds.toFixed(2),
            cpu(theirs),
            (mb / theirs.wallSeconds).toFixed(1),
            cpuRate(theirs),
            rss(theirs),
            '',
          ]),
    );
    if (file === flood)
      notes.push(...checkFlood(JSON.parse(await readFile(json, 'utf8')) as CaptureSummary, truth));
  }
  process.stdout.write([...lines, '', ...notes, ''].join('\n'));
}

await main();
