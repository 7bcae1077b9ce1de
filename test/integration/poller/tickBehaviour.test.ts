import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { captureNameFor } from '../../../src/captures/captureName.js';
import { SUB, SUB_ID, firedMetricAlert, vmId } from '../../support/appHarness.js';
import {
  PAST_TIME_LIMIT_SECONDS,
  REGION,
  alertStartsCapture,
  recordOf,
  startPollerHarness,
  webhookMessages,
} from './pollerSupport.js';

describe('capture poller: ticks', () => {
  it('makes no ARM request and sends nothing when the ledger is empty, but the listing of ring tags', async () => {
    const h = await startPollerHarness();
    const before = h.emulator.requests().length;

    await h.tick();
    await h.tick();

    // The VMs tagged for a ring are listed once per RING_DISCOVERY_SECONDS (one read per allowed scope).
    const sent = h.emulator.requests().slice(before);
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual([`GET ${SUB}/resources`]);
    expect(webhookMessages(h)).toEqual([]);
  });

  it('makes no ARM request and sends nothing when every record is done', async () => {
    const h = await startPollerHarness();
    const { alertId } = await alertStartsCapture(h);
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    await h.tick();
    expect((await recordOf(h, alertId)).state).toBe('notified');
    const before = h.emulator.requests().length;

    h.advanceAppClock(3600);
    await h.tick();

    // Nothing about the done record; the ring tags are listed again (RING_DISCOVERY_SECONDS passed).
    const sent = h.emulator.requests().slice(before);
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual([`GET ${SUB}/resources`]);
    expect(webhookMessages(h)).toHaveLength(1);
  });

  it('sends one message when two ticks overlap', async () => {
    const h = await startPollerHarness();
    const { alertId, captureName } = await alertStartsCapture(h);
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);

    await Promise.all([h.tick(), h.tick()]);
    await h.tick();

    expect(webhookMessages(h)).toHaveLength(1);
    expect((await recordOf(h, alertId)).state).toBe('notified');
    const deletes = h.emulator
      .requests()
      .filter((r) => r.method === 'DELETE' && r.path.toLowerCase().endsWith(`/${captureName}`));
    expect(deletes).toHaveLength(1);
  });

  it('leaves a record alone while the webhook is still putting its capture', async () => {
    const h = await startPollerHarness();
    const vm = vmId('web-02');
    h.emulator.registerVm({ id: vm, location: REGION });
    // The webhook's PUT is slow; a second PUT (from the tick, if it wrongly took over) would be slower.
    h.emulator.addFault({
      method: 'PUT',
      pathPattern: '/packetCaptures/',
      kind: 'slow',
      delayInMs: 1000,
      count: 1,
    });
    h.emulator.addFault({
      method: 'PUT',
      pathPattern: '/packetCaptures/',
      kind: 'slow',
      delayInMs: 2000,
      count: 1,
    });
    const alertId = `${SUB}/providers/Microsoft.AlertsManagement/alerts/${randomUUID()}`;

    const posting = h.post(firedMetricAlert(vm, { alertId }));
    for (let i = 0; i < 200 && (await h.ctx.ledger.get(alertId))?.state !== 'starting'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await recordOf(h, alertId)).state).toBe('starting');
    await h.tick();
    const answer = await posting;

    expect(answer.body).toMatchObject({ outcome: 'started' });
    expect(await recordOf(h, alertId)).toMatchObject({ state: 'running' });
    expect(h.emulator.requests().filter((r) => r.method === 'PUT')).toHaveLength(1);
    expect(h.emulator.captures()).toHaveLength(1);
    expect(webhookMessages(h)).toEqual([]);
  });

  it('resumes a record whose starter died after marking it starting, once that start is stale', async () => {
    const h = await startPollerHarness();
    const vm = vmId('web-03');
    h.emulator.registerVm({ id: vm, location: REGION });
    // What a webhook instance leaves behind when it dies between marking the record and its PUT.
    const alertId = `${SUB}/providers/Microsoft.AlertsManagement/alerts/${randomUUID()}`;
    const captureName = captureNameFor('alertcap', { resourceId: vm, name: 'web-03' });
    await h.ctx.ensureReady();
    const inserted = await h.ctx.ledger.insert({
      alertId,
      ruleName: 'vm-network-out-high',
      severity: 'Sev2',
      firedAt: '2026-11-21T02:00:00.000Z',
      monitorCondition: 'Fired',
      target: vm,
      targetKind: 'vm',
      vmName: 'web-03',
      subscriptionId: SUB_ID,
      captureName,
    });
    if (!inserted.created) throw new Error('the alert was already recorded');
    expect(await h.ctx.ledger.acquireTargetLease(captureName, alertId)).toEqual({ acquired: true });
    await h.ctx.ledger.transition(inserted.record, { state: 'starting', region: REGION });

    await h.tick();
    expect((await recordOf(h, alertId)).state).toBe('starting');
    expect(h.emulator.captures()).toEqual([]);

    h.advanceAppClock(180);
    await h.tick();

    expect(await recordOf(h, alertId)).toMatchObject({ state: 'running' });
    expect(h.emulator.captures().map((c) => c.name)).toEqual([captureName]);
    expect(webhookMessages(h)).toEqual([]);
  });
});
