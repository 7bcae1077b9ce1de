/**
 * Benchmark of the capture poller: `npx tsx test/bench/poller.ts` (or `npm run bench -- poller`).
 *
 * 1. ARM requests per poller tick with 0, 1 and 20 running captures (counted in the emulator's request log around
 *    one tick of the real timer handler).
 * 2. The wall time of a tick over 20 running captures at 100 ms per ARM request, with the configured
 *    POLL_CONCURRENCY (default 8), and for comparison with concurrency 1 and 20.
 *
 * It prints figures and never asserts timings.
 */
import { performance } from 'node:perf_hooks';
import type { RequestLogEntry } from '../emulator/types.js';
import {
  firedAlert,
  median,
  printTable,
  shortPath,
  startBenchApp,
  vmId,
  type BenchApp,
} from './support/benchApp.js';
import { runBenchWorker, type EmulatorClient } from './support/benchProcess.js';

const REGION = 'westeurope';
/**
 * Emulated seconds per real second: queryStatus' operation (1 emulated s, the emulator's choice) is done by the
 * poller's first poll, so a tick measures ARM round trips; a 3600 s capture still runs 36 real seconds, longer
 * than the ticks measured here.
 */
const TIME_SCALE = 100;
const CAPTURE_SECONDS = 3600;
const LATENCY_IN_MS = 100;
const ACTIVE = 20;
const TIMED_TICKS = 5;

await runBenchWorker(import.meta.url, { timeScale: TIME_SCALE, latencyInMs: 0 }, async (services) => {
  const { emulator } = services;
  const vms = Array.from({ length: ACTIVE }, (_, i) => vmId(`poll-${String(i + 1).padStart(2, '0')}`));
  for (const id of vms) await emulator.registerVm({ id, location: REGION });

  const settings = {
    CAPTURE_SESSION_BUDGET: '100',
    CAPTURE_TIME_LIMIT_SECONDS: String(CAPTURE_SECONDS),
    CAPTURE_MAX_TIME_LIMIT_SECONDS: String(CAPTURE_SECONDS),
  };
  const app = await startBenchApp(services, settings);
  const extra: BenchApp[] = [];
  try {
    console.log(`\n## ARM requests per poller tick (emulator latency 0 ms, time scale ${TIME_SCALE}×)`);
    const counts: Array<[string, number, string]> = [];
    const idle = await tickRequests(app, emulator);
    counts.push(['0', idle.length, describe(idle)]);

    await startCaptures(app, vms.slice(0, 1));
    await waitRunning(emulator, 1);
    const one = await tickRequests(app, emulator);
    counts.push(['1', one.length, describe(one)]);

    await startCaptures(app, vms.slice(1));
    await waitRunning(emulator, ACTIVE);
    const many = await tickRequests(app, emulator);
    counts.push([String(ACTIVE), many.length, describe(many)]);
    printTable([['running captures', 'ARM requests in one tick', 'requests'], ...counts]);
    console.log(
      `Active records in the ledger after these ticks: ${(await app.ctx.ledger.listActive()).length}`,
    );

    await emulator.configure({ latencyInMs: LATENCY_IN_MS });
    const configured = app.ctx.config.pollConcurrency;
    console.log(
      `\n## Poller tick wall time, ${ACTIVE} running captures, emulator latency ${LATENCY_IN_MS} ms per ARM request (${TIMED_TICKS} ticks each)`,
    );
    const rows: Array<Array<string | number>> = [
      ['POLL_CONCURRENCY', 'median ms', 'min ms', 'max ms', 'ARM requests/tick (median)'],
    ];
    const timed = async (label: string, target: BenchApp, ticks: number) => {
      const times: number[] = [];
      const requests: number[] = [];
      for (let i = 0; i < ticks; i++) {
        const from = Date.now();
        const t = performance.now();
        await target.tick();
        times.push(performance.now() - t);
        requests.push((await emulator.requests()).filter((r) => r.startedAt >= from).length);
      }
      rows.push([
        label,
        Math.round(median(times)),
        Math.round(Math.min(...times)),
        Math.round(Math.max(...times)),
        median(requests),
      ]);
    };
    await timed(`${configured} (configured${configured === 8 ? ', default' : ''})`, app, TIMED_TICKS);
    // The same ledger and captures seen by instances configured otherwise, for scale.
    for (const concurrency of [1, ACTIVE]) {
      if (concurrency === configured) continue;
      const other = await startBenchApp(services, {
        ...settings,
        LEDGER_TABLE_NAME: app.ctx.config.ledger.tableName,
        POLL_CONCURRENCY: String(concurrency),
      });
      extra.push(other);
      await timed(String(concurrency), other, concurrency === 1 ? 2 : TIMED_TICKS);
    }
    printTable(rows);
    const statuses = new Map<string, number>();
    for (const c of await emulator.captures()) statuses.set(c.status, (statuses.get(c.status) ?? 0) + 1);
    console.log(
      `Captures in the emulator afterwards: ${[...statuses].map(([s, n]) => `${n} ${s}`).join(', ')}; ` +
        `active ledger records: ${(await app.ctx.ledger.listActive()).length}.`,
    );
    console.log(
      'Notes: each running capture costs one queryStatus (POST, 202 + Location) and one poll of its operation (the ' +
        'SDK polls at once; updateIntervalInMs 250 only spaces later polls), so a tick is about ' +
        'ceil(captures / concurrency) × 2 × latency plus ledger reads and writes. Emulated operations are compressed ' +
        `(time scale ${TIME_SCALE}×): where Azure's queryStatus operation takes longer, each extra poll adds 250 ms ` +
        'plus a round trip. The concurrency-1 row is 2 ticks (it is the slow one).',
    );
  } finally {
    await Promise.all([app.stop(), ...extra.map((a) => a.stop())]);
  }
});

/** One tick through the timer handler; the ARM requests it made. */
async function tickRequests(app: BenchApp, emulator: EmulatorClient): Promise<RequestLogEntry[]> {
  const from = Date.now();
  await app.tick();
  return (await emulator.requests()).filter((r) => r.startedAt >= from);
}

async function startCaptures(app: BenchApp, vms: readonly string[]): Promise<void> {
  for (const vm of vms) {
    const answer = await app.post(firedAlert(vm));
    if (answer.body.outcome !== 'started')
      throw new Error(`alert on ${vm} answered ${answer.status} ${answer.body.outcome ?? '?'}`);
  }
}

/** Waits until the emulator shows `count` captures Running (they start 2 emulated seconds after the PUT). */
async function waitRunning(emulator: EmulatorClient, count: number): Promise<void> {
  const until = Date.now() + 15_000;
  while ((await emulator.captures()).filter((c) => c.status === 'Running').length < count) {
    if (Date.now() > until) throw new Error(`fewer than ${count} captures reached Running`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** "20× POST …/queryStatus, 20× GET …/operationResults/{id}": the requests of a tick by kind. */
function describe(requests: readonly RequestLogEntry[]): string {
  if (requests.length === 0) return 'none';
  const kinds = new Map<string, number>();
  for (const r of requests) {
    const kind = `${r.method} ${shortPath(r.path)
      .replace(/.*\/networkWatchers\/[^/]+/i, '…')
      .replace(/\/packetCaptures\/[^/]+/i, '/packetCaptures/{name}')}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].map(([k, n]) => `${n}× ${k}`).join(', ');
}
