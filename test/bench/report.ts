/**
 * Benchmark of the capture report: `npx tsx test/bench/report.ts` (or `npm run bench -- report`).
 *
 * Prints the report's size and time for: the generated report capture (public peers), a 200 MB capture of 5,000
 * TCP conversations with public peers over 20 minutes (generated once into the temp dir: one pass for summary,
 * timeline and SHA-256, then the render alone), and summaries of 20,000 and 100,000 conversations (what a 1 GB capture's summary holds at
 * most once the conversation table is bounded): the render alone, which is what the report adds to the poller.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { summarizeStream } from '../../src/pcap/summarizeStream.js';
import { TimelineBuilder } from '../../src/pcap/TimelineBuilder.js';
import type { CaptureSummary } from '../../src/pcap/types.js';
import { defaultRenderOptions, makeReport } from '../../src/report/makeReport.js';
import { renderReport } from '../../src/report/renderReport.js';
import type { ReportInput } from '../../src/report/types.js';
import { ACK, PSH, SYN, tcpPacket, writePcap } from '../unit/pcap/captureWriter.js';
import { reportCapture } from '../unit/report/reportCapture.js';
import { syntheticSummary } from '../unit/report/syntheticSummary.js';

/** Writes a ~200 MB pcap: 5,000 client connections to public peers, 1,400-byte segments, over 20 minutes. */
async function writeBusyCapture(path: string): Promise<void> {
  const out = createWriteStream(`${path}.part`);
  const t0 = 1_780_000_000;
  let written = 0;
  for (let batch = 0; written < 200e6; batch++) {
    const packets = [];
    for (let i = 0; i < 1000; i++) {
      const n = batch * 1000 + i;
      const c = n % 5000;
      const peer = `${20 + (c % 180)}.${(c * 7) % 256}.${(c * 13) % 256}.${1 + (c % 250)}`;
      const time = t0 + (n / 140_000) * 1200;
      const seq = 1 + Math.floor(n / 5000) * 1400;
      packets.push({
        time,
        data:
          n < 5000
            ? tcpPacket('10.0.0.4', 20000 + c, peer, 443, 0, 0, SYN)
            : tcpPacket(peer, 443, '10.0.0.4', 20000 + c, seq, 1, PSH | ACK, 1400),
      });
    }
    const chunk = writePcap(packets);
    const body = batch === 0 ? chunk : chunk.subarray(24);
    written += body.length;
    if (!out.write(body)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(`${path}.part`, path);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median wall time of `runs` renders, in ms, and the size of the page. */
function timeRender(input: ReportInput, runs = 5): { ms: number; bytes: number } {
  const options = defaultRenderOptions();
  let html = '';
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    html = renderReport(input, options);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { ms: median(times), bytes: Buffer.byteLength(html) };
}

function line(name: string, conversations: number, r: { ms: number; bytes: number }, extra = ''): void {
  process.stdout.write(
    `${name.padEnd(44)} ${String(conversations).padStart(8)} conv  ${(r.bytes / 1e6).toFixed(2).padStart(6)} MB  ` +
      `render ${r.ms.toFixed(0).padStart(5)} ms${extra}\n`,
  );
}

async function main(): Promise<void> {
  const loadStart = process.hrtime.bigint();
  defaultRenderOptions();
  process.stdout.write(
    `geo databases and map loaded in ${(Number(process.hrtime.bigint() - loadStart) / 1e6).toFixed(0)} ms (once per process)\n`,
  );

  const demo = reportCapture();
  const made = await makeReport(Readable.from([demo]), { fileName: 'report-capture.pcap' });
  const builder = new TimelineBuilder();
  const demoSummary = await summarizeStream(Readable.from([demo]), { onPacket: (p) => builder.add(p) });
  line(
    'report capture (8.8.8.8, 168.63.129.16, Azure)',
    made.summary.conversations.length,
    timeRender({ summary: demoSummary, timeline: builder.finish()!, capture: { fileName: 'r.pcap' } }),
  );

  const file = join(tmpdir(), 'alert-capture-report-bench-200MB.pcap');
  if (!existsSync(file)) {
    process.stdout.write(`generating ${file} ...\n`);
    await writeBusyCapture(file);
  }
  {
    const size = (await stat(file)).size;
    const start = process.hrtime.bigint();
    const whole = await makeReport(createReadStream(file, { highWaterMark: 1 << 20 }), {
      fileName: 'bench.pcap',
    });
    const passMs = Number(process.hrtime.bigint() - start) / 1e6;
    const timeline = new TimelineBuilder();
    const summary: CaptureSummary = await summarizeStream(
      createReadStream(file, { highWaterMark: 1 << 20 }),
      {
        onPacket: (p) => timeline.add(p),
      },
    );
    line(
      `busy capture (${(size / 1e6).toFixed(0)} MB)`,
      whole.summary.conversations.length,
      timeRender({ summary, timeline: timeline.finish()!, capture: { fileName: 'bench.pcap' } }, 3),
      `  (read+summary+timeline+hash+render ${(passMs / 1000).toFixed(1)} s, ${(size / 1e6 / (passMs / 1000)).toFixed(0)} MB/s)`,
    );
  }

  // The summary bench's captures (test/bench/pcap.ts writes them first when the whole bench runs).
  for (const name of [
    'mixed-200MB.pcap',
    'many-1M-packets-600k-conversations.pcap',
    'syn-flood-1M-sources.pcap',
  ]) {
    const bench = join(process.cwd(), '.cache', 'bench', name);
    if (!existsSync(bench)) {
      process.stdout.write(`${name}: not in .cache/bench (run npm run bench -- pcap first)\n`);
      continue;
    }
    const size = (await stat(bench)).size;
    const timeline = new TimelineBuilder();
    const started = process.hrtime.bigint();
    const summary = await summarizeStream(createReadStream(bench, { highWaterMark: 1 << 20 }), {
      onPacket: (p) => timeline.add(p),
    });
    const readMs = Number(process.hrtime.bigint() - started) / 1e6;
    line(
      `${name} (${(size / 1e6).toFixed(0)} MB)`,
      summary.conversationsTotal ?? summary.conversations.length,
      timeRender({ summary, timeline: timeline.finish()!, capture: { fileName: name } }, 3),
      `  (summary+timeline pass ${(readMs / 1000).toFixed(1)} s)`,
    );
  }

  for (const n of [20_000, 100_000])
    line(
      `synthetic summary`,
      n,
      timeRender({ summary: syntheticSummary(n), capture: { fileName: 'busy.pcap' } }),
    );
}

await main();
