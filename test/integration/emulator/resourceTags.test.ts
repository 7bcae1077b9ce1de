import { ResourceManagementClient } from '@azure/arm-resources';
import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import { RestError } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emulatorCredential, type Emulator } from '../../emulator/index.js';
import { bearer, rawRequest, startTestEmulator } from './emulatorFixture.js';

/**
 * Tags and the tag-filtered resource list as Azure Resource Manager serves them, through the real
 * @azure/arm-resources and @azure/arm-resources-subscriptions clients: Resources - List (By Resource Group) with
 * `$filter=tagName eq … and tagValue eq …`, Tags - Get / Update At Scope, Subscriptions - List.
 */
const SUB = '99999999-0000-0000-0000-00000000000a';
const OTHER_SUB = '99999999-0000-0000-0000-00000000000b';
const rgId = (rg: string, sub = SUB) => `/subscriptions/${sub}/resourceGroups/${rg}`;
const vmId = (rg: string, name: string, sub = SUB) =>
  `${rgId(rg, sub)}/providers/Microsoft.Compute/virtualMachines/${name}`;
const RING = { 'alert-capture:ring': 'on' };
const RING_FILTER = "tagName eq 'alert-capture:ring' and tagValue eq 'on'";

let emulator: Emulator;
let arm: ResourceManagementClient;
beforeAll(async () => {
  emulator = await startTestEmulator({ pageSize: 2 });
  arm = resourcesClient(emulator, SUB);
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.configure({ tagValueMatch: 'caseSensitive' });
});

function resourcesClient(e: Emulator, subscriptionId: string): ResourceManagementClient {
  return new ResourceManagementClient(emulatorCredential(e), subscriptionId, {
    endpoint: e.url,
    retryOptions: { maxRetries: 0 },
  });
}

async function listed(filter: string, resourceGroup?: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  const pages =
    resourceGroup === undefined
      ? arm.resources.list({ filter })
      : arm.resources.listByResourceGroup(resourceGroup, { filter });
  for await (const r of pages) out.push({ ...r });
  return out;
}

/** Every item of a paged list (Array.fromAsync is not in Node.js 20). */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function refusal(p: Promise<unknown>): Promise<RestError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RestError);
  return e as RestError;
}

