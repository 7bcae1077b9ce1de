/**
 * Benchmark of the capture poller: `npx tsx test/bench/poller.ts` (or `npm run bench -- poller`).
 *
 * 1. Table requests of an idle tick (nothing active) with 0 and with 10 000 historical records in the ledger,
 *    counted by a pipeline policy on the ledger's Table client (the first tick of an instance also runs the hourly
 *    retention sweep: shown apart).
 * 2. ARM requests over the life of one 300 s capture that ends normally (Retry-After 10 s on every long-running
 *    operation, file uploaded 10 s after the stop), from the webhook's PUT to the notification, with a tick every
 *    30 emulated seconds (the emulated clock runs 60×, the app is told so with LOCAL_TIME_SCALE).
 * 3. The wall time of one tick with 20 and 500 running captures, Retry-After 10 s (real), at the default
 *    POLL_CONCURRENCY: when none is due (before their expected end) and when all are (just after it).
 * 4. Table and ARM requests per tick with 1 and 10 ring VMs (issue 15), a tick every 30 emulated seconds through
 *    a re-arm (session 1200 s, lead 120 s, RING_STATUS_CHECK_SECONDS 300), with the emulator answering queryStatus
 *    202 (Retry-After 10 s, as ARM does) and instantly: the steady ticks and the ticks that re-arm. ARM requests
 *    are split as ARM counts them against its hourly limits: reads (GET) and writes (PUT, POST; DELETE apart).
 *
 * It prints figures and never asserts timings.
 */
import { performance } from 'node:perf_hooks';
import { TableClient, type TableTransaction } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { pollCaptures } from '../../src/captures/pollCaptures.js';
import { CaptureLedger } from '../../src/ledger/CaptureLedger.js';
import { toCaptureEntity } from '../../src/ledger/captureRecord.js';
import { silentLogger } from '../../src/logger.js';
import { firedAlert, median, printTable, startBenchApp, vmId, SUB_ID } from './support/benchApp.js';
import { runBenchWorker, type BenchServices } from './support/benchProcess.js';

const REGION = 'westeurope';

await runBenchWorker(import.meta.url, { timeScale: 1, latencyInMs: 0 }, async (services) => {
  await idleTickTableRequests(services);
  await captureLifeRequests(services);
  await tickWallTime(services, [20, 500]);
  await ringTickRequests(services, [1, 10]);
});

/** 1. Table requests of idle ticks, with and without history. */
async function idleTickTableRequests(services: BenchServices): Promise<void> {
  const app = await startBenchApp(services);
  try {
    const rows: Array<Array<string | number>> = [
      ['historical records', 'first tick (with retention sweep)', 'idle tick', 'requests of the idle tick'],
    ];
    for (const history of [0, 10_000]) {
      const requests: string[] = [];
      const counting: PipelinePolicy = {
        name: 'countRequests',
        sendRequest: (request, next) => {
          requests.push(`${request.method} ${new URL(request.url).pathname.split('/').pop() ?? ''}`);
          return next(request);
        },
      };
      const client = TableClient.fromConnectionString(
        services.azuriteConnectionString,
        `benchidle${history}${Date.now()}`,
        { allowInsecureConnection: true, additionalPolicies: [{ policy: counting, position: 'perCall' }] },
      );
      const ledger = new CaptureLedger(client);
      await ledger.ensureTable();
      await seedHistory(client, history);
      const deps = { ...app.ctx, ledger, logger: silentLogger };
      requests.length = 0;
      await pollCaptures(deps);
      const first = requests.length;
      requests.length = 0;
      await pollCaptures(deps);
      rows.push([history, first, requests.length, requests.join(', ')]);
    }
    console.log('\n## Table requests per idle poller tick');
    printTable(rows);
  } finally {
    await app.stop();
  }
}

async function seedHistory(client: TableClient, count: number): Promise<void> {
  const at = new Date().toISOString();
  for (let done = 0; done < count; done += 100) {
    const actions: TableTransaction['actions'] = [];
    for (let i = done; i < Math.min(count, done + 100); i++) {
      actions.push([
        'create',
        toCaptureEntity({
          alertId: `/subscriptions/${SUB_ID}/providers/Microsoft.AlertsManagement/alerts/history-${i}`,
          ruleName: 'r',
          severity: 'Sev3',
          firedAt: at,
          monitorCondition: 'Fired',
          target: vmId(`old-${i}`),
          targetKind: 'vm',
          vmName: `old-${i}`,
          subscriptionId: SUB_ID,
          state: 'notified',
          attempts: 1,
          notifyAttempts: 1,
          createdAt: at,
          updatedAt: at,
          notifiedAt: at,
        }),
      ]);
    }
    await client.submitTransaction(actions);
  }
}

