/**
 * Benchmark of the webhook's fast path: `npx tsx test/bench/webhook.ts` (or `npm run bench -- webhook`).
 *
 * 1. Sequential ARM round trips between webhook receipt and the capture PUT, read from the emulator's request log,
 *    for a cold start, another VM of a known region, and a VM seen before whose capture was cleaned up.
 * 2. Webhook latency at 100 ms per ARM request over alerts on fresh VMs (warm app), side by side with a replay of the
 *    original PowerShell function's ARM sequence against the same emulator, in the same run.
 *
 * It prints figures and never asserts timings. The emulator and Azurite run in their own processes
 * (see `support/benchProcess.ts`); the app runs in this one, as the Functions host would run it.
 */
import { performance } from 'node:perf_hooks';
import { NetworkManagementClient } from '@azure/arm-network';
import { ResourceManagementClient } from '@azure/arm-resources';
import { normalizeLocation } from '../../src/azure/networkWatcherGateway.js';
import { describeArmError } from '../../src/azure/armErrors.js';
import { parseResourceId } from '../../src/azure/armId.js';
import { emulatorCredential } from '../emulator/index.js';
import type { RequestLogEntry } from '../emulator/types.js';
import {
  firedAlert,
  groupRounds,
  median,
  percentile,
  printTable,
  shortPath,
  SUB,
  SUB_ID,
  vmId,
  waitFor,
  type BenchApp,
} from './support/benchApp.js';
import { startBenchApp } from './support/benchApp.js';
import { runBenchWorker, type EmulatorClient } from './support/benchProcess.js';