describe('Resources - List with a tag filter', () => {
  it('answers the tagged VMs and scale sets of the subscription, without their tags, and not the others', async () => {
    emulator.registerVm({
      id: vmId('app-rg', 'tagged'),
      location: 'westeurope',
      tags: { ...RING, team: 'a' },
    });
    emulator.registerVm({ id: vmId('app-rg', 'untagged'), location: 'westeurope' });
    emulator.registerVm({
      id: vmId('app-rg', 'off'),
      location: 'westeurope',
      tags: { 'alert-capture:ring': 'off' },
    });
    emulator.registerVm({ id: vmId('db-rg', 'db'), location: 'westeurope', tags: RING });
    emulator.registerVm({
      id: `${rgId('app-rg')}/providers/Microsoft.Compute/virtualMachineScaleSets/web/virtualMachines/0`,
      location: 'westeurope',
      tags: RING,
    });
    emulator.registerVm({ id: vmId('app-rg', 'elsewhere', OTHER_SUB), location: 'westeurope', tags: RING });

    const items = await listed(RING_FILTER);
    expect(items.map((r) => r.id)).toEqual([
      vmId('app-rg', 'tagged'),
      vmId('db-rg', 'db'),
      `${rgId('app-rg')}/providers/Microsoft.Compute/virtualMachineScaleSets/web`,
    ]);
    expect(items[0]).toEqual({
      id: vmId('app-rg', 'tagged'),
      name: 'tagged',
      type: 'Microsoft.Compute/virtualMachines',
      location: 'westeurope',
    });
    expect(items[2]?.type).toBe('Microsoft.Compute/virtualMachineScaleSets');
    // Three items at two a page: the SDK followed the nextLink, which kept the filter.
    const pages = emulator.requests().filter((r) => /\/resources$/i.test(r.path));
    expect(pages).toHaveLength(2);
  });

  it('matches tag names whatever their casing, and values case-sensitively unless told otherwise', async () => {
    emulator.registerVm({
      id: vmId('app-rg', 'upper-name'),
      location: 'eastus',
      tags: { 'Alert-Capture:RING': 'on' },
    });
    emulator.registerVm({
      id: vmId('app-rg', 'upper-value'),
      location: 'eastus',
      tags: { 'alert-capture:ring': 'ON' },
    });
    expect((await listed(RING_FILTER)).map((r) => r.name)).toEqual(['upper-name']);
    emulator.configure({ tagValueMatch: 'caseInsensitive' });
    expect((await listed(RING_FILTER)).map((r) => r.name)).toEqual(['upper-name', 'upper-value']);
  });

  it('lists one resource group with List By Resource Group', async () => {
    emulator.registerVm({ id: vmId('app-rg', 'a'), location: 'eastus', tags: RING });
    emulator.registerVm({ id: vmId('App-RG2', 'b'), location: 'eastus', tags: RING });
    expect((await listed(RING_FILTER, 'app-rg')).map((r) => r.name)).toEqual(['a']);
    expect((await listed(RING_FILTER, 'app-rg2')).map((r) => r.name)).toEqual(['b']);
  });

  it('keeps tags in the answer of a list filtered by resource type, and lists every type without a filter', async () => {
    emulator.registerVm({ id: vmId('app-rg', 'a'), location: 'eastus', tags: RING });
    const byType = await listed("resourceType eq 'Microsoft.Compute/virtualMachines'");
    expect(byType).toEqual([expect.objectContaining({ name: 'a', tags: RING })]);
  });

  it('refuses a tag filter combined with a resource type, as ARM does (400 InvalidFilterInQueryString)', async () => {
    const filter = `${RING_FILTER} and resourceType eq 'Microsoft.Compute/virtualMachines'`;
    const e = await refusal(listed(filter));
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe('InvalidFilterInQueryString');
    expect(e.message).toBe(`Invalid $filter '${filter}' specified in the query string.`);
  });

  it('refuses a filter the emulator does not model, saying so', async () => {
    const e = await refusal(listed("location eq 'eastus'"));
    expect(e.code).toBe('InvalidFilterInQueryString');
    expect(e.message).toContain('The emulator models only');
  });

  it('refuses a listing the identity may not do (deniedActions) with 403 AuthorizationFailed naming the action', async () => {
    const denied = await startTestEmulator({
      deniedActions: ['Microsoft.Resources/subscriptions/resourceGroups/resources/read'],
    });
    try {
      denied.registerVm({ id: vmId('app-rg', 'a'), location: 'eastus', tags: RING });
      const client = resourcesClient(denied, SUB);
      expect((await collect(client.resources.list({ filter: RING_FILTER }))).length).toBe(1);
      const e = await refusal(
        collect(client.resources.listByResourceGroup('app-rg', { filter: RING_FILTER })),
      );
      expect(e.statusCode).toBe(403);
      expect(e.code).toBe('AuthorizationFailed');
      expect(e.message).toContain(
        `does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/resources/read' over scope '${rgId('app-rg')}'`,
      );
    } finally {
      await denied.stop();
    }
  });
});