/** 2. ARM requests over one 300 s capture's life. */
async function captureLifeRequests(services: BenchServices): Promise<void> {
  const { emulator } = services;
  await emulator.configure({ timeScale: 60, retryAfterSeconds: 10, uploadDelaySeconds: 10 });
  const vm = vmId('life-01');
  await emulator.registerVm({ id: vm, location: REGION });
  const app = await startBenchApp(services, {
    CAPTURE_TIME_LIMIT_SECONDS: '300',
    LOCAL_TIME_SCALE: '60',
  });
  try {
    const from = Date.now();
    const answer = await app.post(firedAlert(vm));
    const name = answer.body.captureName ?? '';
    const made = async () => (await emulator.requests()).filter((r) => r.startedAt >= from);
    const beforePut = (await made()).length;
    let ticks = 0;
    while (app.receiver.notifications().length === 0 && ticks < 40) {
      await new Promise((r) => setTimeout(r, 500)); // 30 emulated seconds
      await app.tick();
      ticks++;
    }
    const all = await made();
    const put = all.findIndex((r) => r.method === 'PUT' && r.path.endsWith(name));
    const after = all.slice(put + 1);
    console.log(`\n## ARM requests over one 300 s capture's life (Retry-After 10 s, ${ticks} ticks of 30 s)`);
    printTable([
      ['phase', 'ARM requests', 'requests'],
      [
        'webhook, before the PUT',
        beforePut - 1,
        all
          .slice(0, put)
          .map((r) => `${r.method} ${tail(r.path)}`)
          .join(', '),
      ],
      ['the PUT', 1, `PUT ${tail(all[put]?.path ?? '')}`],
      [
        'poller, PUT to notification',
        after.length,
        after.map((r) => `${r.method} ${tail(r.path)}`).join(', '),
      ],
    ]);
    console.log(
      `Notification: ${JSON.stringify((app.receiver.notifications()[0] as { type?: string })?.type)}`,
    );
  } finally {
    await app.stop();
    await emulator.configure({ timeScale: 1 });
  }
}

function tail(path: string): string {
  return path
    .split('/')
    .slice(-2)
    .join('/')
    .replace(/operationResults\/[^/]+|operations\/[^/]+/, 'operation');
}

/** 3. Tick wall time with many running captures. */
async function tickWallTime(services: BenchServices, sizes: readonly number[]): Promise<void> {
  const { emulator } = services;
  await emulator.configure({
    timeScale: 1,
    retryAfterSeconds: 10,
    uploadDelaySeconds: 10,
    sessionLimit: 10_000,
  });
  const rows: Array<Array<string | number>> = [
    ['running captures', 'tick, none due: median ms', 'ARM requests', 'tick, all due: ms', 'ARM requests'],
  ];
  for (const size of sizes) {
    let offsetInMs = 0;
    const app = await startBenchApp(
      services,
      {
        CAPTURE_SESSION_BUDGET: '1000',
        CAPTURE_TIME_LIMIT_SECONDS: '600',
        CAPTURE_MAX_TIME_LIMIT_SECONDS: '600',
      },
      { now: () => Date.now() + offsetInMs },
    );
    try {
      const vms = Array.from({ length: size }, (_, i) => vmId(`tick${size}-${i}`));
      for (const id of vms) await emulator.registerVm({ id, location: REGION });
      for (let i = 0; i < vms.length; i += 25) {
        await Promise.all(vms.slice(i, i + 25).map((id) => app.post(firedAlert(id))));
      }
      await new Promise((r) => setTimeout(r, 11_000)); // the create operations (10 s) end
      await app.tick(); // reads the create operations
      const times: number[] = [];
      let idleRequests = 0;
      for (let i = 0; i < 3; i++) {
        const from = Date.now();
        const t = performance.now();
        await app.tick();
        times.push(performance.now() - t);
        idleRequests = (await emulator.requests()).filter((r) => r.startedAt >= from).length;
      }
      offsetInMs = 601_000; // past their expected end: every one is due
      const from = Date.now();
      const t = performance.now();
      await app.tick();
      const dueTime = performance.now() - t;
      const dueRequests = (await emulator.requests()).filter((r) => r.startedAt >= from).length;
      rows.push([size, Math.round(median(times)), idleRequests, Math.round(dueTime), dueRequests]);
    } finally {
      await app.stop();
    }
  }
  console.log(
    `\n## Poller tick wall time, Retry-After 10 s, POLL_CONCURRENCY 8 (none due: median of 3 ticks; all due: one tick)`,
  );
  printTable(rows);
  console.log(
    'Notes: a capture not due costs no ARM request and no ledger read (only its active-index entry); a due one costs one queryStatus POST ' +
      '(202, Retry-After 10 s) and one ledger write: its answer is read on the next tick instead of being waited for.',
  );
}