const REGION = 'westeurope';
/** Emulated seconds per real second: ARM's operations (capture start 2 s, delete 1 s) finish at the first poll. */
const TIME_SCALE = 1000;
/** Latency of every ARM request while counting rounds: large enough that overlap in the log is unambiguous. */
const ROUNDS_LATENCY_IN_MS = 50;
const LATENCY_IN_MS = 100;
const ALERTS = 20;
/** The original function's single, fixed capture name (every alert reused it). */
const ORIGINAL_CAPTURE_NAME = 'PSAzureFunction';
/** The original's duration for its captures, seconds. */
const ORIGINAL_CAPTURE_SECONDS = 30;
/** The original's check before creating: only when the watcher holds fewer captures than this. */
const ORIGINAL_CAPTURE_LIMIT = 100;
/** Poll interval given to the replay's LRO pollers (the SDK's default would wait 2 s per poll). */
const REPLAY_POLL_INTERVAL_IN_MS = 10;
const STORAGE_ID = `${SUB}/resourceGroups/captures-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;

const isCapturePut = (r: RequestLogEntry) => r.method === 'PUT' && /\/packetCaptures\/[^/]+$/i.test(r.path);

await runBenchWorker(
  import.meta.url,
  { timeScale: TIME_SCALE, latencyInMs: ROUNDS_LATENCY_IN_MS },
  async (services) => {
    const { emulator } = services;
    const vms = {
      a: vmId('vm-a'),
      b: vmId('vm-b'),
      app: Array.from({ length: ALERTS + 1 }, (_, i) => vmId(`lat-app-${String(i).padStart(2, '0')}`)),
      replay: Array.from({ length: ALERTS + 1 }, (_, i) => vmId(`lat-ps-${String(i).padStart(2, '0')}`)),
    };
    for (const id of [vms.a, vms.b, ...vms.app, ...vms.replay])
      await emulator.registerVm({ id, location: REGION });
    // Other regions, so finding the right watcher is a real choice.
    await emulator.registerVm({ id: vmId('vm-east', 'east-rg'), location: 'eastus' });
    await emulator.registerVm({ id: vmId('vm-asia', 'asia-rg'), location: 'southeastasia' });

    const app = await startBenchApp(services, {
      // Room for every capture of the run: the budget is not what is measured here.
      CAPTURE_SESSION_BUDGET: '100',
      CAPTURE_TIME_LIMIT_SECONDS: '300',
    });
    try {
      await roundTrips(app, emulator, vms);
      await latency(app, emulator, vms);
    } finally {
      await app.stop();
    }
  },
);

async function roundTrips(
  app: BenchApp,
  emulator: EmulatorClient,
  vms: { a: string; b: string },
): Promise<void> {
  console.log(
    `\n## Sequential ARM round trips before the capture PUT (emulator latency ${ROUNDS_LATENCY_IN_MS} ms per request)`,
  );
  console.log('Alerts carry no region (common alert schema without targetResourceRegion).');
  const results: Array<{ label: string; rounds: number; goal: number; outcome: string }> = [];

  const measure = async (label: string, goal: number, target: string): Promise<string> => {
    const body = firedAlert(target);
    const from = Date.now();
    const answer = await app.post(body);
    const to = Date.now();
    const log = (await emulator.requests()).filter((r) => r.startedAt >= from && r.startedAt <= to);
    const put = log.find(isCapturePut);
    const before = put ? log.filter((r) => r.startedAt < put.startedAt) : log;
    const rounded = groupRounds(before);
    const rounds = rounded.reduce((n, r) => Math.max(n, r.round), 0);
    results.push({ label, rounds, goal, outcome: `${answer.status} ${answer.body.outcome ?? '?'}` });
    console.log(
      `\n### ${label}: ${rounds} round(s) before the PUT (goal ≤ ${goal}); webhook answered ${answer.status} ${answer.body.outcome ?? '?'}`,
    );
    const rows: Array<Array<string | number>> = [['round', 'start ms', 'end ms', 'method', 'status', 'path']];
    for (const r of rounded) {
      rows.push([
        String(r.round),
        r.startedAt - from,
        r.endedAt - from,
        r.method,
        r.status,
        shortPath(r.path),
      ]);
    }
    if (put)
      rows.push([
        'PUT',
        put.startedAt - from,
        put.endedAt - from,
        put.method,
        put.status,
        shortPath(put.path),
      ]);
    for (const r of log.filter((x) => put && x.startedAt > put.startedAt)) {
      rows.push(['after', r.startedAt - from, r.endedAt - from, r.method, r.status, shortPath(r.path)]);
    }
    printTable(rows);
    if (!put) console.log('(no capture PUT in this window)');
    return answer.body.alertId ?? '';
  };

  const firstAlertId = await measure('(a) first alert after start (cold caches)', 3, vms.a);
  await measure('(b) another VM of a region already seen', 3, vms.b);

  // The earlier capture of vm-a runs its course: the clock passes its time limit, the poller notifies on-call and
  // deletes the capture resource (the file stays).
  await emulator.advanceClock(300 + 5);
  const captureOfA = (await emulator.captures()).find((c) => c.target.toLowerCase() === vms.a.toLowerCase());
  let ticks = 0;
  await waitFor('the first record to be notified and its capture deleted', async () => {
    ticks++;
    await app.tick();
    const record = await app.ctx.ledger.get(firstAlertId);
    const left = (await emulator.captures()).some((c) => c.id === captureOfA?.id);
    return record?.state === 'notified' && !left;
  });
  const record = await app.ctx.ledger.get(firstAlertId);
  console.log(
    `\nLifecycle of (a) through the poller: capture ${captureOfA?.name ?? '?'} ${captureOfA ? 'ran' : 'not found'}, ` +
      `${ticks} tick(s) → record ${record?.state ?? '?'}, capture resource deleted, ` +
      `${app.receiver.notifications().length} notification(s) received.`,
  );
  await measure('(c) new alert on vm-a, whose earlier capture was cleaned up', 2, vms.a);

  console.log('\n### Summary: sequential ARM round trips before the capture PUT');
  printTable([
    ['case', 'rounds', 'goal', 'met', 'webhook answer'],
    ...results.map((r) => [r.label, r.rounds, `≤ ${r.goal}`, r.rounds <= r.goal ? 'yes' : 'NO', r.outcome]),
  ]);
}

