import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  firedMetricAlert,
  startAppHarness,
  type AppHarness,
  type PostResult,
} from '../../support/appHarness.js';
import type { FaultKind } from '../../emulator/types.js';
import { capturePuts, capturesOn, newAlertId, recordOf, resetApp } from './webhookTestSupport.js';

/**
 * ARM faults on each step of the fast path, lasting longer than the SDK's own retries (1 try + 3 retries): the
 * webhook still answers 202 and the alert is kept; once ARM is back, the poller starts exactly one capture.
 *
 * The alerts are posted together for speed, each in its own subscription (so its own watcher list, watcher and
 * paths) with fault rules matching only that subscription's paths; each case is then checked in its own test.
 */

const STEPS = {
  'VM GET': {
    method: 'GET',
    path: (sub: string, vm: string) => `/subscriptions/${sub}/.*/virtualMachines/${vm}$`,
  },
  'extension GET': {
    method: 'GET',
    path: (sub: string, vm: string) => `/subscriptions/${sub}/.*/virtualMachines/${vm}/extensions/`,
  },
  'watchers ListAll': {
    method: 'GET',
    path: (sub: string) => `/subscriptions/${sub}/providers/Microsoft\\.Network/networkWatchers$`,
  },
  'captures list': { method: 'GET', path: (sub: string) => `/subscriptions/${sub}/.*/packetCaptures$` },
  'capture PUT': { method: 'PUT', path: (sub: string) => `/subscriptions/${sub}/.*/packetCaptures/[^/]+$` },
} as const;

const KINDS: Array<{ label: string; kind: FaultKind }> = [
  { label: '429', kind: 'throttle' },
  { label: '503', kind: 'error503' },
  { label: 'reset', kind: 'reset' },
];

/** Enough to defeat the SDK's retries (maxRetries 3). */
const FAULT_COUNT = 4;

interface FaultCase {
  step: string;
  label: string;
  vm: string;
  sub: string;
  alertId: string;
  answer?: PostResult;
  stateAfterAnswer?: string;
}

const CASES: FaultCase[] = Object.keys(STEPS).flatMap((step, i) =>
  KINDS.map(({ label }, j) => {
    const sub = `00000000-0000-0000-0000-${String(100_000_000_000 + i * 10 + j)}`;
    const vmName = `vm-${step.replace(/\W+/g, '-').toLowerCase()}-${label}`;
    return {
      step,
      label,
      sub,
      vm: `/subscriptions/${sub}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/${vmName}`,
      alertId: newAlertId(sub),
    };
  }),
);

let h: AppHarness;

beforeAll(async () => {
  h = await startAppHarness();
  resetApp(h, { ALLOWED_SCOPES: '*' });
  // All alerts arrive together, each meeting its fault; nobody ticks until every webhook has answered.
  for (const c of CASES) {
    const { method, path } = STEPS[c.step as keyof typeof STEPS];
    const kind = (KINDS.find((k) => k.label === c.label) as { kind: FaultKind }).kind;
    h.emulator.registerVm({ id: c.vm, location: 'eastus' });
    h.emulator.addFault({
      method,
      pathPattern: path(c.sub, c.vm.split('/').pop() as string),
      kind,
      count: FAULT_COUNT,
      ...(kind === 'throttle' ? { retryAfterSeconds: 0 } : {}),
    });
  }
  await Promise.all(
    CASES.map(async (c) => {
      c.answer = await h.post(firedMetricAlert(c.vm, { alertId: c.alertId }));
      c.stateAfterAnswer = (await recordOf(h, c.alertId)).state;
    }),
  );
  // ARM is back: the poller finishes what the webhook could not.
  h.emulator.clearFaults();
  for (let i = 0; i < 4; i++) {
    const states = await Promise.all(CASES.map(async (c) => (await recordOf(h, c.alertId)).state));
    if (states.every((s) => s === 'running')) break;
    h.advanceAppClock(301);
    await h.tick();
  }
});
afterAll(() => h.stop());

describe.each(Object.keys(STEPS))('%s failing beyond the SDK retries', (step) => {
  it.each(KINDS.map((k) => k.label))('%s: 202, the alert kept, then exactly one capture', async (label) => {
    const c = CASES.find((x) => x.step === step && x.label === label) as FaultCase;

    expect(c.answer?.status, JSON.stringify(c.answer?.body)).toBe(202);
    expect(['pending', 'started']).toContain(c.answer?.body.outcome);
    expect(c.stateAfterAnswer).not.toBe('failed');
    expect((await recordOf(h, c.alertId)).state).toBe('running');
    expect(capturesOn(h, c.vm)).toHaveLength(1);
    const accepted = capturePuts(h).filter(
      (r) => r.path.includes(`/subscriptions/${c.sub}/`) && r.status === 201,
    );
    expect(accepted).toHaveLength(1);
  });
});