/** 4. Table and ARM requests per tick with rings. */
async function ringTickRequests(services: BenchServices, counts: readonly number[]): Promise<void> {
  const { emulator } = services;
  const sessionSeconds = 1_200;
  const rows: Array<Array<string | number>> = [
    [
      'ring VMs',
      'queryStatus',
      'steady tick: Table',
      'ARM reads',
      'ARM writes',
      'steady ARM writes/h',
      're-arm ticks: Table (max)',
      'ARM reads (max)',
      'writes (max)',
      'deletes (max)',
    ],
  ];
  for (const retryAfterSeconds of [10, 0]) {
    await emulator.configure({
      timeScale: 1,
      retryAfterSeconds,
      uploadDelaySeconds: 0,
      captureStartSeconds: 2,
    });
    for (const count of counts) {
      const vms = Array.from({ length: count }, (_, i) =>
        vmId(`ringbench-${retryAfterSeconds}-${count}-${i}`),
      );
      for (const id of vms) await emulator.registerVm({ id, location: REGION });
      let offsetInMs = 0;
      const now = () => Date.now() + offsetInMs;
      const app = await startBenchApp(
        services,
        {
          RING_VM_IDS: vms.join(','),
          RING_SESSION_SECONDS: String(sessionSeconds),
          RING_REARM_LEAD_SECONDS: '120',
          RING_STATUS_CHECK_SECONDS: '300',
          RING_FILE_SIZE_BYTES: '65536',
          CAPTURE_SESSION_BUDGET: '1000',
        },
        { now },
      );
      const requests: string[] = [];
      const counting: PipelinePolicy = {
        name: 'countRequests',
        sendRequest: (request, next) => {
          requests.push(request.method);
          return next(request);
        },
      };
      const client = TableClient.fromConnectionString(
        services.azuriteConnectionString,
        `benchrings${retryAfterSeconds}x${count}x${Date.now()}`,
        { allowInsecureConnection: true, additionalPolicies: [{ policy: counting, position: 'perCall' }] },
      );
      const ledger = new CaptureLedger(client, { now: () => new Date(now()) });
      await ledger.ensureTable();
      const deps = { ...app.ctx, ledger, logger: silentLogger };
      await pollCaptures(deps); // the retention sweep, and the rings armed
      const steady: TickCount[] = [];
      const rearm: TickCount[] = [];
      for (let t = 0; t < sessionSeconds + 30; t += 30) {
        offsetInMs += 30_000;
        await emulator.advanceClock(30);
        const from = Date.now();
        requests.length = 0;
        const report = await pollCaptures(deps);
        const arm = (await emulator.requests()).filter((r) => r.startedAt >= from);
        const busy = (report.rings?.armed ?? 0) + (report.rings?.retired ?? 0) + report.finished > 0;
        const tick = {
          table: requests.length,
          reads: arm.filter((r) => r.method === 'GET').length,
          writes: arm.filter((r) => r.method === 'PUT' || r.method === 'POST').length,
          deletes: arm.filter((r) => r.method === 'DELETE').length,
        };
        // The first ticks follow the first generation's start: not steady yet.
        if (t >= 90) (busy ? rearm : steady).push(tick);
      }
      const steadyWrites = steady.reduce((sum, s) => sum + s.writes, 0);
      rows.push([
        count,
        retryAfterSeconds > 0 ? '202, Retry-After 10 s' : '200',
        median(steady.map((s) => s.table)),
        median(steady.map((s) => s.reads)),
        median(steady.map((s) => s.writes)),
        Math.round((steadyWrites / (steady.length * 30)) * 3_600),
        Math.max(0, ...rearm.map((s) => s.table)),
        Math.max(0, ...rearm.map((s) => s.reads)),
        Math.max(0, ...rearm.map((s) => s.writes)),
        Math.max(0, ...rearm.map((s) => s.deletes)),
      ]);
      await app.stop();
    }
  }
  console.log(
    '\n## Requests per poller tick with rings (median of steady ticks; the busiest re-arm tick; ARM writes an hour over the steady ticks)',
  );
  printTable(rows);
}

/** Requests of one tick: Table, and ARM by the limit they count against. */
interface TickCount {
  table: number;
  reads: number;
  writes: number;
  deletes: number;
}
