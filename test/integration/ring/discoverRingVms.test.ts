import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetworkWatcherGateway } from '../../../src/azure/networkWatcherGateway.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { discoverRingVms } from '../../../src/rings/discoverRingVms.js';
import { emulatorCredential, type Emulator } from '../../emulator/index.js';
import { startTestEmulator } from '../emulator/emulatorFixture.js';

/**
 * Which VMs want a ring, found through the real @azure/arm-resources (and -subscriptions) clients against the
 * emulator's tag-filtered resource list: tag ∪ RING_VM_IDS, within ALLOWED_SCOPES, bounded, with failed scopes
 * reported rather than read as "no ring wanted".
 */
const SUB_ID = '99999999-0000-0000-0000-0000000000a1';
const OTHER_ID = '99999999-0000-0000-0000-0000000000a2';
const SUB = `/subscriptions/${SUB_ID}`;
const OTHER = `/subscriptions/${OTHER_ID}`;
const vmId = (sub: string, rg: string, name: string) =>
  `${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;
const RING = { 'alert-capture:ring': 'on' };

let emulator: Emulator;
let gateway: NetworkWatcherGateway;
beforeAll(async () => {
  // Two items a page: every listing below takes the SDK through nextLinks.
  emulator = await startTestEmulator({ pageSize: 2 });
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  gateway = new NetworkWatcherGateway(emulatorCredential(emulator), emulator.url, { maxRetries: 0 });
});

function config(settings: Record<string, string>): Config {
  return loadConfig({
    CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/captures-rg/providers/Microsoft.Storage/storageAccounts/capstore`,
    LEDGER_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
    ALLOWED_SCOPES: SUB,
    ...settings,
  });
}

const register = (id: string, tags?: Record<string, string>) =>
  emulator.registerVm({ id, location: 'westeurope', ...(tags ? { tags } : {}) });

/** The resource listings the emulator answered, as `path` (without query). */
const listings = () =>
  emulator
    .requests()
    .filter((r) => /\/resources$/i.test(r.path))
    .map((r) => r.path);

