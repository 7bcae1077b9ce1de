import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { WatcherRef } from '../../../src/azure/networkWatcherGateway.js';
import {
  firedMetricAlert,
  startAppHarness,
  SUB,
  SUB_ID,
  vmId,
  type AppHarness,
} from '../../support/appHarness.js';
import { CAPTURE_CONTAINER, CAPTURE_START_SECONDS } from '../../emulator/index.js';
import { BASE_SETTINGS, capturesOn, freshTableName, recordOf, resetApp } from './webhookTestSupport.js';

/** Capture names, ownership and the budget: what is ours is reused, what is not is counted and left alone. */

const WATCHER: WatcherRef = {
  id: `${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_eastus`,
  subscriptionId: SUB_ID,
  resourceGroup: 'NetworkWatcherRG',
  name: 'NetworkWatcher_eastus',
  location: 'eastus',
};

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness();
});
afterAll(() => h.stop());
beforeEach(() => resetApp(h));

/** Whether the blob at a capture's storage path exists in Azurite. */
async function blobExists(storagePath: string): Promise<boolean> {
  const blobName = decodeURIComponent(new URL(storagePath).pathname.split(`/${CAPTURE_CONTAINER}/`)[1] ?? '');
  return BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'))
    .getContainerClient(CAPTURE_CONTAINER)
    .getBlobClient(blobName)
    .exists();
}

describe('a finished capture of ours that the ledger does not know', () => {
  it('is left alone: the new alert captures under its own name (names are per attempt), and the first file stays', async () => {
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: 'eastus' });
    const first = await h.post(firedMetricAlert(vm));
    await h.emulator.advanceClock(65);
    const [finished] = capturesOn(h, vm);
    expect(finished).toMatchObject({ status: 'Stopped', stopReason: 'TimeExceeded' });
    const firstFile = finished?.storagePath as string;
    expect(await blobExists(firstFile)).toBe(true);
    // A new function instance over a ledger that does not know the first capture (lost, or left behind).
    h.restart({ ...BASE_SETTINGS, LEDGER_TABLE_NAME: freshTableName() });

    const second = await h.post(firedMetricAlert(vm));

    expect(second.status).toBe(202);
    expect(second.body.outcome).toBe('started');
    expect(second.body.captureName).not.toBe(first.body.captureName);
    const deletes = h.emulator.requests().filter((r) => r.method === 'DELETE');
    expect(deletes).toEqual([]);
    expect(capturesOn(h, vm).map((c) => [c.name, c.status])).toEqual([
      [first.body.captureName, 'Stopped'],
      [second.body.captureName, 'NotStarted'],
    ]);
    expect(await blobExists(firstFile)).toBe(true);
  });
});

describe('a capture made by a person', () => {
  it('counts toward the budget and is never stopped or deleted, even once finished', async () => {
    resetApp(h, { CAPTURE_SESSION_BUDGET: '2' });
    for (const name of ['web-01', 'web-02', 'jump-01'])
      h.emulator.registerVm({ id: vmId(name), location: 'eastus' });
    await h.ctx.gateway.createCapture(WATCHER, 'jane-debug', {
      target: vmId('jump-01'),
      targetType: 'AzureVM',
      timeLimitInSeconds: 60,
      storageLocation: { storageId: h.settings.CAPTURE_STORAGE_ACCOUNT_ID },
    });

    const first = await h.post(firedMetricAlert(vmId('web-01')));
    const second = await h.post(firedMetricAlert(vmId('web-02')));

    expect(first.body.outcome).toBe('started');
    expect(second.body.outcome).toBe('pending');
    expect(second.body.reason).toContain('capture budget for eastus is used up (2 sessions)');

    // Everything finishes; the poller notifies and cleans up ours, which frees the slot for web-02.
    await h.emulator.advanceClock(65);
    for (let i = 0; i < 3 && capturesOn(h, vmId('web-02')).length === 0; i++) {
      h.advanceAppClock(301);
      await h.tick();
    }

    expect(capturesOn(h, vmId('web-02'))).toHaveLength(1);
    const jane = h.emulator.captures().find((c) => c.name === 'jane-debug');
    expect(jane).toMatchObject({ status: 'Stopped', stopReason: 'TimeExceeded' });
    const touchingJane = h.emulator
      .requests()
      .filter((r) => /\/packetCaptures\/jane-debug(\/|$)/i.test(r.path) && r.method !== 'GET')
      // Its status is read (to know whether it still runs); it is never stopped or deleted.
      .filter((r) => !r.path.endsWith('/queryStatus'));
    expect(touchingJane.map((r) => r.method)).toEqual(['PUT']);
  });
});

describe('same-named VMs in two resource groups', () => {
  it('get separate captures, each on its own VM', async () => {
    const a = vmId('web-01', 'team-a-rg');
    const b = vmId('web-01', 'team-b-rg');
    h.emulator.registerVm({ id: a, location: 'eastus' });
    h.emulator.registerVm({ id: b, location: 'eastus' });

    const [resA, resB] = await Promise.all([h.post(firedMetricAlert(a)), h.post(firedMetricAlert(b))]);

    expect(resA?.body.outcome).toBe('started');
    expect(resB?.body.outcome).toBe('started');
    expect(resA?.body.captureName).not.toBe(resB?.body.captureName);
    expect(capturesOn(h, a).map((c) => c.name)).toEqual([resA?.body.captureName]);
    expect(capturesOn(h, b).map((c) => c.name)).toEqual([resB?.body.captureName]);
  });
});

describe('the platform session limit', () => {
  it('below the budget: a refused PUT leaves the alert pending, and its capture starts once a session is free', async () => {
    h.emulator.configure({ sessionLimit: 1 });
    h.emulator.registerVm({ id: vmId('web-01'), location: 'eastus' });
    h.emulator.registerVm({ id: vmId('web-02'), location: 'eastus' });
    const first = await h.post(firedMetricAlert(vmId('web-01')));
    const alert = firedMetricAlert(vmId('web-02'));

    const res = await h.post(alert);

    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('pending');
    expect(res.body.reason).toContain('PacketCaptureSessionLimitReached');
    expect(h.emulator.limitRefusals()).toBe(1);
    expect((await recordOf(h, alert.data.essentials.alertId)).state).toBe('pending');

    // Someone deletes the first capture once it started (before, ARM answers 409 AnotherOperationInProgress).
    await h.emulator.advanceClock(CAPTURE_START_SECONDS);
    await h.ctx.gateway.deleteCapture(WATCHER, first.body.captureName as string, { abortSignal: undefined });
    await h.emulator.advanceClock(0); // the delete was accepted, not waited for
    h.advanceAppClock(301);
    await h.tick();

    expect(capturesOn(h, vmId('web-02'))).toHaveLength(1);
  });
});
