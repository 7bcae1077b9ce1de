import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAppContext } from '../../../src/appContext.js';
import { pollCaptures } from '../../../src/captures/pollCaptures.js';
import { silentLogger } from '../../../src/logger.js';
import { disableRing } from '../../../src/rings/disableRing.js';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import { emulatorCredential } from '../../emulator/index.js';
import type { EmulatorCapture, EmulatorOptions, RingFile } from '../../emulator/index.js';
import { networkClient } from '../emulator/emulatorFixture.js';
import { SUB, SUB_ID, firedMetricAlert, vmId, type AppHarness } from '../../support/appHarness.js';
import { REGION, recordOf, startPollerHarness, webhookMessages } from '../poller/pollerSupport.js';

/**
 * The poller keeps one ring (continuous capture) per wanted VM (`RING_VM_IDS` here), against the emulator with the
 * real SDK and an Azurite ledger: re-armed before its session limit with overlap, replaced when someone kills it,
 * removed when the VM is no longer wanted, counted in the budget, never notified. Time scale 1: only advanceClock
 * moves the emulator's and the app's clocks, and each test ticks once per emulated poll interval.
 */
const POLL_INTERVAL_SECONDS = 30;
const SESSION_SECONDS = 600;
const LEAD_SECONDS = 120;
/** RING_STATUS_CHECK_SECONDS of the tests of a ring that ended by itself. */
const CHECK_SECONDS = 120;
const WATCHER = { rg: 'NetworkWatcherRG', name: `NetworkWatcher_${REGION}` };
const WATCHER_ID = `${SUB}/resourceGroups/${WATCHER.rg}/providers/Microsoft.Network/networkWatchers/${WATCHER.name}`;

/** A harness whose poller keeps a ring on `vms` (registered in the emulator, agent installed). */
async function ringHarness(
  vms: string[],
  settings: Record<string, string> = {},
  emulator: EmulatorOptions = {},
): Promise<AppHarness> {
  const h = await startPollerHarness({
    emulator,
    settings: {
      RING_VM_IDS: vms.join(','),
      RING_SESSION_SECONDS: String(SESSION_SECONDS),
      RING_REARM_LEAD_SECONDS: String(LEAD_SECONDS),
      RING_FILE_COUNT: '3',
      RING_FILE_SIZE_BYTES: '65536',
      ...settings,
    },
  });
  for (const vm of vms) h.emulator.registerVm({ id: vm, location: REGION });
  return h;
}

const newVm = (label: string) => vmId(`${label}-${randomUUID().slice(0, 6)}`);
const isRing = (c: EmulatorCapture) => c.name.startsWith('alertcap-ring-');
const ringsOf = (h: AppHarness, vm: string) =>
  h.emulator.captures().filter((c) => isRing(c) && c.target.toLowerCase() === vm.toLowerCase());
const runningRingsOf = (h: AppHarness, vm: string) => ringsOf(h, vm).filter((c) => c.status === 'Running');

/** One poll interval of emulated time, then a tick. */
async function nextTick(h: AppHarness): Promise<void> {
  await h.emulator.advanceClock(POLL_INTERVAL_SECONDS);
  await h.tick();
}

/** The ring records of a VM, from its head (newest first). */
async function ringRecordsOf(h: AppHarness, vm: string): Promise<CaptureRecord[]> {
  const head = await h.ctx.ledger.rings.get(vm);
  const records = await Promise.all((head?.alertIds ?? []).map((id) => h.ctx.ledger.get(id)));
  return records.filter((r): r is CaptureRecord => r !== undefined);
}

/** Packet-capture PUTs of ring captures the emulator answered. */
const ringPuts = (h: AppHarness) =>
  h.emulator
    .requests()
    .filter((r) => r.method === 'PUT' && r.path.includes('/packetCaptures/alertcap-ring-'));

/** The longest stretch (ms) inside [from, to] that no interval covers. */
function longestGap(intervals: Array<[number, number]>, from: number, to: number): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let covered = from;
  let gap = 0;
  for (const [start, end] of sorted) {
    if (start > covered) gap = Math.max(gap, Math.min(start, to) - covered);
    covered = Math.max(covered, end);
  }
  return Math.max(gap, to - covered);
}