describe('discoverRingVms', () => {
  it('finds the tagged VMs of the allowed subscription, and not untagged, other-valued, scale sets or other scopes', async () => {
    register(vmId(SUB, 'App-RG', 'Web-01'), { ...RING, team: 'web' });
    register(vmId(SUB, 'app-rg', 'web-02'), RING);
    register(vmId(SUB, 'app-rg', 'untagged'));
    register(vmId(SUB, 'app-rg', 'off'), { 'alert-capture:ring': 'off' });
    register(vmId(SUB, 'app-rg', 'shouting'), { 'alert-capture:ring': 'ON' });
    register(
      `${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/0`,
      RING,
    );
    register(vmId(OTHER, 'app-rg', 'elsewhere'), RING);

    const found = await discoverRingVms(config({}), gateway);
    expect(found).toEqual({
      vms: [
        {
          id: vmId(SUB, 'App-RG', 'Web-01'),
          name: 'Web-01',
          subscriptionId: SUB_ID,
          resourceGroup: 'App-RG',
          sources: ['tag'],
        },
        {
          id: vmId(SUB, 'app-rg', 'web-02'),
          name: 'web-02',
          subscriptionId: SUB_ID,
          resourceGroup: 'app-rg',
          sources: ['tag'],
        },
      ],
      leftOut: 0,
      incompleteScopes: [],
    });
    // Two VMs and the scale set carry the tag: two pages of the one subscription listing.
    expect(listings()).toEqual([`${SUB}/resources`, `${SUB}/resources`]);
  });

  it('uses a configured tag name and value', async () => {
    register(vmId(SUB, 'app-rg', 'a'), { Capture: 'ring' });
    register(vmId(SUB, 'app-rg', 'b'), RING);
    const found = await discoverRingVms(
      config({ RING_TAG_NAME: 'capture', RING_TAG_VALUE: 'ring' }),
      gateway,
    );
    expect(found.vms.map((v) => v.name)).toEqual(['a']);
  });

  it('lists a resource-group scope with List By Resource Group, and a group inside an allowed subscription not again', async () => {
    register(vmId(SUB, 'app-rg', 'a'), RING);
    register(vmId(SUB, 'db-rg', 'b'), RING);
    register(vmId(OTHER, 'ops-rg', 'c'), RING);
    register(vmId(OTHER, 'dev-rg', 'd'), RING);
    const found = await discoverRingVms(
      config({ ALLOWED_SCOPES: `${SUB}/resourceGroups/app-rg,${SUB},${OTHER}/resourceGroups/ops-rg` }),
      gateway,
    );
    expect(found.vms.map((v) => v.name)).toEqual(['a', 'b', 'c']);
    expect(new Set(listings())).toEqual(
      new Set([`${SUB}/resources`, `${OTHER}/resourceGroups/ops-rg/resources`]),
    );
  });

  it('with "*" lists every subscription the identity can see', async () => {
    register(vmId(SUB, 'app-rg', 'a'), RING);
    register(vmId(OTHER, 'app-rg', 'b'), RING);
    register(vmId(OTHER, 'app-rg', 'c'));
    const found = await discoverRingVms(config({ ALLOWED_SCOPES: '*' }), gateway);
    expect(found.vms.map((v) => v.id)).toEqual([vmId(SUB, 'app-rg', 'a'), vmId(OTHER, 'app-rg', 'b')]);
    expect(found.incompleteScopes).toEqual([]);
  });

  it("joins RING_VM_IDS and the tag: a VM in both has both sources and ARM's id; a listed one its own", async () => {
    const both = vmId(SUB, 'App-RG', 'Both');
    const listedOnly = vmId(SUB, 'app-rg', 'listed');
    register(both, RING);
    register(listedOnly);
    const found = await discoverRingVms(
      config({ RING_VM_IDS: `${both.toLowerCase()},${listedOnly}` }),
      gateway,
    );
    expect(found.vms).toEqual([
      { id: both, name: 'Both', subscriptionId: SUB_ID, resourceGroup: 'App-RG', sources: ['list', 'tag'] },
      {
        id: listedOnly.toLowerCase(),
        name: 'listed',
        subscriptionId: SUB_ID,
        resourceGroup: 'app-rg',
        sources: ['list'],
      },
    ]);
  });

  it('reports a scope whose listing failed as incomplete, with the reason, and still answers the others', async () => {
    const failing = `${OTHER}/resourceGroups/ops-rg`;
    register(vmId(SUB, 'app-rg', 'a'), RING);
    register(vmId(OTHER, 'ops-rg', 'b'), RING);
    const listedInFailing = vmId(OTHER, 'ops-rg', 'c');
    emulator.addFault({ pathPattern: `${failing}/resources$`, kind: 'forbidden' });
    const found = await discoverRingVms(
      config({ ALLOWED_SCOPES: `${SUB},${failing}`, RING_VM_IDS: listedInFailing }),
      gateway,
    );
    // The listed VM of the failing scope is still wanted; its tagged neighbour cannot be known.
    expect(found.vms.map((v) => [v.name, v.sources])).toEqual([
      ['a', ['tag']],
      ['c', ['list']],
    ]);
    expect(found.incompleteScopes.map((s) => s.scope)).toEqual([failing.toLowerCase()]);
    expect(found.incompleteScopes[0]?.reason).toMatch(/^ARM 403 AuthorizationFailed: /);
  });

  it('reports "*" as incomplete when the subscriptions cannot be listed, keeping RING_VM_IDS', async () => {
    const listed = vmId(SUB, 'app-rg', 'a');
    register(listed, RING);
    emulator.addFault({ pathPattern: '^/subscriptions$', kind: 'error503' });
    const found = await discoverRingVms(config({ ALLOWED_SCOPES: '*', RING_VM_IDS: listed }), gateway);
    expect(found.vms.map((v) => v.sources)).toEqual([['list']]);
    expect(found.incompleteScopes.map((s) => s.scope)).toEqual(['*']);
    expect(found.incompleteScopes[0]?.reason).toMatch(/^ARM 503 ServiceUnavailable: /);
  });

  it('reports every scope incomplete past the deadline, and throws nothing', async () => {
    register(vmId(SUB, 'app-rg', 'a'), RING);
    const found = await discoverRingVms(config({}), gateway, { abortSignal: AbortSignal.abort() });
    expect(found.vms).toEqual([]);
    expect(found.incompleteScopes.map((s) => s.scope)).toEqual([SUB.toLowerCase()]);
  });

  it('keeps the first RING_MAX_VMS by id and says how many were left out', async () => {
    for (const name of ['d', 'b', 'e', 'a', 'c']) register(vmId(SUB, 'app-rg', name), RING);
    const found = await discoverRingVms(config({ RING_MAX_VMS: '3' }), gateway);
    expect(found.vms.map((v) => v.name)).toEqual(['a', 'b', 'c']);
    expect(found.leftOut).toBe(2);
  });
});

describe('the operator CLI tag calls (RingTagGateway.setTag / removeTag)', () => {
  const VM = vmId(SUB, 'app-rg', 'web-01');

  it('sets the ring tag beside the others, then removes it whatever the casing of its name', async () => {
    register(VM, { team: 'web' });
    await gateway.setTag(VM, { name: 'alert-capture:ring', value: 'on' });
    expect(emulator.tagsOf(VM)).toEqual({ team: 'web', ...RING });
    expect((await discoverRingVms(config({}), gateway)).vms.map((v) => v.name)).toEqual(['web-01']);
    expect(await gateway.removeTag(VM, 'Alert-Capture:Ring')).toBe(true);
    expect(emulator.tagsOf(VM)).toEqual({ team: 'web' });
    expect(await gateway.removeTag(VM, 'alert-capture:ring')).toBe(false);
    expect((await discoverRingVms(config({}), gateway)).vms).toEqual([]);
  });
});
