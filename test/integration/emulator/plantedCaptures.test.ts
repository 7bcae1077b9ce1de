import type { NetworkManagementClient } from '@azure/arm-network';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  CAPTURE_CONTAINER,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_UPLOAD_DELAY_SECONDS,
  type Emulator,
  type EmulatorCapture,
} from '../../emulator/index.js';
import { FAST_POLL, networkClient, rawRequest, startTestEmulator } from './emulatorFixture.js';

/** Captures made by people (POST /_emulator/captures): seen through ARM like any other, and counted. */
const SUB = '99999999-0000-0000-0000-000000000000';
const VM = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-01`;
const OTHER_VM = `/subscriptions/${SUB}/resourceGroups/ops-rg/providers/Microsoft.Compute/virtualMachines/jump-01`;
const NW = { rg: 'NetworkWatcherRG', name: 'NetworkWatcher_westeurope' };
const WATCHER_ID = `/subscriptions/${SUB}/resourceGroups/${NW.rg}/providers/Microsoft.Network/networkWatchers/${NW.name}`;
const STORAGE_ID = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Storage/storageAccounts/store1`;

let emulator: Emulator;
let client: NetworkManagementClient;
beforeAll(async () => {
  emulator = await startTestEmulator({
    timeScale: 1,
    blobConnectionString: inject('azuriteConnectionString'),
  });
  client = networkClient(emulator, SUB, { maxRetries: 0 });
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.configure({ sessionLimit: 10_000 });
  emulator.registerVm({ id: VM, location: 'westeurope' });
});

function plant(body: unknown) {
  return rawRequest(emulator, '/_emulator/captures', { method: 'POST', body });
}

async function list() {
  const out = [];
  for await (const c of client.packetCaptures.list(NW.rg, NW.name)) out.push(c);
  return out;
}

describe('POST /_emulator/captures', () => {
  it('plants a Stopped capture that list, get and queryStatus show like any other', async () => {
    const answer = await plant({
      watcherId: WATCHER_ID,
      name: 'portal-capture',
      target: OTHER_VM,
      status: 'Stopped',
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ name: 'portal-capture', status: 'Stopped', planted: true });
    expect(await list()).toMatchObject([
      { name: 'portal-capture', target: OTHER_VM, provisioningState: 'Succeeded' },
    ]);
    const got = await client.packetCaptures.get(NW.rg, NW.name, 'portal-capture');
    expect(got.storageLocation?.storagePath).toMatch(
      /\/virtualmachines\/jump-01\/\d{4}\/\d{2}\/\d{2}\/packetcapture_/,
    );
    expect(
      await client.packetCaptures.beginGetStatusAndWait(NW.rg, NW.name, 'portal-capture', FAST_POLL),
    ).toMatchObject({
      packetCaptureStatus: 'Stopped',
      stopReason: 'TimeExceeded',
    });
  });

  it('counts planted captures toward the session limit: ten stopped leftovers refuse the next PUT', async () => {
    emulator.configure({ sessionLimit: 10 });
    for (let i = 0; i < 10; i++) {
      expect(
        (await plant({ watcherId: WATCHER_ID, name: `left-${i}`, target: OTHER_VM, status: 'Stopped' }))
          .status,
      ).toBe(201);
    }
    const params = { target: VM, storageLocation: { storageId: STORAGE_ID }, timeLimitInSeconds: 60 };
    await expect(client.packetCaptures.beginCreate(NW.rg, NW.name, 'ours', params)).rejects.toMatchObject({
      statusCode: 409,
      code: 'PacketCaptureSessionLimitReached',
    });
    // Deleting one leftover frees its slot once the delete has ended.
    await client.packetCaptures.beginDelete(NW.rg, NW.name, 'left-0');
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
    await client.packetCaptures.beginCreate(NW.rg, NW.name, 'ours', params);
    expect(emulator.captures().map((c) => c.name)).toContain('ours');
  });

  it('plants a Running capture that stops at its time limit and uploads its file like any other', async () => {
    const answer = await plant({
      watcherId: WATCHER_ID,
      name: 'someone-debugging',
      target: VM,
      status: 'Running',
      timeLimitInSeconds: 120,
    });
    expect(answer.body).toMatchObject({ status: 'Running', captureStartTime: expect.any(String) as unknown });
    expect(
      await client.packetCaptures.beginGetStatusAndWait(NW.rg, NW.name, 'someone-debugging', FAST_POLL),
    ).toMatchObject({
      packetCaptureStatus: 'Running',
    });
    await emulator.advanceClock(120 + DEFAULT_UPLOAD_DELAY_SECONDS);
    const capture = emulator.captures()[0] as EmulatorCapture;
    expect(capture).toMatchObject({ status: 'Stopped', stopReason: 'TimeExceeded' });
    const service = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
    const container = service.getContainerClient(CAPTURE_CONTAINER);
    expect(await container.getBlobClient(capture.storagePath!.slice(container.url.length + 1)).exists()).toBe(
      true,
    );
  });

  it('plants an Error capture with its errors', async () => {
    await plant({
      watcherId: WATCHER_ID,
      name: 'broken',
      target: VM,
      status: 'Error',
      errors: ['AgentStopped'],
    });
    expect(
      await client.packetCaptures.beginGetStatusAndWait(NW.rg, NW.name, 'broken', FAST_POLL),
    ).toMatchObject({
      packetCaptureStatus: 'Error',
      packetCaptureError: ['AgentStopped'],
    });
  });

  it('plants on a scale set', async () => {
    const ss = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachineScaleSets/web-vmss`;
    const answer = await plant({
      watcherId: WATCHER_ID,
      name: 'vmss-capture',
      target: ss,
      status: 'Stopped',
    });
    expect(answer.body).toMatchObject({ targetType: 'AzureVMSS', target: ss });
  });

  it.each([
    [{ name: 'x', target: VM, status: 'Stopped' }, 'watcherId'],
    [{ watcherId: `${WATCHER_ID}-nope`, name: 'x', target: VM, status: 'Stopped' }, 'watcherId'],
    [{ watcherId: WATCHER_ID, name: 'a b', target: VM, status: 'Stopped' }, 'name'],
    [{ watcherId: WATCHER_ID, name: 'x', target: 'vm1', status: 'Stopped' }, 'target'],
    [
      {
        watcherId: WATCHER_ID,
        name: 'x',
        target: VM.replace(SUB, '00000000-0000-0000-0000-000000000001'),
        status: 'Stopped',
      },
      'target',
    ],
    [{ watcherId: WATCHER_ID, name: 'x', target: VM, status: 'Done' }, 'status'],
    [
      { watcherId: WATCHER_ID, name: 'x', target: VM, status: 'Running', timeLimitInSeconds: -1 },
      'timeLimitInSeconds',
    ],
    [{ watcherId: WATCHER_ID, name: 'x', target: VM, status: 'Error', errors: 'bad' }, 'errors'],
  ])('refuses %o naming %s, and plants nothing', async (body, field) => {
    const answer = await plant(body);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: { code: 'InvalidRequest', message: expect.stringContaining(field) as unknown },
    });
    expect(emulator.captures()).toEqual([]);
  });

  it('refuses a name that already exists', async () => {
    await plant({ watcherId: WATCHER_ID, name: 'dup', target: VM, status: 'Stopped' });
    const again = await plant({ watcherId: WATCHER_ID, name: 'dup', target: VM, status: 'Running' });
    expect(again.status).toBe(400);
    expect(emulator.captures()).toMatchObject([{ name: 'dup', status: 'Stopped' }]);
  });
});
