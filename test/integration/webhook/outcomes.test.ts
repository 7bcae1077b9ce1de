import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { firedMetricAlert, startAppHarness, SUB, vmId, type AppHarness } from '../../support/appHarness.js';
import {
  capturePuts,
  capturesOn,
  ledgerRecords,
  newAlertId,
  projectFixture,
  recordOf,
  resetApp,
  sharedFixture,
} from './webhookTestSupport.js';

/** Each outcome of the webhook contract, through the real handler, the emulator and Azurite. */

const STORAGE_ID = `${SUB}/resourceGroups/captures-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
const FILTERS = [{ protocol: 'TCP', remotePort: '443' }];

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness();
});
afterAll(() => h.stop());
beforeEach(() => resetApp(h));

describe('started', () => {
  it('answers 202 started once ARM accepted the capture, with the configured target, limits, storage and filters', async () => {
    resetApp(h, { CAPTURE_FILTERS: JSON.stringify(FILTERS), CAPTURE_TOTAL_BYTES: '5000000' });
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    const alert = firedMetricAlert(vm);

    const res = await h.post(alert);

    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ outcome: 'started', alertId: alert.data.essentials.alertId });
    expect(res.body.captureName).toMatch(/^alertcap-web-01-[0-9a-f]{6}-[0-9a-f]{8}$/); // per attempt: target hash, then alert hash;
    const [capture, ...others] = capturesOn(h, vm);
    expect(others).toEqual([]);
    expect(capture).toMatchObject({
      name: res.body.captureName,
      targetType: 'AzureVM',
      timeLimitInSeconds: 60,
      totalBytesPerSession: 5_000_000,
      filters: FILTERS,
    });
    // The storage account id is not in the emulator's view; ask ARM as a user would.
    const resource = await h.ctx.gateway.getCapture(
      {
        id: `${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_eastus`,
        subscriptionId: SUB.split('/')[2] as string,
        resourceGroup: 'NetworkWatcherRG',
        name: 'NetworkWatcher_eastus',
        location: 'eastus',
      },
      res.body.captureName as string,
    );
    expect(resource?.storageLocation?.storageId?.toLowerCase()).toBe(STORAGE_ID.toLowerCase());
    expect((await recordOf(h, alert.data.essentials.alertId)).state).toBe('running');
  });
});

describe('pending', () => {
  it('answers 202 pending with the reason when the region capture budget is used up', async () => {
    resetApp(h, { CAPTURE_SESSION_BUDGET: '1' });
    h.emulator.registerVm({ id: vmId('web-01'), location: 'eastus' });
    h.emulator.registerVm({ id: vmId('web-02'), location: 'eastus' });
    expect((await h.post(firedMetricAlert(vmId('web-01')))).body.outcome).toBe('started');

    const alert = firedMetricAlert(vmId('web-02'));
    const res = await h.post(alert);

    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('pending');
    expect(res.body.reason).toContain('capture budget for eastus is used up (1 sessions)');
    expect(capturesOn(h, vmId('web-02'))).toEqual([]);
    expect((await recordOf(h, alert.data.essentials.alertId)).state).toBe('pending');
  });

  it('answers 202 pending when ARM keeps failing transiently, and keeps the alert for the poller', async () => {
    h.emulator.registerVm({ id: vmId('web-01'), location: 'eastus' });
    h.emulator.addFault({ method: 'PUT', pathPattern: '/packetCaptures/', kind: 'error503', count: 4 });
    const alert = firedMetricAlert(vmId('web-01'));

    const res = await h.post(alert);

    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('pending');
    expect(res.body.reason).toContain('503');
    expect(h.emulator.captures()).toEqual([]);
    const record = await recordOf(h, alert.data.essentials.alertId);
    expect(record.state).toBe('pending');
    expect(record.lastError).toContain('503');
  });
});

describe('alreadyCapturing', () => {
  it('answers 200 alreadyCapturing for another alert on a VM whose capture is running', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    const first = await h.post(firedMetricAlert(vm));

    const res = await h.post(firedMetricAlert(vm));

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'alreadyCapturing', captureName: first.body.captureName });
    expect(res.body.reason).toContain(first.body.alertId);
    expect(capturesOn(h, vm)).toHaveLength(1);
  });
});

describe('duplicate', () => {
  it('answers 200 duplicate to a second delivery of the same alert and does nothing else', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    const alert = firedMetricAlert(vm);
    await h.post(alert);
    const requestsBefore = h.emulator.requests().length;

    const res = await h.post(alert);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'duplicate', alertId: alert.data.essentials.alertId });
    expect(res.body.reason).toContain('state running');
    expect(h.emulator.requests()).toHaveLength(requestsBefore);
    expect(capturesOn(h, vm)).toHaveLength(1);
  });
});

describe('ignored', () => {
  it('answers 200 ignored for the published metric alert on a storage account, without calling ARM', async () => {
    const res = await h.post(sharedFixture('common-testaction-metric-static-fired.json'));

    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('ignored');
    expect(res.body.reason).toContain('Microsoft.Storage/storageAccounts, not a virtual machine');
    expect(h.emulator.requests()).toEqual([]);
    expect(await ledgerRecords(h)).toEqual([]);
  });

  it('answers 200 ignored for the published log search alert on a workspace (no VM target)', async () => {
    const res = await h.post(sharedFixture('common-testaction-log-v2-fired.json'));

    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('ignored');
    expect(res.body.reason).toContain('log search alert with no VM target');
    expect(h.emulator.requests()).toEqual([]);
  });

  it('answers 200 ignored for an activity log alert, even on a VM', async () => {
    const res = await h.post(projectFixture('common-activitylog-administrative-vm.json'));

    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('ignored');
    expect(res.body.reason).toContain('activity log alert');
    expect(h.emulator.requests()).toEqual([]);
    expect(h.emulator.captures()).toEqual([]);
  });
});

describe('Resolved', () => {
  it('answers 200 stopped and stops our running capture when STOP_ON_RESOLVE is on', async () => {
    resetApp(h, { STOP_ON_RESOLVE: 'true' });
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    const alertId = newAlertId();
    await h.post(firedMetricAlert(vm, { alertId }));
    await h.emulator.advanceClock(5);
    expect(capturesOn(h, vm)[0]?.status).toBe('Running');

    const res = await h.post(firedMetricAlert(vm, { alertId, monitorCondition: 'Resolved' }));

    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('stopped');
    expect(res.body.reason).toContain('STOP_ON_RESOLVE');
    expect(capturesOn(h, vm)[0]).toMatchObject({ status: 'Stopped', stopReason: 'Manual' });
  });

  it('answers 200 ignored and leaves the capture running when STOP_ON_RESOLVE is off', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    const alertId = newAlertId();
    await h.post(firedMetricAlert(vm, { alertId }));
    await h.emulator.advanceClock(5);

    const res = await h.post(firedMetricAlert(vm, { alertId, monitorCondition: 'Resolved' }));

    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('ignored');
    expect(res.body.reason).toContain('STOP_ON_RESOLVE is off');
    expect(capturesOn(h, vm)[0]?.status).toBe('Running');
  });
});

describe('failed', () => {
  it('starts the capture in the region ARM gives, whatever region the alert payload names (scenario 12)', async () => {
    const vm = vmId('web-01');
    // The emulator creates a watcher in the VM's region at registration; the alert places the VM elsewhere.
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    const wrong = await h.post(firedMetricAlert(vm, { region: 'brazilsouth' }));
    // The next clean alert on that VM is not held back by the wrong hint either.
    await h.emulator.advanceClock(65);
    await h.tick();
    const clean = await h.post(firedMetricAlert(vm));

    expect(wrong.body.outcome).toBe('started');
    expect(clean.body.outcome).toBe('started');
    expect((await recordOf(h, wrong.body.alertId as string)).region).toBe('eastus');
  });

  it('starts the capture in a region whose watcher was created after the watcher list was cached', async () => {
    h.emulator.registerVm({ id: vmId('web-01'), location: 'eastus' });
    expect((await h.post(firedMetricAlert(vmId('web-01')))).body.outcome).toBe('started');
    // A VM in a new region: the emulator creates that region's watcher now, after the app cached the list.
    h.emulator.registerVm({ id: vmId('web-02'), location: 'westus' });

    const res = await h.post(firedMetricAlert(vmId('web-02')));

    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('started');
    expect(capturesOn(h, vmId('web-02'))).toHaveLength(1);
  });

  it('answers failed naming the VM when the Network Watcher agent is missing and AUTO_INSTALL_AGENT is off', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus', agentInstalled: false });

    const res = await h.post(firedMetricAlert(vm));

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      outcome: 'failed',
      reason: 'Network Watcher agent not installed on web-01',
    });
    expect(h.emulator.captures()).toEqual([]);
    expect(h.emulator.requests().some((r) => r.method === 'PUT')).toBe(false);
  });
});

describe('AUTO_INSTALL_AGENT', () => {
  it('installs the missing agent, answers 202 pending, and the poller starts the capture once it is installed', async () => {
    resetApp(h, { AUTO_INSTALL_AGENT: 'true' });
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus', agentInstalled: false });

    const res = await h.post(firedMetricAlert(vm));

    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('pending');
    expect(res.body.reason).toContain('installing the Network Watcher agent on web-01');
    const extensionPuts = h.emulator
      .requests()
      .filter((r) => r.method === 'PUT' && /\/extensions\/AzureNetworkWatcherExtension$/i.test(r.path));
    expect(extensionPuts.map((r) => r.status)).toEqual([201]);
    expect(h.emulator.captures()).toEqual([]);

    await h.emulator.advanceClock(31);
    h.advanceAppClock(31);
    await h.tick();

    expect(capturesOn(h, vm)).toHaveLength(1);
    expect(capturePuts(h)).toHaveLength(1);
  });
});

describe('customProperties overrides', () => {
  it('clamps captureDurationSeconds to CAPTURE_MAX_TIME_LIMIT_SECONDS and says so', async () => {
    resetApp(h, { CAPTURE_MAX_TIME_LIMIT_SECONDS: '120' });
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });

    const res = await h.post(firedMetricAlert(vm, { customProperties: { captureDurationSeconds: '3600' } }));

    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('started');
    expect(res.body.reason).toContain('captureDurationSeconds lowered to the maximum 120');
    expect(capturesOn(h, vm)[0]?.timeLimitInSeconds).toBe(120);
  });

  it('takes a shorter captureDurationSeconds as asked', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });

    const res = await h.post(firedMetricAlert(vm, { customProperties: { captureDurationSeconds: '30' } }));

    expect(res.body.outcome).toBe('started');
    expect(res.body.reason).toBeUndefined();
    expect(capturesOn(h, vm)[0]?.timeLimitInSeconds).toBe(30);
  });
});

describe('an identity with roles on resource groups only', () => {
  it('finds the default watcher by name when listing the subscription is refused (403)', async () => {
    const vm = vmId('rg-scoped-01');
    h.emulator.registerVm({ id: vm, location: 'northeurope' });
    h.emulator.addFault({
      method: 'GET',
      pathPattern: '/providers/Microsoft\\.Network/networkWatchers$',
      kind: 'forbidden',
    });
    const res = await h.post(firedMetricAlert(vm, { alertId: newAlertId() }));
    h.emulator.clearFaults();
    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('started');
    expect(capturesOn(h, vm)).toHaveLength(1);
    const gets = h.emulator
      .requests()
      .filter(
        (r) =>
          r.method === 'GET' &&
          /NetworkWatcherRG\/providers\/Microsoft\.Network\/networkWatchers\/NetworkWatcher_northeurope$/i.test(
            r.path,
          ),
      );
    expect(gets.map((r) => r.status)).toEqual([200]);
  });
});
