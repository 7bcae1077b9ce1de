import { ResourceManagementClient } from '@azure/arm-resources';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CAPTURE_START_SECONDS, emulatorCredential, type Emulator } from '../../emulator/index.js';
import { bearer, networkClient, rawRequest, startTestEmulator } from './emulatorFixture.js';

const SUB = '77777777-0000-0000-0000-000000000000';
const RG = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute`;
const VM = `${RG}/virtualMachines/vm1`;
const COMPUTE = '2024-07-01';

let emulator: Emulator;
let resources: ResourceManagementClient;
beforeAll(async () => {
  emulator = await startTestEmulator({ timeScale: 1 });
  resources = new ResourceManagementClient(emulatorCredential(emulator), SUB, {
    endpoint: emulator.url,
    retryOptions: { retryDelayInMs: 5 },
  });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

async function listExtensions(id: string, query = ''): Promise<Array<Record<string, unknown>>> {
  const answer = await rawRequest(emulator, `${id}/extensions?api-version=${COMPUTE}${query}`, {
    headers: await bearer(emulator),
  });
  expect(answer.status).toBe(200);
  return (answer.body as { value: Array<Record<string, unknown>> }).value;
}

describe('agent extension under any name', () => {
  it('lists the agent under the name it was registered with, with the Network Watcher handler', async () => {
    emulator.registerVm({ id: VM, location: 'eastus', agentExtensionName: 'networkWatcherAgent' });
    expect(await listExtensions(VM)).toEqual([
      expect.objectContaining({
        id: `${VM}/extensions/networkWatcherAgent`,
        name: 'networkWatcherAgent',
        type: 'Microsoft.Compute/virtualMachines/extensions',
        properties: expect.objectContaining({
          publisher: 'Microsoft.Azure.NetworkWatcher',
          type: 'NetworkWatcherAgentLinux',
          provisioningState: 'Succeeded',
        }) as unknown,
      }),
    ]);
    // The default name is not there: a probe by name finds nothing.
    await expect(
      resources.resources.getById(`${VM}/extensions/AzureNetworkWatcherExtension`, COMPUTE),
    ).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });

  it('answers the VM and its extension list through @azure/arm-resources', async () => {
    emulator.registerVm({ id: VM, location: 'eastus', osType: 'Windows' });
    const ext = await resources.resources.getById(`${VM}/extensions/AzureNetworkWatcherExtension`, COMPUTE);
    expect(ext.properties).toMatchObject({
      type: 'NetworkWatcherAgentWindows',
      provisioningState: 'Succeeded',
    });
    const vm = await resources.resources.getById(VM, COMPUTE);
    expect(vm).toMatchObject({ id: VM });
  });

  it('answers an empty list for a VM without the agent', async () => {
    emulator.registerVm({ id: VM, location: 'eastus', agentInstalled: false });
    expect(await listExtensions(VM)).toEqual([]);
  });

  it.each([
    ['Transitioning', 'Updating', 'ProvisioningState/transitioning'],
    ['Failed', 'Failed', 'ProvisioningState/failed'],
  ] as const)(
    'reports a %s agent as provisioningState %s, with the instance view on $expand',
    async (agentState, provisioningState, code) => {
      emulator.registerVm({ id: VM, location: 'eastus', agentState });
      const [plain] = await listExtensions(VM);
      expect(plain!.properties).toMatchObject({ provisioningState });
      expect(plain!.properties).not.toHaveProperty('instanceView');
      const [expanded] = await listExtensions(VM, '&$expand=instanceView');
      expect(expanded!.properties).toMatchObject({
        provisioningState,
        instanceView: { statuses: [{ code }] },
      });
    },
  );

  it('refuses a second extension of the same handler under another name (400 BadRequest)', async () => {
    emulator.registerVm({ id: VM, location: 'eastus', agentExtensionName: 'Microsoft.Azure.NetworkWatcher' });
    const put = resources.resources.beginCreateOrUpdateById(
      `${VM}/extensions/AzureNetworkWatcherExtension`,
      COMPUTE,
      {
        location: 'eastus',
        properties: {
          publisher: 'Microsoft.Azure.NetworkWatcher',
          type: 'NetworkWatcherAgentLinux',
          typeHandlerVersion: '1.4',
        },
      },
    );
    await expect(put).rejects.toMatchObject({ statusCode: 400, code: 'BadRequest' });
    await expect(put).rejects.toThrow(
      /Multiple VMExtensions per handler.*'Microsoft\.Azure\.NetworkWatcher'.*Microsoft\.Azure\.NetworkWatcher\.NetworkWatcherAgentLinux/,
    );
    expect(await listExtensions(VM)).toHaveLength(1);
  });

  it('lets the existing agent be PUT again under its own name, which reinstalls a failed one', async () => {
    emulator.registerVm({ id: VM, location: 'eastus', agentExtensionName: 'nwAgent', agentState: 'Failed' });
    emulator.configure({ timeScale: 1000 });
    try {
      const ext = await resources.resources.beginCreateOrUpdateByIdAndWait(
        `${VM}/extensions/nwAgent`,
        COMPUTE,
        {
          location: 'eastus',
          properties: {
            publisher: 'Microsoft.Azure.NetworkWatcher',
            type: 'NetworkWatcherAgentLinux',
            typeHandlerVersion: '1.4',
          },
        },
        { updateIntervalInMs: 5 },
      );
      expect(ext.properties).toMatchObject({ provisioningState: 'Succeeded' });
    } finally {
      emulator.configure({ timeScale: 1 });
    }
  });

  it('refuses a bad agentState or agentExtensionName through the admin API, naming the field', async () => {
    for (const [body, field] of [
      [{ id: VM, location: 'eastus', agentState: 'Running' }, 'agentState'],
      [{ id: VM, location: 'eastus', agentExtensionName: 'a/b' }, 'agentExtensionName'],
      [{ id: VM, location: 'eastus', agentInstalled: false, agentState: 'Failed' }, 'agentState'],
    ] as const) {
      const answer = await rawRequest(emulator, '/_emulator/vms', { method: 'POST', body });
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.body)).toContain(field);
    }
    expect(
      await rawRequest(emulator, `${VM}?api-version=${COMPUTE}`, { headers: await bearer(emulator) }),
    ).toMatchObject({ status: 404 });
  });
});

describe('captures on a VM whose agent is not Succeeded', () => {
  it.each(['Transitioning', 'Failed'] as const)(
    'accepts the capture, which then ends in Error AgentStopped (agent %s)',
    async (agentState) => {
      emulator.registerVm({
        id: VM,
        location: 'eastus',
        agentExtensionName: 'networkWatcherAgent',
        agentState,
      });
      await networkClient(emulator, SUB).packetCaptures.beginCreate(
        'NetworkWatcherRG',
        'NetworkWatcher_eastus',
        'pc',
        {
          target: VM,
          storageLocation: {
            storageId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/store1`,
          },
        },
      );
      await emulator.advanceClock(CAPTURE_START_SECONDS);
      expect(emulator.captures()[0]).toMatchObject({ status: 'Error', errors: ['AgentStopped'] });
    },
  );

  it('runs a capture on a VM whose agent has another name', async () => {
    emulator.registerVm({ id: VM, location: 'eastus', agentExtensionName: 'networkWatcherAgent' });
    await networkClient(emulator, SUB).packetCaptures.beginCreate(
      'NetworkWatcherRG',
      'NetworkWatcher_eastus',
      'pc',
      {
        target: VM,
        storageLocation: {
          storageId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/store1`,
        },
      },
    );
    await emulator.advanceClock(CAPTURE_START_SECONDS);
    expect(emulator.captures()[0]).toMatchObject({ status: 'Running', errors: [] });
  });
});

describe('scale-set model extensions', () => {
  const SS = `${RG}/virtualMachineScaleSets/web-vmss`;

  it('answers the agent in the model (GET on the scale set) and in the scale-set extension list', async () => {
    emulator.registerVm({
      id: `${SS}/virtualMachines/0`,
      location: 'eastus',
      agentExtensionName: 'NetworkWatcher',
      agentState: 'Transitioning',
    });
    const vmss = await resources.resources.getById(SS, COMPUTE);
    const profile = (
      vmss.properties as { virtualMachineProfile: { extensionProfile: { extensions: unknown[] } } }
    ).virtualMachineProfile.extensionProfile;
    const expected = {
      name: 'NetworkWatcher',
      properties: expect.objectContaining({
        publisher: 'Microsoft.Azure.NetworkWatcher',
        type: 'NetworkWatcherAgentLinux',
        provisioningState: 'Updating',
      }) as unknown,
    };
    expect(profile.extensions).toEqual([expect.objectContaining(expected)]);
    expect(await listExtensions(SS)).toEqual([
      expect.objectContaining({ ...expected, type: 'Microsoft.Compute/virtualMachineScaleSets/extensions' }),
    ]);
  });

  it("lists an instance's own extensions (VirtualMachineScaleSetVMExtensions_List)", async () => {
    emulator.registerVm({ id: `${SS}/virtualMachines/4`, location: 'eastus', agentState: 'Failed' });
    expect(await listExtensions(`${SS}/virtualMachines/4`)).toEqual([
      expect.objectContaining({
        name: 'AzureNetworkWatcherExtension',
        type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions',
        properties: expect.objectContaining({ provisioningState: 'Failed' }) as unknown,
      }),
    ]);
    const unknown = await rawRequest(emulator, `${SS}/virtualMachines/9/extensions?api-version=${COMPUTE}`, {
      headers: await bearer(emulator),
    });
    expect(unknown.status).toBe(404);
  });

  it('answers an empty model extension list for a scale set without the agent, and 404 for an unknown one', async () => {
    emulator.registerVm({ id: `${SS}/virtualMachines/0`, location: 'eastus', agentInstalled: false });
    expect(await listExtensions(SS)).toEqual([]);
    const answer = await rawRequest(
      emulator,
      `${RG}/virtualMachineScaleSets/nope/extensions?api-version=${COMPUTE}`,
      {
        headers: await bearer(emulator),
      },
    );
    expect(answer).toMatchObject({ status: 404, body: { error: { code: 'ResourceNotFound' } } });
  });
});