describe('rings kept by the poller', () => {
  it('re-arms before the session limit with overlap: over three re-arms no stretch longer than one poll interval goes unrecorded', async () => {
    const vm = newVm('ring');
    const h = await ringHarness([vm]);
    /** Every ring file seen, by capture and index (the last view wins: a deleted capture keeps its last). */
    const files = new Map<string, RingFile & { capture: string }>();
    const seen = () => {
      for (const c of ringsOf(h, vm)) {
        for (const f of c.ringFiles ?? []) files.set(`${c.name}/${f.index}`, { ...f, capture: c.name });
      }
    };
    await h.tick();
    const firstAt = h.emulator.now();
    expect(
      runningRingsOf(h, vm).length + ringsOf(h, vm).filter((c) => c.status === 'NotStarted').length,
    ).toBe(1);
    let most = 0;
    // Three re-arms: at 480 s, 960 s and 1440 s of the three generations' lives (session 600 s, lead 120 s).
    for (let t = 0; t < 1_560; t += POLL_INTERVAL_SECONDS) {
      await nextTick(h);
      seen();
      most = Math.max(most, ringsOf(h, vm).length);
    }
    const endAt = h.emulator.now();
    const captures = new Set([...files.values()].map((f) => f.capture));
    expect(captures.size).toBe(4);
    // Never more than the ring and its successor at once; the replaced ones are deleted (their files stay).
    expect(most).toBeLessThanOrEqual(2);
    expect(runningRingsOf(h, vm)).toHaveLength(1);
    expect(ringsOf(h, vm).length).toBeLessThanOrEqual(2);
    // A file holds packets from its first one to its close; the open file of the running ring up to now. Files a
    // delete dropped (never closed, capture gone) hold nothing.
    const live = new Set(ringsOf(h, vm).map((c) => c.name));
    const intervals = [...files.values()]
      .filter((f) => f.closedAt !== undefined || live.has(f.capture))
      .map((f): [number, number] => [f.startMs, f.closedAt ?? endAt]);
    expect(longestGap(intervals, firstAt + 5_000, endAt)).toBeLessThanOrEqual(POLL_INTERVAL_SECONDS * 1000);
    // Generations overlap: every replaced ring's last file closed after its successor's first packet.
    const lives = [...captures].map((name) => {
      const own = [...files.values()].filter((f) => f.capture === name);
      return {
        start: Math.min(...own.map((f) => f.startMs)),
        end: Math.max(...own.map((f) => f.closedAt ?? endAt)),
      };
    });
    lives.sort((a, b) => a.start - b.start);
    for (let i = 1; i < lives.length; i++) expect(lives[i - 1]!.end).toBeGreaterThan(lives[i]!.start);
    expect(webhookMessages(h)).toEqual([]);
    // The head remembers the newest three generations; their records are kind ring and never notified.
    const records = await ringRecordsOf(h, vm);
    expect(records).toHaveLength(3);
    expect(
      records.every((r) => r.kind === 'ring' && r.notifiedAt === undefined && r.ruleName === 'ring'),
    ).toBe(true);
    expect(records[0]!.state).toBe('running');
    expect(records.slice(1).map((r) => r.state)).toEqual(['finished', 'finished']);
    expect(records.slice(1).every((r) => r.releasedAt !== undefined)).toBe(true);
    // Nothing left to stop: a steady tick reads only the newest generation.
    expect((await h.ctx.ledger.rings.get(vm))?.replacing).toEqual([]);
  });

  it("re-arms the same way with ARM's timing: every operation 202 with Retry-After 10 s, queryStatus included", async () => {
    const vm = newVm('slow');
    const h = await ringHarness([vm], {}, { retryAfterSeconds: 10, uploadDelaySeconds: 10 });
    await h.tick();
    const seen = new Set<string>();
    let most = 0;
    for (let t = 0; t < 1_080; t += POLL_INTERVAL_SECONDS) {
      await nextTick(h);
      for (const c of runningRingsOf(h, vm)) seen.add(c.name);
      most = Math.max(most, runningRingsOf(h, vm).length);
      // Never a tick without a running ring once the first one ran.
      if (t >= POLL_INTERVAL_SECONDS) expect(runningRingsOf(h, vm).length).toBeGreaterThan(0);
    }
    expect(seen.size).toBe(3);
    expect(most).toBe(2);
    expect(ringsOf(h, vm).length).toBeLessThanOrEqual(2);
    const [newest, ...older] = await ringRecordsOf(h, vm);
    expect(newest?.state).toBe('running');
    expect(older.map((r) => r.state)).toEqual(['finished', 'finished']);
    expect(webhookMessages(h)).toEqual([]);
  });

  it('a ring deleted by someone is replaced on the next tick: its watcher list (a read) shows it gone', async () => {
    const vm = newVm('killed');
    const h = await ringHarness([vm]);
    await h.tick();
    await nextTick(h);
    const [first] = runningRingsOf(h, vm);
    expect(first).toBeDefined();
    const client = networkClient(h.emulator, SUB_ID, { maxRetries: 0 });
    await client.packetCaptures.beginDeleteAndWait(WATCHER.rg, WATCHER.name, first!.name);

    await nextTick(h);
    const [second] = ringsOf(h, vm);
    expect(second?.name).not.toBe(first!.name);
    expect(second?.status).toMatch(/NotStarted|Running/);
    const [newest, killed] = await ringRecordsOf(h, vm);
    expect(killed).toMatchObject({ state: 'failed', captureName: first!.name });
    expect(killed!.reason).toContain('disappeared');
    expect(newest).toMatchObject({ state: 'running', captureName: second!.name });
    expect(webhookMessages(h)).toEqual([]);
  });

  for (const [how, end] of [
    ['stopped by someone', 'finished'],
    ['ended in Error (its agent stopped)', 'failed'],
  ] as const) {
    it(`a ring ${how} is replaced within RING_STATUS_CHECK_SECONDS and one tick`, async () => {
      const vm = newVm('ended');
      // A long session: no re-arm time or session end comes in between to check it sooner.
      const h = await ringHarness([vm], {
        RING_SESSION_SECONDS: '3600',
        RING_STATUS_CHECK_SECONDS: String(CHECK_SECONDS),
      });
      await h.tick();
      await nextTick(h);
      await nextTick(h);
      const [ring] = runningRingsOf(h, vm);
      expect(ring).toBeDefined();
      const endedAt = h.emulator.now();
      if (end === 'finished') {
        const client = networkClient(h.emulator, SUB_ID, { maxRetries: 0 });
        await client.packetCaptures.beginStopAndWait(WATCHER.rg, WATCHER.name, ring!.name, {
          updateIntervalInMs: 5,
        });
      } else {
        h.emulator.stopAgent(vm);
      }
      expect(ringsOf(h, vm).map((c) => c.name)).toEqual([ring!.name]);
      let replacedAt: number | undefined;
      while (
        replacedAt === undefined &&
        h.emulator.now() - endedAt <= (CHECK_SECONDS + 2 * POLL_INTERVAL_SECONDS) * 1000
      ) {
        await nextTick(h);
        if (ringsOf(h, vm).some((c) => c.name !== ring!.name)) replacedAt = h.emulator.now();
      }
      expect(replacedAt).toBeDefined();
      expect(replacedAt! - endedAt).toBeLessThanOrEqual((CHECK_SECONDS + POLL_INTERVAL_SECONDS) * 1000);
      const [newest, ended] = await ringRecordsOf(h, vm);
      expect(ended).toMatchObject({ state: end, captureName: ring!.name });
      expect(newest!.captureName).not.toBe(ring!.name);
      expect(webhookMessages(h)).toEqual([]);
    });
  }

  it('a steady ring costs no ARM write per tick: one list of its watcher a tick for all its rings, a status query every RING_STATUS_CHECK_SECONDS', async () => {
    const vms = [newVm('steady'), newVm('steady'), newVm('steady')];
    const h = await ringHarness(vms, { RING_SESSION_SECONDS: '3600', RING_STATUS_CHECK_SECONDS: '300' });
    await h.tick();
    await nextTick(h);
    await nextTick(h);
    expect(vms.map((vm) => runningRingsOf(h, vm).length)).toEqual([1, 1, 1]);
    const isList = (r: { method: string; path: string }) =>
      r.method === 'GET' && /\/networkWatchers\/[^/]+\/packetCaptures$/i.test(r.path);
    let writes = 0;
    let listedTicks = 0;
    for (let i = 0; i < 20; i++) {
      const from = h.emulator.requests().length;
      await nextTick(h);
      const arm = h.emulator.requests().slice(from);
      const tickWrites = arm.filter((r) => r.method !== 'GET');
      // The three rings share their watcher's one list; a tick that asks every status needs none.
      expect(arm.filter(isList).length).toBe(tickWrites.length === vms.length ? 0 : 1);
      expect(tickWrites.every((r) => r.method === 'POST' && r.path.endsWith('/queryStatus'))).toBe(true);
      writes += tickWrites.length;
      if (tickWrites.length === 0) listedTicks++;
    }
    // 600 s of ticks: each ring's status asked at most twice (every 300 s), nothing else written.
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(2 * vms.length);
    expect(listedTicks).toBeGreaterThanOrEqual(18);
    expect(vms.map((vm) => runningRingsOf(h, vm).length)).toEqual([1, 1, 1]);
  });

  it("never takes an alert's place: an alert on a ring VM starts its own capture, and only the alert is notified", async () => {
    const vm = newVm('both');
    const h = await ringHarness([vm]);
    await h.tick();
    await nextTick(h);
    const answer = await h.post(firedMetricAlert(vm));
    expect(answer.status).toBe(202);
    expect(answer.body.outcome).toBe('started');
    expect(runningRingsOf(h, vm)).toHaveLength(1);

    // The alert's capture ends (60 s), a ring generation is killed: one message, the alert's.
    await h.emulator.advanceClock(90);
    const [ring] = runningRingsOf(h, vm);
    await networkClient(h.emulator, SUB_ID, { maxRetries: 0 }).packetCaptures.beginDeleteAndWait(
      WATCHER.rg,
      WATCHER.name,
      ring!.name,
    );
    await h.tick();
    await nextTick(h);
    const messages = webhookMessages(h);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ type: 'capture.completed', alert: { id: answer.body.alertId } });
    expect((await recordOf(h, answer.body.alertId!)).state).toBe('notified');
    expect(runningRingsOf(h, vm)).toHaveLength(1);
  });

  it('counts in the region budget: with the budget full of rings an alert waits pending', async () => {
    const ringVm = newVm('budget');
    const other = newVm('alerted');
    const h = await ringHarness([ringVm], { CAPTURE_SESSION_BUDGET: '1' });
    h.emulator.registerVm({ id: other, location: REGION });
    await h.tick();
    expect(ringsOf(h, ringVm)).toHaveLength(1);
    const answer = await h.post(firedMetricAlert(other));
    expect(answer.status).toBe(202);
    expect(answer.body.outcome).toBe('pending');
    expect(answer.body.reason).toContain('budget');
    await nextTick(h);
    expect((await recordOf(h, answer.body.alertId!)).state).toBe('pending');
    expect(h.emulator.captures().filter((c) => !isRing(c))).toEqual([]);
  });

  it('a re-arm refused a slot leaves the old ring running, and the next starts once the old one ends', async () => {
    const vm = newVm('tight');
    const h = await ringHarness([vm], { CAPTURE_SESSION_BUDGET: '1' });
    await h.tick();
    const [first] = ringsOf(h, vm);
    // Past the re-arm time (480 s): the next generation is armed but refused the only slot.
    for (let t = 0; t < 510; t += POLL_INTERVAL_SECONDS) await nextTick(h);
    const [waiting] = await ringRecordsOf(h, vm);
    expect(waiting).toMatchObject({ state: 'pending' });
    expect(waiting!.lastError).toContain('budget');
    expect(runningRingsOf(h, vm).map((c) => c.name)).toEqual([first!.name]);
    // The old ring ends at its session limit (600 s) and is released; the waiting one starts on a later try.
    for (
      let t = 0;
      t < 420 && runningRingsOf(h, vm)[0]?.name !== waiting!.captureName;
      t += POLL_INTERVAL_SECONDS
    ) {
      await nextTick(h);
    }
    expect(runningRingsOf(h, vm).map((c) => c.name)).toEqual([waiting!.captureName]);
    expect(h.emulator.limitRefusals()).toBe(0);
  });

  it('two overlapping ticks arm one ring, and one successor per re-arm', async () => {
    const vm = newVm('overlap');
    const h = await ringHarness([vm]);
    const other = createAppContext(h.settings, {
      credential: emulatorCredential(h.emulator),
      logger: silentLogger,
      now: () => h.ctx.now!(),
    });
    const both = () => Promise.all([pollCaptures(h.ctx), pollCaptures(other)]);
    await h.ctx.ensureReady();
    await both();
    expect(ringsOf(h, vm)).toHaveLength(1);
    expect(ringPuts(h)).toHaveLength(1);
    for (let t = 0; t < 570; t += POLL_INTERVAL_SECONDS) {
      await h.emulator.advanceClock(POLL_INTERVAL_SECONDS);
      await both();
      expect(runningRingsOf(h, vm).length).toBeLessThanOrEqual(2);
    }
    // One re-arm: two generations, two PUTs, whatever the races.
    const head = await h.ctx.ledger.rings.get(vm);
    expect(head?.alertIds).toHaveLength(2);
    expect(new Set(ringPuts(h).map((r) => r.path)).size).toBe(2);
    expect(runningRingsOf(h, vm)).toHaveLength(1);
  });
});