describe('Tags at scope', () => {
  const VM = vmId('app-rg', 'web-01');
  beforeEach(() => emulator.registerVm({ id: VM, location: 'eastus', tags: { team: 'a' } }));

  it('reads, merges, deletes one tag and replaces all of them; the VM GET shows the result', async () => {
    expect((await arm.tagsOperations.getAtScope(VM)).properties.tags).toEqual({ team: 'a' });
    await arm.tagsOperations.beginUpdateAtScopeAndWait(VM, {
      operation: 'Merge',
      properties: { tags: RING },
    });
    expect((await arm.tagsOperations.getAtScope(VM)).properties.tags).toEqual({ team: 'a', ...RING });
    // A name in other casing updates the stored tag, which keeps its casing.
    await arm.tagsOperations.beginUpdateAtScopeAndWait(VM, {
      operation: 'Merge',
      properties: { tags: { TEAM: 'b' } },
    });
    expect(emulator.tagsOf(VM)).toEqual({ team: 'b', ...RING });
    // Delete with a value that is not the tag's leaves it; with its value removes it.
    await arm.tagsOperations.beginUpdateAtScopeAndWait(VM, {
      operation: 'Delete',
      properties: { tags: { 'alert-capture:ring': 'off' } },
    });
    expect(emulator.tagsOf(VM)).toEqual({ team: 'b', ...RING });
    await arm.tagsOperations.beginUpdateAtScopeAndWait(VM, {
      operation: 'Delete',
      properties: { tags: RING },
    });
    expect(emulator.tagsOf(VM)).toEqual({ team: 'b' });
    await arm.tagsOperations.beginUpdateAtScopeAndWait(VM, {
      operation: 'Replace',
      properties: { tags: { env: 'prod' } },
    });
    const vm = await arm.resources.getById(VM, '2024-07-01');
    expect(vm.tags).toEqual({ env: 'prod' });
  });

  it('tags a scale set through the id of the scale set', async () => {
    const ss = `${rgId('app-rg')}/providers/Microsoft.Compute/virtualMachineScaleSets/web`;
    emulator.registerVm({ id: `${ss}/virtualMachines/0`, location: 'eastus' });
    await arm.tagsOperations.beginUpdateAtScopeAndWait(ss, {
      operation: 'Merge',
      properties: { tags: RING },
    });
    expect((await listed(RING_FILTER)).map((r) => r.id)).toEqual([ss]);
  });

  it('answers 404 for a resource it does not know, and 400 naming the field for a bad body', async () => {
    const missing = await refusal(arm.tagsOperations.getAtScope(vmId('app-rg', 'nope')));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('ResourceNotFound');
    const path = `${VM}/providers/Microsoft.Resources/tags/default?api-version=2025-04-01`;
    const headers = await bearer(emulator);
    const badOperation = await rawRequest(emulator, path, {
      method: 'PATCH',
      headers,
      body: { operation: 'Append', properties: { tags: RING } },
    });
    expect(badOperation.status).toBe(400);
    expect(JSON.stringify(badOperation.body)).toContain("'operation' must be one of Merge, Replace, Delete");
    const badValue = await rawRequest(emulator, path, {
      method: 'PATCH',
      headers,
      body: { operation: 'Merge', properties: { tags: { a: 1 } } },
    });
    expect(badValue.status).toBe(400);
    expect(JSON.stringify(badValue.body)).toContain('properties.tags.a must be a string');
    expect(emulator.tagsOf(VM)).toEqual({ team: 'a' });
  });

  it('refuses a tag write the identity may not do with 403 AuthorizationFailed, changing nothing', async () => {
    const denied = await startTestEmulator({ deniedActions: ['Microsoft.Resources/tags/write'] });
    try {
      denied.registerVm({ id: VM, location: 'eastus', tags: { team: 'a' } });
      const client = resourcesClient(denied, SUB);
      expect((await client.tagsOperations.getAtScope(VM)).properties.tags).toEqual({ team: 'a' });
      const e = await refusal(
        client.tagsOperations.beginUpdateAtScopeAndWait(VM, {
          operation: 'Merge',
          properties: { tags: RING },
        }),
      );
      expect(e.statusCode).toBe(403);
      expect(e.message).toContain("'Microsoft.Resources/tags/write'");
      expect(denied.tagsOf(VM)).toEqual({ team: 'a' });
    } finally {
      await denied.stop();
    }
  });
});

describe('Subscriptions - List', () => {
  it('answers every subscription of a registered VM or watcher, paged', async () => {
    const third = '99999999-0000-0000-0000-00000000000c';
    emulator.registerVm({ id: vmId('app-rg', 'a'), location: 'eastus' });
    emulator.registerVm({ id: vmId('app-rg', 'b', OTHER_SUB), location: 'eastus' });
    emulator.registerWatcher({
      id: `/subscriptions/${third}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_eastus`,
      location: 'eastus',
    });
    const client = new SubscriptionClient(emulatorCredential(emulator), {
      endpoint: emulator.url,
      retryOptions: { maxRetries: 0 },
    });
    const subscriptions = await collect(client.subscriptions.list());
    expect(subscriptions.map((s) => s.subscriptionId)).toEqual([SUB, OTHER_SUB, third]);
    expect(subscriptions[0]).toMatchObject({ id: `/subscriptions/${SUB}`, state: 'Enabled' });
    expect(emulator.requests().filter((r) => r.path === '/subscriptions')).toHaveLength(2);
  });
});
