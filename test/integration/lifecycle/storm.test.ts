import { describe, expect, it, onTestFinished } from 'vitest';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import type { CaptureNotification } from '../../../src/notify/captureNotification.js';
import { firedMetricAlert, startAppHarness, vmId, type PostResult } from '../../support/appHarness.js';

/**
 * The storm of issue 9's "done when": 120 alerts × 5 deliveries on 40 VMs, random 429/503/reset/slow faults and
 * failed creates, a budget of 4, Azure's timing (Retry-After 10 s, late uploads). Whatever happens: no alert lost,
 * no capture twice, never over the budget, every record terminal with a reason, one notification per record that
 * should notify, and no record's stop or delete on another record's capture.
 */

const REGION = 'northeurope';
const BUDGET = 4;

describe('a storm of alerts on realistic, faulty Azure', () => {
  it('keeps every promise', { timeout: 600_000 }, async () => {
    const h = await startAppHarness({
      settings: {
        ALLOWED_SCOPES: '*',
        CAPTURE_SESSION_BUDGET: String(BUDGET),
        CAPTURE_TIME_LIMIT_SECONDS: '60',
        PENDING_TIMEOUT_SECONDS: '86400',
        POLL_CONCURRENCY: '16',
      },
      emulator: { retryAfterSeconds: 10, uploadDelaySeconds: 10 },
    });
    onTestFinished(() => h.stop());
    const vms = Array.from({ length: 40 }, (_, i) => vmId(`storm-${String(i).padStart(2, '0')}`));
    for (const vm of vms) h.emulator.registerVm({ id: vm, location: REGION });
    for (const rule of [
      { pathPattern: '/packetCaptures', kind: 'throttle', probability: 0.05, retryAfterSeconds: 0 },
      { pathPattern: '/', kind: 'error503', probability: 0.03 },
      { pathPattern: '/packetCaptures', kind: 'reset', probability: 0.03 },
      { pathPattern: '/', kind: 'slow', probability: 0.05, delayInMs: 200 },
      { method: 'PUT', pathPattern: '/packetCaptures/', kind: 'operationFailed', probability: 0.1 },
    ] as const) {
      h.emulator.addFault(rule);
    }

    const overBudget: number[] = [];
    const activeOurs = () =>
      h.emulator.captures().filter((c) => c.status === 'Running' || c.status === 'NotStarted').length;
    const step = async () => {
      overBudget.push(activeOurs());
      await h.emulator.advanceClock(30);
      await h.tick();
    };

    // 120 alerts, each delivered 5 times at once (Azure Monitor's retries), 20 alerts at a time, while the poller
    // runs: later alerts on a VM come while its capture runs, or after it ended.
    const alerts = Array.from({ length: 120 }, (_, i) => firedMetricAlert(vms[i % vms.length]!));
    const answers: PostResult[] = [];
    for (let i = 0; i < alerts.length; i += 20) {
      const batch = alerts.slice(i, i + 20).flatMap((a) => Array.from({ length: 5 }, () => h.post(a)));
      answers.push(...(await Promise.all(batch)));
      for (let s = 0; s < 6; s++) await step();
    }
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(answers.filter((a) => a.body.outcome === 'duplicate')).toHaveLength(4 * 120);

    let active = Infinity;
    for (let n = 0; n < 400 && active > 0; n++) {
      await step();
      active = (await h.ctx.ledger.listActive()).length;
    }
    h.emulator.clearFaults();
    expect(active).toBe(0);
    expect(Math.max(...overBudget)).toBeLessThanOrEqual(BUDGET);

    // No alert lost: every alert id has its record, each ended with a reason when it did not capture.
    const records: CaptureRecord[] = [];
    for (const a of alerts) {
      const record = await h.ctx.ledger.get(a.data.essentials.alertId);
      expect(record, a.data.essentials.alertId).toBeDefined();
      records.push(record!);
    }
    for (const r of records) {
      expect(['notified', 'failed', 'ignored', 'notifyFailed']).toContain(r.state);
      if (r.state !== 'notified') expect(r.reason, JSON.stringify(r)).toBeTruthy();
      expect(r.reason ?? '').not.toMatch(/disappeared/);
    }
    // No capture twice: one accepted PUT per capture name, and only for records that captured.
    const puts = h.emulator.requests().filter((r) => r.method === 'PUT' && r.status === 201);
    const putNames = puts.map((r) => r.path.split('/').pop());
    expect(new Set(putNames).size).toBe(putNames.length);
    // One notification per record that should notify, none for an alert answered alreadyCapturing.
    const sent = h.receiver.notifications() as CaptureNotification[];
    const byKey = new Map<string, number>();
    for (const n of sent) byKey.set(n.idempotencyKey, (byKey.get(n.idempotencyKey) ?? 0) + 1);
    const shouldNotify = records.filter((r) => r.state !== 'ignored');
    expect([...byKey.values()].every((n) => n === 1)).toBe(true);
    expect(byKey.size).toBe(shouldNotify.length);
    expect(shouldNotify.length).toBeGreaterThanOrEqual(40);
    // No stop or delete on another record's capture: each names a capture whose own record had ended.
    const owners = new Map(records.map((r) => [r.captureName?.toLowerCase(), r]));
    for (const r of h.emulator.requests()) {
      if (r.method !== 'DELETE' && !r.path.endsWith('/stop')) continue;
      const name = r.path
        .replace(/\/stop$/, '')
        .split('/')
        .pop()
        ?.toLowerCase();
      expect(owners.get(name)?.state, r.path).toMatch(/^(notified|failed|notifyFailed)$/);
    }
    console.log(
      `storm: ${records.length} records: ${['notified', 'failed', 'ignored', 'notifyFailed'].map((s) => `${records.filter((r) => r.state === s).length} ${s}`).join(', ')}; ${puts.length} captures; ${sent.length} notifications; ${h.emulator.requests().length} ARM requests`,
    );
  });
});
