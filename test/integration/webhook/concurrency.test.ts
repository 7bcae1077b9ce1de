import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { firedMetricAlert, startAppHarness, vmId, type AppHarness } from '../../support/appHarness.js';
import { capturePuts, capturesOn, ledgerRecords, resetApp } from './webhookTestSupport.js';

/** Bursts of duplicate and concurrent alerts: never a duplicate capture, never over the budget. */

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness();
});
afterAll(() => h.stop());
beforeEach(() => resetApp(h));

function countOutcomes(outcomes: ReadonlyArray<string | undefined>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o ?? 'none'] = (counts[o ?? 'none'] ?? 0) + 1;
  return counts;
}

describe('the same alert delivered 5 times', () => {
  it('sequentially: one capture, one started, four duplicate', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    const alert = firedMetricAlert(vm);

    const outcomes: Array<string | undefined> = [];
    for (let i = 0; i < 5; i++) outcomes.push((await h.post(alert)).body.outcome);

    expect(outcomes).toEqual(['started', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(capturesOn(h, vm)).toHaveLength(1);
    expect(capturePuts(h)).toHaveLength(1);
    expect(await ledgerRecords(h)).toHaveLength(1);
  });

  it('concurrently: one capture, one started, four duplicate', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    const alert = firedMetricAlert(vm);

    const results = await Promise.all(Array.from({ length: 5 }, () => h.post(alert)));

    expect(countOutcomes(results.map((r) => r.body.outcome))).toEqual({ started: 1, duplicate: 4 });
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(capturesOn(h, vm)).toHaveLength(1);
    expect(capturePuts(h)).toHaveLength(1);
    expect(await ledgerRecords(h)).toHaveLength(1);
  });
});

describe('50 concurrent alerts for 50 VMs in one region', () => {
  it('starts exactly the budget (10), leaves 40 pending, and never hits the platform limit', async () => {
    resetApp(h, { CAPTURE_SESSION_BUDGET: '10' });
    h.emulator.configure({ sessionLimit: 10 });
    const vms = Array.from({ length: 50 }, (_, i) => vmId(`web-${String(i).padStart(2, '0')}`));
    for (const vm of vms) h.emulator.registerVm({ id: vm, location: 'eastus' });

    const results = await Promise.all(vms.map((vm) => h.post(firedMetricAlert(vm))));

    expect(countOutcomes(results.map((r) => r.body.outcome))).toEqual({ started: 10, pending: 40 });
    for (const r of results.filter((x) => x.body.outcome === 'pending')) {
      expect(r.status).toBe(202);
      expect(r.body.reason).toContain('capture budget for eastus is used up');
    }
    expect(h.emulator.captures()).toHaveLength(10);
    expect(h.emulator.limitRefusals()).toBe(0);
    const started = new Set(
      results.filter((r) => r.body.outcome === 'started').map((r) => r.body.captureName),
    );
    expect(new Set(h.emulator.captures().map((c) => c.name))).toEqual(started);
  });
});

describe('20 concurrent alerts (different alert ids) for one VM', () => {
  it('starts exactly one capture; every other alert is answered alreadyCapturing', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });

    const results = await Promise.all(Array.from({ length: 20 }, () => h.post(firedMetricAlert(vm))));

    expect(countOutcomes(results.map((r) => r.body.outcome))).toEqual({ started: 1, alreadyCapturing: 19 });
    expect(capturesOn(h, vm)).toHaveLength(1);
    expect(capturePuts(h)).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.captureName)).size).toBe(1);
  });
});
