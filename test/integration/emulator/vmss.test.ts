import type { NetworkManagementClient, PacketCapture } from '@azure/arm-network';
import { ResourceManagementClient } from '@azure/arm-resources';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, it, inject } from 'vitest';
import {
  CAPTURE_CONTAINER,
  CAPTURE_START_SECONDS,
  emulatorCredential,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_UPLOAD_DELAY_SECONDS,
  type Emulator,
} from '../../emulator/index.js';
import { FAST_POLL, networkClient, startTestEmulator } from './emulatorFixture.js';

/** Virtual machine scale sets: the scale set and instance GETs, and captures with `targetType: 'AzureVMSS'`. */

const SUB = '66666666-0000-0000-0000-000000000000';
const SCALE_SET = `/subscriptions/${SUB}/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachineScaleSets/web-vmss`;
const instance = (i: string) => `${SCALE_SET}/virtualMachines/${i}`;
const STORAGE_ID = `/subscriptions/${SUB}/resourceGroups/prod-rg/providers/Microsoft.Storage/storageAccounts/capturestore`;
const WATCHER = { rg: 'NetworkWatcherRG', name: 'NetworkWatcher_westeurope' };
/** The Compute api-version the app's `resources.getById` calls send. */
const COMPUTE = '2024-07-01';

let emulator: Emulator;
let network: NetworkManagementClient;
let resources: ResourceManagementClient;
beforeAll(async () => {
  // timeScale 1: the emulated clock moves only when a test advances it.
  emulator = await startTestEmulator({
    timeScale: 1,
    blobConnectionString: inject('azuriteConnectionString'),
  });
  network = networkClient(emulator, SUB);
  resources = new ResourceManagementClient(emulatorCredential(emulator), SUB, {
    endpoint: emulator.url,
    retryOptions: { retryDelayInMs: 5 },
  });
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.registerVm({ id: instance('1'), location: 'westeurope' });
  emulator.registerVm({ id: instance('3'), location: 'westeurope' });
});

function vmssCapture(scope?: PacketCapture['scope']): PacketCapture {
  return {
    target: SCALE_SET,
    targetType: 'AzureVMSS',
    ...(scope === undefined ? {} : { scope }),
    storageLocation: { storageId: STORAGE_ID },
    timeLimitInSeconds: 60,
  };
}

async function blobExists(storagePath: string): Promise<boolean> {
  const container = BlobServiceClient.fromConnectionString(
    inject('azuriteConnectionString'),
  ).getContainerClient(CAPTURE_CONTAINER);
  const prefix = `${container.url}/`;
  expect(storagePath.startsWith(prefix)).toBe(true);
  return container.getBlobClient(storagePath.slice(prefix.length)).exists();
}

