import { ResourceManagementClient } from '@azure/arm-resources';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CAPTURE_START_SECONDS, emulatorCredential, type Emulator } from '../../emulator/index.js';
import { FAST_POLL, networkClient, startTestEmulator } from './emulatorFixture.js';

const SUB = '55555555-0000-0000-0000-000000000000';
const VM = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`;
const EXT = `${VM}/extensions/AzureNetworkWatcherExtension`;
const COMPUTE = '2024-07-01';
const agentBody = {
  location: 'eastus',
  properties: {
    publisher: 'Microsoft.Azure.NetworkWatcher',
    type: 'NetworkWatcherAgentLinux',
    typeHandlerVersion: '1.4',
    autoUpgradeMinorVersion: true,
  },
};

let emulator: Emulator;
let resources: ResourceManagementClient;
beforeAll(async () => {
  // Real-time clock (scale 1): nothing moves unless a test advances it.
  emulator = await startTestEmulator({ timeScale: 1, agentInstallSeconds: 30 });
  resources = new ResourceManagementClient(emulatorCredential(emulator), SUB, {
    endpoint: emulator.url,
    retryOptions: { retryDelayInMs: 5 },
  });
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.registerVm({ id: VM, location: 'eastus', osType: 'Linux', agentInstalled: false });
});

describe('virtual machine through @azure/arm-resources', () => {
  it('answers the VM with location, vmId and OS type', async () => {
    const vm = await resources.resources.getById(VM, COMPUTE);
    expect(vm).toMatchObject({
      id: VM,
      name: 'vm1',
      type: 'Microsoft.Compute/virtualMachines',
      location: 'eastus',
    });
    const properties = vm.properties as { vmId: string; storageProfile: { osDisk: { osType: string } } };
    expect(properties.vmId).toMatch(/^[0-9a-f-]{36}$/);
    expect(properties.storageProfile.osDisk.osType).toBe('Linux');
  });

  it('answers 404 ResourceNotFound for a VM that is not registered', async () => {
    await expect(resources.resources.getById(VM.replace(/vm1$/, 'ghost'), COMPUTE)).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
  });

  it('refuses a Microsoft.Network api-version on a Compute route', async () => {
    await expect(resources.resources.getById(VM, '2025-05-01')).rejects.toMatchObject({
      statusCode: 400,
      code: 'InvalidApiVersionParameter',
    });
  });
});

describe('Network Watcher agent extension', () => {
  it('answers 404 NotFound-style for the agent extension of a VM without the agent', async () => {
    await expect(resources.resources.getById(EXT, COMPUTE)).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
  });

  it('answers the agent extension as Succeeded on a VM registered with the agent', async () => {
    const withAgent = VM.replace(/vm1$/, 'vm2');
    emulator.registerVm({ id: withAgent, location: 'eastus', osType: 'Windows' });
    const ext = await resources.resources.getById(
      `${withAgent}/extensions/AzureNetworkWatcherExtension`,
      COMPUTE,
    );
    expect(ext.properties).toMatchObject({
      publisher: 'Microsoft.Azure.NetworkWatcher',
      type: 'NetworkWatcherAgentWindows',
      provisioningState: 'Succeeded',
    });
  });

  it('is Creating after the PUT and Succeeded after agentInstallSeconds', async () => {
    const poller = await resources.resources.beginCreateOrUpdateById(EXT, COMPUTE, agentBody, FAST_POLL);
    expect(
      (poller.getOperationState().result ?? (await resources.resources.getById(EXT, COMPUTE))).properties,
    ).toMatchObject({
      provisioningState: 'Creating',
    });
    await emulator.advanceClock(29);
    expect((await resources.resources.getById(EXT, COMPUTE)).properties).toMatchObject({
      provisioningState: 'Creating',
    });
    await emulator.advanceClock(1);
    expect((await resources.resources.getById(EXT, COMPUTE)).properties).toMatchObject({
      provisioningState: 'Succeeded',
    });
  });

  it('lets a capture run once the agent installed through the SDK poller is ready', async () => {
    emulator.configure({ timeScale: 1000 });
    try {
      const ext = await resources.resources.beginCreateOrUpdateByIdAndWait(
        EXT,
        COMPUTE,
        agentBody,
        FAST_POLL,
      );
      expect(ext.properties).toMatchObject({ provisioningState: 'Succeeded' });
      const client = networkClient(emulator, SUB);
      await client.packetCaptures.beginCreate('NetworkWatcherRG', 'NetworkWatcher_eastus', 'pc', {
        target: VM,
        storageLocation: {
          storageId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/store1`,
        },
        timeLimitInSeconds: 600,
      });
      await emulator.advanceClock(CAPTURE_START_SECONDS);
      // On the fast clock it may already have reached its limit; what matters is that the agent was there.
      expect(emulator.captures()[0]).toMatchObject({
        status: expect.stringMatching(/^(Running|Stopped)$/) as unknown,
        errors: [],
      });
    } finally {
      emulator.configure({ timeScale: 1 });
    }
  });

  it('refuses the Windows agent on a Linux VM', async () => {
    await expect(
      resources.resources.beginCreateOrUpdateById(EXT, COMPUTE, {
        ...agentBody,
        properties: { ...agentBody.properties, type: 'NetworkWatcherAgentWindows' },
      }),
    ).rejects.toMatchObject({ statusCode: 400 });
  });

  it('fails the PUT operation on an operationFailed fault, and the agent never becomes ready', async () => {
    emulator.configure({ timeScale: 1000 });
    try {
      emulator.addFault({ method: 'PUT', pathPattern: '/extensions/', kind: 'operationFailed', count: 1 });
      await expect(
        resources.resources.beginCreateOrUpdateByIdAndWait(EXT, COMPUTE, agentBody, FAST_POLL),
      ).rejects.toThrow(/VMExtensionProvisioningError/);
      expect((await resources.resources.getById(EXT, COMPUTE)).properties).toMatchObject({
        provisioningState: 'Failed',
      });
    } finally {
      emulator.configure({ timeScale: 1 });
    }
  });
});