describe('removing a ring', () => {
  it("a VM no longer wanted loses its ring and nothing else: a person's capture and an alert's capture stay", async () => {
    const vm = newVm('unwanted');
    const h = await ringHarness([vm]);
    await h.tick();
    await nextTick(h);
    h.emulator.plantCapture({ watcherId: WATCHER_ID, name: 'someones-debug', target: vm, status: 'Running' });
    const alert = await h.post(firedMetricAlert(vm));
    expect(alert.body.outcome).toBe('started');
    const [ring] = runningRingsOf(h, vm);

    h.restart({ RING_VM_IDS: '' });
    await nextTick(h);
    const names = h.emulator.captures().map((c) => c.name);
    expect(names).not.toContain(ring!.name);
    expect(names).toContain('someones-debug');
    expect(names).toContain(alert.body.captureName);
    expect(h.emulator.captures().find((c) => c.name === 'someones-debug')?.status).toBe('Running');
    expect(h.emulator.captures().find((c) => c.name === alert.body.captureName)?.status).toBe('Running');
    expect(await h.ctx.ledger.rings.get(vm)).toBeUndefined();
    // Not armed again, and the alert's capture is followed as before.
    await nextTick(h);
    expect(ringsOf(h, vm)).toEqual([]);
    expect((await recordOf(h, alert.body.alertId!)).state).toMatch(/running|notified/);
  });

  it('a wanted list that could not be had completely removes no ring', async () => {
    const vm = newVm('partial');
    const h = await ringHarness([vm]);
    await h.tick();
    const partial = { ...h.ctx, ringWanted: () => Promise.resolve({ vms: [], complete: false }) };
    await h.emulator.advanceClock(POLL_INTERVAL_SECONDS);
    await pollCaptures(partial);
    const failing = { ...h.ctx, ringWanted: () => Promise.reject(new Error('Resource Graph unavailable')) };
    await h.emulator.advanceClock(POLL_INTERVAL_SECONDS);
    await pollCaptures(failing);
    expect(runningRingsOf(h, vm)).toHaveLength(1);
    expect(await h.ctx.ledger.rings.get(vm)).toBeDefined();
  });

  it('disableRing (alert-capture ring disable) deletes our ring captures and removes the head, leaving the rest', async () => {
    const vm = newVm('disable');
    const h = await ringHarness([vm]);
    await h.tick();
    await nextTick(h);
    h.emulator.plantCapture({ watcherId: WATCHER_ID, name: 'a-person-s', target: vm, status: 'Running' });
    const [ring] = runningRingsOf(h, vm);
    const result = await disableRing(vm.toUpperCase(), h.ctx);
    expect(result).toEqual({ removed: true, deleted: [ring!.name], left: [] });
    expect(ringsOf(h, vm)).toEqual([]);
    expect(h.emulator.captures().map((c) => c.name)).toEqual(['a-person-s']);
    const records = await h.ctx.ledger.listByTarget(vm, { includeInactive: true });
    expect(records.every((r) => r.kind === 'ring' && r.releasedAt !== undefined)).toBe(true);
    expect(await h.ctx.ledger.rings.get(vm)).toBeUndefined();
    expect(await disableRing(vm, h.ctx)).toEqual({ removed: false, deleted: [], left: [] });
  });
});