describe('scale set GET through @azure/arm-resources', () => {
  it('answers a scale set whose instances are registered, with region, sku, uniqueId and OS type', async () => {
    const ss = await resources.resources.getById(SCALE_SET, COMPUTE);

    expect(ss).toMatchObject({
      id: SCALE_SET,
      name: 'web-vmss',
      type: 'Microsoft.Compute/virtualMachineScaleSets',
      location: 'westeurope',
      sku: { name: 'Standard_D2s_v3', tier: 'Standard', capacity: 2 },
    });
    const properties = ss.properties as {
      uniqueId: string;
      orchestrationMode: string;
      provisioningState: string;
      virtualMachineProfile: { storageProfile: { osDisk: { osType: string } } };
    };
    expect(properties.uniqueId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(properties.virtualMachineProfile.storageProfile.osDisk.osType).toBe('Linux');
    expect(properties).toMatchObject({ orchestrationMode: 'Uniform', provisioningState: 'Succeeded' });
  });

  it('answers the same scale set for the lower-case id Azure Monitor alerts carry', async () => {
    const ss = await resources.resources.getById(SCALE_SET.toLowerCase(), COMPUTE);
    expect(ss).toMatchObject({ id: SCALE_SET, location: 'westeurope' });
  });

  it('reports the OS type its instances were registered with', async () => {
    const windows = SCALE_SET.replace(/web-vmss$/, 'win-vmss');
    emulator.registerVm({ id: `${windows}/virtualMachines/0`, location: 'westeurope', osType: 'Windows' });
    const ss = await resources.resources.getById(windows, COMPUTE);
    expect(ss.properties).toMatchObject({
      virtualMachineProfile: { storageProfile: { osDisk: { osType: 'Windows' } } },
    });
  });

  it('keeps the same uniqueId across GETs', async () => {
    const first = (await resources.resources.getById(SCALE_SET, COMPUTE)).properties as { uniqueId: string };
    const second = (await resources.resources.getById(SCALE_SET, COMPUTE)).properties as { uniqueId: string };
    expect(second.uniqueId).toBe(first.uniqueId);
  });

  it('answers 404 ResourceNotFound for a scale set without registered instances', async () => {
    await expect(
      resources.resources.getById(SCALE_SET.replace(/web-vmss$/, 'ghost-vmss'), COMPUTE),
    ).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });

  it('refuses a Microsoft.Network api-version on the scale set route', async () => {
    await expect(resources.resources.getById(SCALE_SET, '2025-05-01')).rejects.toMatchObject({
      statusCode: 400,
      code: 'InvalidApiVersionParameter',
    });
  });

  it('refuses to register an instance in another region than its scale set', () => {
    expect(() => emulator.registerVm({ id: instance('4'), location: 'eastus' })).toThrow(
      /location must be the scale set's region "westeurope"/,
    );
  });
});

describe('scale set instance GET through @azure/arm-resources', () => {
  it('answers a registered instance with its instance id, scale-set name and vmId', async () => {
    const vm = await resources.resources.getById(instance('3'), COMPUTE);

    expect(vm).toMatchObject({
      id: instance('3'),
      name: 'web-vmss_3',
      type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
      location: 'westeurope',
    });
    expect((vm as { instanceId?: string }).instanceId).toBe('3');
    const properties = vm.properties as {
      vmId: string;
      osProfile: { computerName: string };
      storageProfile: { osDisk: { osType: string } };
    };
    expect(properties.vmId).toMatch(/^[0-9a-f-]{36}$/);
    expect(properties.osProfile.computerName).toBe('web-vmss000003');
    expect(properties.storageProfile.osDisk.osType).toBe('Linux');
  });

  it('answers 404 ResourceNotFound for an instance that is not registered', async () => {
    await expect(resources.resources.getById(instance('9'), COMPUTE)).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
  });
});

describe('packet capture on a scale set instance through @azure/arm-network', () => {
  it('runs on the instance of scope.include and writes its file under that instance', async () => {
    const creating = await network.packetCaptures.beginCreate(
      WATCHER.rg,
      WATCHER.name,
      'pc-vmss',
      vmssCapture({ include: ['3'] }),
      FAST_POLL,
    );
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS); // the create operation ends
    const created = await creating.pollUntilDone();
    expect(created).toMatchObject({ target: SCALE_SET, targetType: 'AzureVMSS', scope: { include: ['3'] } });
    const [view] = emulator.captures();
    expect(view).toMatchObject({ targetType: 'AzureVMSS', instanceId: '3', status: 'Running' });

    await emulator.advanceClock(60 + DEFAULT_UPLOAD_DELAY_SECONDS);

    const status = await network.packetCaptures.beginGetStatusAndWait(
      WATCHER.rg,
      WATCHER.name,
      'pc-vmss',
      FAST_POLL,
    );
    expect(status).toMatchObject({ packetCaptureStatus: 'Stopped', stopReason: 'TimeExceeded' });
    const got = await network.packetCaptures.get(WATCHER.rg, WATCHER.name, 'pc-vmss');
    const storagePath = got.storageLocation?.storagePath ?? '';
    expect(storagePath).toMatch(
      new RegExp(
        `/${CAPTURE_CONTAINER}/subscriptions/${SUB}/resourcegroups/prod-rg/providers/microsoft\\.compute/` +
          'virtualmachinescalesets/web-vmss/virtualMachines/3/\\d{4}/\\d{2}/\\d{2}/' +
          'packetcapture_\\d{2}_\\d{2}_\\d{2}_\\d{3}\\.cap$',
      ),
    );
    expect(await blobExists(storagePath)).toBe(true);
    expect(emulator.captures()[0]?.packets).toBeGreaterThan(0);
  });

  it('runs on the instance the scale set id names in lower case, as the app sends it from an alert', async () => {
    await network.packetCaptures.beginCreate(WATCHER.rg, WATCHER.name, 'pc-lower', {
      ...vmssCapture({ include: ['3'] }),
      target: SCALE_SET.toLowerCase(),
    });
    await emulator.advanceClock(CAPTURE_START_SECONDS);
    expect(emulator.captures()[0]).toMatchObject({ instanceId: '3', status: 'Running' });
  });

  it('stops on request like a VM capture (Manual) and keeps the packets captured until then', async () => {
    await network.packetCaptures.beginCreate(
      WATCHER.rg,
      WATCHER.name,
      'pc-stop',
      vmssCapture({ include: ['3'] }),
    );
    await emulator.advanceClock(CAPTURE_START_SECONDS + 30);

    const stopping = await network.packetCaptures.beginStop(WATCHER.rg, WATCHER.name, 'pc-stop', FAST_POLL);
    await emulator.advanceClock(Math.max(DEFAULT_RETRY_AFTER_SECONDS, DEFAULT_UPLOAD_DELAY_SECONDS));
    await stopping.pollUntilDone();

    const status = await network.packetCaptures.beginGetStatusAndWait(
      WATCHER.rg,
      WATCHER.name,
      'pc-stop',
      FAST_POLL,
    );
    expect(status).toMatchObject({ packetCaptureStatus: 'Stopped', stopReason: 'Manual' });
    const storagePath = emulator.captures()[0]?.storagePath ?? '';
    expect(storagePath).toContain('/virtualmachinescalesets/web-vmss/virtualMachines/3/');
    expect(await blobExists(storagePath)).toBe(true);
  });

  it('answers 400 naming properties.scope.include[1] for an instance the scale set does not have', async () => {
    const put = network.packetCaptures.beginCreate(
      WATCHER.rg,
      WATCHER.name,
      'pc-unknown',
      vmssCapture({ include: ['3', '7'] }),
    );
    await expect(put).rejects.toMatchObject({ statusCode: 400, code: 'InvalidRequestFormat' });
    await expect(put).rejects.toThrow(/properties\.scope\.include\[1\].*'7'/);
    expect(emulator.captures()).toEqual([]);
  });

  it('runs on the first registered instance when no scope is given', async () => {
    await network.packetCaptures.beginCreate(WATCHER.rg, WATCHER.name, 'pc-any', vmssCapture());
    expect(emulator.captures()[0]).toMatchObject({ instanceId: '1' });
  });

  it('skips the instances of scope.exclude', async () => {
    await network.packetCaptures.beginCreate(
      WATCHER.rg,
      WATCHER.name,
      'pc-exclude',
      vmssCapture({ exclude: ['1'] }),
    );
    expect(emulator.captures()[0]).toMatchObject({ instanceId: '3' });
  });

  it('answers 400 naming properties.scope.exclude when it leaves no instance', async () => {
    await expect(
      network.packetCaptures.beginCreate(
        WATCHER.rg,
        WATCHER.name,
        'pc-none',
        vmssCapture({ exclude: ['1', '3'] }),
      ),
    ).rejects.toThrow(/properties\.scope\.exclude/);
  });

  it('answers 404 ResourceNotFound for a scale set without registered instances', async () => {
    await expect(
      network.packetCaptures.beginCreate(WATCHER.rg, WATCHER.name, 'pc-ghost', {
        ...vmssCapture({ include: ['0'] }),
        target: SCALE_SET.replace(/web-vmss$/, 'ghost-vmss'),
      }),
    ).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });
});
