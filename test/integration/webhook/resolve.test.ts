import { afterAll, beforeAll, expect, it } from 'vitest';
import { firedMetricAlert, startAppHarness, vmId, type AppHarness } from '../../support/appHarness.js';

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness({ settings: { STOP_ON_RESOLVE: 'true', CAPTURE_TIME_LIMIT_SECONDS: '60' } });
});
afterAll(() => h.stop());

it('a Resolved alert of another rule leaves the running capture of that VM alone', async () => {
  const vm = vmId('shared-01');
  h.emulator.registerVm({ id: vm, location: 'eastus' });
  const fired = await h.post(firedMetricAlert(vm, { ruleName: 'cpu-high' }));
  expect(fired.body.outcome).toBe('started');
  await h.emulator.advanceClock(5);
  await h.tick();

  const other = await h.post(
    firedMetricAlert(vm, { ruleName: 'disk-latency', monitorCondition: 'Resolved' }),
  );
  expect(other.status).toBe(200);
  expect(other.body).toMatchObject({ outcome: 'ignored' });
  expect(other.body.reason).toMatch(/belongs to rule "cpu-high"/);
  expect(h.emulator.captures().find((c) => c.name === fired.body.captureName)?.status).toBe('Running');

  const own = await h.post(
    firedMetricAlert(vm, { alertId: fired.body.alertId, ruleName: 'cpu-high', monitorCondition: 'Resolved' }),
  );
  expect(own.body.outcome).toBe('stopped');
  expect(h.emulator.captures().find((c) => c.name === fired.body.captureName)?.status).toBe('Stopped');
});
