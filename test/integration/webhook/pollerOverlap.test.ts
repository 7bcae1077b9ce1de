import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import { firedMetricAlert, startAppHarness, vmId, type AppHarness } from '../../support/appHarness.js';
import { capturePuts, capturesOn, newAlertId, recordOf, resetApp } from './webhookTestSupport.js';

/**
 * A poller tick that lands while the webhook's fast path is still working on the same alert (the poller runs
 * every 30 s, a fast path slowed by ARM retries takes seconds): the tick must leave the record to the webhook.
 */

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness();
});
afterAll(() => h.stop());
beforeEach(() => resetApp(h));

/** Waits (on the ledger, not a fixed time) until the alert's record is in `state`. */
async function untilState(alertId: string, state: CaptureRecord['state']): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const record = await h.ctx.ledger.get(alertId);
    if (record?.state === state) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`record of ${alertId} never reached ${state}`);
}

describe('a poller tick during the fast path', () => {
  it('while the capture PUT is in flight: one capture, the alert answered started, the record running', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    h.emulator.addFault({
      method: 'PUT',
      pathPattern: '/packetCaptures/',
      kind: 'slow',
      delayInMs: 1500,
      count: 1,
    });
    const alertId = newAlertId();

    const posting = h.post(firedMetricAlert(vm, { alertId }));
    await untilState(alertId, 'starting');
    await h.tick();
    const res = await posting;

    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('started');
    expect(capturesOn(h, vm)).toHaveLength(1);
    expect((await recordOf(h, alertId)).state).toBe('running');
    expect(capturePuts(h).filter((r) => r.status === 409)).toEqual([]);
  });

  it('while the captures are being listed: the tick makes no ARM call and the webhook answers started', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    h.emulator.addFault({
      method: 'GET',
      pathPattern: '/packetCaptures$',
      kind: 'slow',
      delayInMs: 1000,
      count: 1,
    });
    const alertId = newAlertId();

    const posting = h.post(firedMetricAlert(vm, { alertId }));
    await untilState(alertId, 'pending');
    await h.tick();
    const res = await posting;

    expect(res.body.outcome).toBe('started');
    // Only the webhook's own calls: had the tick worked on the record, each would appear twice.
    const lists = h.emulator
      .requests()
      .filter((r) => r.method === 'GET' && /\/packetCaptures$/i.test(r.path));
    expect(lists).toHaveLength(1);
    expect(capturePuts(h)).toHaveLength(1);
    expect(capturesOn(h, vm)).toHaveLength(1);
  });
});
