import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CAPTURE_START_SECONDS } from '../../emulator/index.js';
import { startAppHarness, type AppHarness } from '../../support/appHarness.js';
import type { CaptureNotification } from '../../../src/notify/captureNotification.js';
import { BASE_SETTINGS, capturesOn, newAlertId, projectFixture, resetApp } from './webhookTestSupport.js';

/**
 * A scale-set alert split by `VMName`, from the webhook to the notification: the app learns the scale set's region
 * from ARM (the common schema carries none), captures the one instance the alert names, and notifies once the
 * capture is over.
 */

const FIXTURE_SUBSCRIPTION = '0b1f6471-1bf0-4dda-aec3-111122223333';
/** The fixture's target, as Azure Monitor sends it (lower case). */
const SCALE_SET = `/subscriptions/${FIXTURE_SUBSCRIPTION}/resourcegroups/prod-rg/providers/microsoft.compute/virtualmachinescalesets/web-vmss`;
/** The instance the fixture's `VMName` dimension (`web-vmss_3`) names, registered as ARM spells it. */
const INSTANCE = `/subscriptions/${FIXTURE_SUBSCRIPTION}/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachineScaleSets/web-vmss/virtualMachines/3`;
const PAST_TIME_LIMIT_SECONDS = CAPTURE_START_SECONDS + Number(BASE_SETTINGS.CAPTURE_TIME_LIMIT_SECONDS) + 1;

/** The VMSS fixture with a fresh alert id, so the ledger sees a new alert. */
function vmssAlert(): { alert: Record<string, unknown>; alertId: string } {
  const alert = projectFixture('common-metric-vmss-vmname-fired.json') as {
    data: { essentials: { alertId: string; alertTargetIDs: string[] } };
  };
  const alertId = newAlertId(FIXTURE_SUBSCRIPTION);
  alert.data.essentials.alertId = alertId;
  return { alert, alertId };
}

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness();
});
afterAll(() => h.stop());
beforeEach(() => {
  resetApp(h, { ALLOWED_SCOPES: `/subscriptions/${FIXTURE_SUBSCRIPTION}` });
  h.emulator.registerVm({ id: INSTANCE, location: 'westeurope' });
});

describe('scale-set alert with a VMName dimension', () => {
  it('targets the fixture scale set and names instance 3', () => {
    const { alert } = vmssAlert();
    const essentials = (alert as { data: { essentials: { alertTargetIDs: string[] } } }).data.essentials;
    expect(essentials.alertTargetIDs).toEqual([SCALE_SET]);
    expect(JSON.stringify(alert)).toContain('"name":"VMName","value":"web-vmss_3"');
  });

  it('answers 202 started and captures that one instance of the scale set', async () => {
    const { alert, alertId } = vmssAlert();

    const res = await h.post(alert);

    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ outcome: 'started', alertId });
    const [capture, ...others] = capturesOn(h, SCALE_SET);
    expect(others).toEqual([]);
    expect(capture).toMatchObject({
      name: res.body.captureName,
      targetType: 'AzureVMSS',
      scope: { include: ['3'] },
      instanceId: '3',
    });
    // The region came from ARM: the scale set GET went through the emulator.
    expect(
      h.emulator
        .requests()
        .some(
          (r) => r.method === 'GET' && /virtualMachineScaleSets\/web-vmss$/i.test(r.path) && r.status === 200,
        ),
    ).toBe(true);
  });

  it('notifies capture.completed once the capture reached its time limit', async () => {
    const { alert, alertId } = vmssAlert();
    const res = await h.post(alert);
    expect(res.body.outcome).toBe('started');

    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    const stopped = capturesOn(h, SCALE_SET)[0];
    expect(stopped).toMatchObject({ status: 'Stopped', stopReason: 'TimeExceeded' });
    await h.tick();

    const messages = h.receiver.notifications() as CaptureNotification[];
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      type: 'capture.completed',
      alert: { id: alertId },
      capture: { name: res.body.captureName, status: 'Stopped', stopReason: 'TimeExceeded' },
    });
    // The message names the instance the capture ran on, not just the scale set.
    expect(messages[0]?.capture.target).toBe(`${SCALE_SET}/virtualMachines/3`);
    // Network Watcher writes VMSS files under the documented casing (virtualMachineScaleSets/.../virtualMachines/...).
    expect(messages[0]?.capture.storagePath?.toLowerCase()).toContain(
      '/virtualmachinescalesets/web-vmss/virtualmachines/3/',
    );
  });
});