async function latency(
  app: BenchApp,
  emulator: EmulatorClient,
  vms: { app: string[]; replay: string[] },
): Promise<void> {
  await emulator.configure({ latencyInMs: LATENCY_IN_MS });
  console.log(
    `\n## Webhook latency, emulator latency ${LATENCY_IN_MS} ms per ARM request, ${ALERTS} alerts on fresh VMs`,
  );

  const credential = emulatorCredential(emulator);
  const network = new NetworkManagementClient(credential, SUB_ID, { endpoint: emulator.url });
  const resources = new ResourceManagementClient(credential, SUB_ID, { endpoint: emulator.url });

  // Get-AzResource lists every resource of the subscription; does the emulator serve that list?
  let genericList = true;
  let genericListAnswer = '';
  try {
    for await (const r of resources.resources.list()) void r;
  } catch (e) {
    genericList = false;
    genericListAnswer = describeArmError(e);
  }

  const list = async (resourceGroup: string, watcher: string) => {
    const names: string[] = [];
    for await (const c of network.packetCaptures.list(resourceGroup, watcher)) if (c.name) names.push(c.name);
    return names;
  };

  /** The original function's sequence, one call after the other, each waiting as the cmdlets wait. */
  const replay = async (target: string, region: string): Promise<void> => {
    // $networkWatcher = Get-AzResource | Where {$_.ResourceType -eq "Microsoft.Network/networkWatchers" -and $_.Location -eq $region}
    let found: { id?: string; name?: string } | undefined;
    if (genericList) {
      for await (const r of resources.resources.list()) {
        if (
          r.type?.toLowerCase() === 'microsoft.network/networkwatchers' &&
          normalizeLocation(r.location ?? '') === region
        )
          found ??= r;
      }
    } else {
      for await (const w of network.networkWatchers.listAll()) {
        if (normalizeLocation(w.location ?? '') === region) found ??= w;
      }
    }
    const id = found?.id ? parseResourceId(found.id) : undefined;
    if (!id?.resourceGroup) throw new Error(`replay: no watcher in ${region}`);
    // $networkWatcher = Get-AzNetworkWatcher -Name ... -ResourceGroupName ...
    const watcher = await network.networkWatchers.get(id.resourceGroup, id.name);
    const resourceGroup = id.resourceGroup;
    const name = watcher.name ?? id.name;
    // $packetCaptures = Get-AzNetworkWatcherPacketCapture; remove ours if it exists (Remove-… waits for the deletion)
    if ((await list(resourceGroup, name)).includes(ORIGINAL_CAPTURE_NAME)) {
      await network.packetCaptures.beginDeleteAndWait(resourceGroup, name, ORIGINAL_CAPTURE_NAME, {
        updateIntervalInMs: REPLAY_POLL_INTERVAL_IN_MS,
      });
    }
    // if ((Get-AzNetworkWatcherPacketCapture).Count -lt $packetCaptureLimit) { New-AzNetworkWatcherPacketCapture … }
    if ((await list(resourceGroup, name)).length < ORIGINAL_CAPTURE_LIMIT) {
      await network.packetCaptures.beginCreateAndWait(
        resourceGroup,
        name,
        ORIGINAL_CAPTURE_NAME,
        { target, storageLocation: { storageId: STORAGE_ID }, timeLimitInSeconds: ORIGINAL_CAPTURE_SECONDS },
        { updateIntervalInMs: REPLAY_POLL_INTERVAL_IN_MS },
      );
    }
  };

  /** The ARM requests of a window, and the sequential rounds before its capture PUT. */
  const armCalls = async (from: number, to: number) => {
    const log = (await emulator.requests()).filter((r) => r.startedAt >= from && r.startedAt <= to);
    const put = log.find(isCapturePut);
    const before = put ? log.filter((r) => r.startedAt < put.startedAt) : log;
    return { requests: log.length, rounds: groupRounds(before).reduce((n, r) => Math.max(n, r.round), 0) };
  };

  // One unmeasured alert each: the app is warm (it is anyway after the rounds above), the replay's client has its
  // token and, from the first measured alert on, finds the previous same-named capture to delete, as the original did.
  const warm = await app.post(firedAlert(vms.app[0] as string));
  if (warm.body.outcome !== 'started')
    console.log(`warm-up alert answered ${warm.status} ${warm.body.outcome ?? '?'}`);
  await replay(vms.replay[0] as string, REGION);

  const ours: number[] = [];
  const theirs: number[] = [];
  const ourCalls: number[] = [];
  const theirCalls: number[] = [];
  const ourRounds: number[] = [];
  const theirRounds: number[] = [];
  const outcomes = new Map<string, number>();
  for (let i = 1; i <= ALERTS; i++) {
    let from = Date.now();
    let t = performance.now();
    const answer = await app.post(firedAlert(vms.app[i] as string));
    ours.push(performance.now() - t);
    const mine = await armCalls(from, Date.now());
    ourCalls.push(mine.requests);
    ourRounds.push(mine.rounds);
    const key = `${answer.status} ${answer.body.outcome ?? '?'}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

    from = Date.now();
    t = performance.now();
    await replay(vms.replay[i] as string, REGION);
    theirs.push(performance.now() - t);
    const original = await armCalls(from, Date.now());
    theirCalls.push(original.requests);
    theirRounds.push(original.rounds);
  }

  const ms = (v: number) => Math.round(v);
  printTable([
    [
      'variant',
      'median ms',
      'p95 ms',
      'min ms',
      'max ms',
      'ARM requests (median)',
      'sequential rounds before PUT (median)',
      'answers',
    ],
    [
      'alert-capture webhook',
      ms(median(ours)),
      ms(percentile(ours, 95)),
      ms(Math.min(...ours)),
      ms(Math.max(...ours)),
      median(ourCalls),
      median(ourRounds),
      [...outcomes].map(([k, n]) => `${n}× ${k}`).join(', '),
    ],
    [
      'original PowerShell sequence (replay)',
      ms(median(theirs)),
      ms(percentile(theirs, 95)),
      ms(Math.min(...theirs)),
      ms(Math.max(...theirs)),
      median(theirCalls),
      median(theirRounds),
      'capture created',
    ],
  ]);
  console.log(
    `Ratio original / alert-capture: median ${(median(theirs) / median(ours)).toFixed(1)}×, p95 ${(percentile(theirs, 95) / percentile(ours, 95)).toFixed(1)}×`,
  );
  console.log('Notes:');
  console.log(
    `- Replay: ${genericList ? 'Get-AzResource as ResourceManagementClient.resources.list() (every resource of the subscription), filtered to the region’s network watcher' : `the emulator does not implement the generic resource list (GET /subscriptions/{sub}/resources answered ${genericListAnswer}), so Get-AzResource is replayed with networkWatchers.listAll, the closest equivalent (in Azure a list of every resource of the subscription is as slow or slower)`}; then get the watcher, list captures, delete the same-named capture and wait (beginDeleteAndWait), list again, create and wait (beginCreateAndWait).`,
  );
  console.log(
    `- The original used one fixed capture name ("${ORIGINAL_CAPTURE_NAME}") for every alert, so each alert deleted the previous alert's capture; the replay does the same (one VM at a time), which is why every measured replay includes the delete.`,
  );
  console.log(
    `- The replay's LRO pollers use updateIntervalInMs ${REPLAY_POLL_INTERVAL_IN_MS} so it measures ARM round trips, not the SDK's default 2 s between polls (or ARM's Retry-After): with those the original is slower still.`,
  );
  console.log(
    `- Emulated operations are compressed (time scale ${TIME_SCALE}×): capture creation and deletion are done at the SDK's first poll (it polls at once), so the replay's waits are a lower bound of Azure's, where creating a capture takes seconds.`,
  );
  console.log(
    '- alert-capture: warm app (watcher list cached), each alert on a VM it has never seen, without a region in the payload; it answers 202 as soon as ARM accepted the PUT. Times include its ledger writes to Azurite.',
  );
  console.log('- The replay is given the region, as the original read it from the classic alert payload.');
}
