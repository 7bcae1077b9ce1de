import { describe, expect, it } from 'vitest';
import { firedMetricAlert, SUB, SUB_ID, vmId } from '../../support/appHarness.js';
import { NetworkWatcherGateway } from '../../../src/azure/networkWatcherGateway.js';
import { discoverRingVms } from '../../../src/rings/discoverRingVms.js';
import { emulatorCredential } from '../../emulator/index.js';
import { ROLE_ACTIONS } from '../../unit/infra/roleActions.js';
import { PAST_TIME_LIMIT_SECONDS, REGION, startPollerHarness } from '../poller/pollerSupport.js';

/**
 * The RBAC action an ARM request needs, from its method and path (the operation names of
 * https://learn.microsoft.com/azure/role-based-access-control/permissions/networking and .../compute).
 */
function actionOf(method: string, path: string): string {
  const p = path.replace(/\?.*$/, '');
  const rules: Array<[string, RegExp, string]> = [
    // Microsoft.Resources (https://learn.microsoft.com/azure/role-based-access-control/permissions/management-and-governance).
    ['GET', /^\/subscriptions$/i, 'Microsoft.Resources/subscriptions/read'],
    ['GET', /^\/subscriptions\/[^/]+\/resources$/i, 'Microsoft.Resources/subscriptions/resources/read'],
    [
      'GET',
      /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/resources$/i,
      'Microsoft.Resources/subscriptions/resourceGroups/resources/read',
    ],
    ['GET', /\/providers\/Microsoft\.Resources\/tags\/default$/i, 'Microsoft.Resources/tags/read'],
    ['PATCH', /\/providers\/Microsoft\.Resources\/tags\/default$/i, 'Microsoft.Resources/tags/write'],
    [
      'GET',
      /\/providers\/Microsoft\.Compute\/locations\/[^/]+\/operations\/[^/]+$/i,
      'Microsoft.Compute/locations/operations/read',
    ],
    [
      'GET',
      /\/providers\/Microsoft\.Network\/locations\/[^/]+\/operations\/[^/]+$/i,
      'Microsoft.Network/locations/operations/read',
    ],
    ['GET', /\/operationResults\/[^/]+$/i, 'Microsoft.Network/locations/operationResults/read'],
    [
      'POST',
      /\/packetCaptures\/[^/]+\/queryStatus$/i,
      'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action',
    ],
    [
      'POST',
      /\/packetCaptures\/[^/]+\/stop$/i,
      'Microsoft.Network/networkWatchers/packetCaptures/stop/action',
    ],
    ['PUT', /\/packetCaptures\/[^/]+$/i, 'Microsoft.Network/networkWatchers/packetCaptures/write'],
    ['DELETE', /\/packetCaptures\/[^/]+$/i, 'Microsoft.Network/networkWatchers/packetCaptures/delete'],
    ['GET', /\/packetCaptures(\/[^/]+)?$/i, 'Microsoft.Network/networkWatchers/packetCaptures/read'],
    ['GET', /\/networkWatchers(\/[^/]+)?$/i, 'Microsoft.Network/networkWatchers/read'],
    // A scale set's extensions and instances before the VM rules, whose paths they also end like.
    [
      'GET',
      /\/virtualMachineScaleSets\/[^/]+\/extensions(\/[^/]+)?$/i,
      'Microsoft.Compute/virtualMachineScaleSets/extensions/read',
    ],
    [
      'GET',
      /\/virtualMachineScaleSets\/[^/]+\/virtualMachines\/[^/]+$/i,
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read',
    ],
    [
      'PUT',
      /\/virtualMachines\/[^/]+\/extensions\/[^/]+$/i,
      'Microsoft.Compute/virtualMachines/extensions/write',
    ],
    [
      'GET',
      /\/virtualMachines\/[^/]+\/extensions(\/[^/]+)?$/i,
      'Microsoft.Compute/virtualMachines/extensions/read',
    ],
    ['GET', /\/virtualMachineScaleSets\/[^/]+$/i, 'Microsoft.Compute/virtualMachineScaleSets/read'],
    ['GET', /\/virtualMachines\/[^/]+$/i, 'Microsoft.Compute/virtualMachines/read'],
  ];
  const hit = rules.find(([m, re]) => m === method && re.test(p));
  return hit ? hit[2] : `unmapped ${method} ${p}`;
}

describe('the custom roles against the calls the app makes (issue 10)', () => {
  it('every ARM request of every code path needs a granted action, and every granted action of ours is needed', async () => {
    const h = await startPollerHarness({
      settings: {
        STOP_ON_RESOLVE: 'true',
        AUTO_INSTALL_AGENT: 'true',
        NETWORK_WATCHER_RESOURCE_GROUP: 'nw-custom-rg',
      },
    });
    // 1. A capture to its end: start, status, summary, notification, delete.
    const vm = vmId('rbac-full');
    h.emulator.registerVm({ id: vm, location: REGION });
    expect((await h.post(firedMetricAlert(vm))).body.outcome).toBe('started');
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    await h.tick();
    // 2. A resolved alert stops its capture.
    const resolving = vmId('rbac-resolve');
    h.emulator.registerVm({ id: resolving, location: REGION });
    const fired = await h.post(firedMetricAlert(resolving));
    await h.emulator.advanceClock(5);
    expect(
      (
        await h.post(
          firedMetricAlert(resolving, { alertId: fired.body.alertId, monitorCondition: 'Resolved' }),
        )
      ).body.outcome,
    ).toBe('stopped');
    // 3. A VM without the agent gets it installed.
    const bare = vmId('rbac-agent');
    h.emulator.registerVm({ id: bare, location: REGION, agentInstalled: false });
    expect((await h.post(firedMetricAlert(bare))).body.outcome).toBe('pending');
    // 4. A scale-set instance: the scale set is read.
    const instance = `${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachineScaleSets/rbac-vmss/virtualMachines/0`;
    h.emulator.registerVm({ id: instance, location: REGION });
    await h.post(firedMetricAlert(instance));
    // 5. Listing watchers refused: the watcher is read by its default name in NETWORK_WATCHER_RESOURCE_GROUP.
    h.restart();
    h.emulator.addFault({
      method: 'GET',
      pathPattern: '/providers/Microsoft.Network/networkWatchers$',
      kind: 'forbidden',
    });
    h.emulator.registerWatcher({
      id: `/subscriptions/${SUB_ID}/resourceGroups/nw-custom-rg/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westus`,
      location: 'westus',
    });
    const west = vmId('rbac-west');
    h.emulator.registerVm({ id: west, location: 'westus' });
    expect((await h.post(firedMetricAlert(west))).body.outcome).toBe('started');
    expect(
      h.emulator
        .requests()
        .some(
          (r) =>
            r.method === 'GET' && /\/resourceGroups\/nw-custom-rg\/.*NetworkWatcher_westus$/i.test(r.path),
        ),
    ).toBe(true);

    // 6. Ring discovery: the tag listing of a monitored subscription and of a monitored resource group.
    const ringVm = vmId('rbac-ring');
    h.emulator.registerVm({ id: ringVm, location: REGION, tags: { 'alert-capture:ring': 'on' } });
    const gateway = new NetworkWatcherGateway(emulatorCredential(h.emulator), h.emulator.url);
    const rgScope = `${SUB}/resourceGroups/app-rg`.toLowerCase();
    for (const allowedScopes of [h.ctx.config.allowedScopes, [rgScope]]) {
      const found = await discoverRingVms({ ...h.ctx.config, allowedScopes }, gateway);
      expect(found.incompleteScopes).toEqual([]);
      expect(found.vms.map((v) => v.id.toLowerCase())).toContain(ringVm.toLowerCase());
    }

    const needed = new Set(h.emulator.requests().map((r) => actionOf(r.method, r.path)));
    const granted = new Set(ROLE_ACTIONS.map((a) => a.action));
    expect([...needed].filter((a) => !granted.has(a)).sort()).toEqual([]);
    // Each action we call for is exercised; the storage ones are used by Network Watcher on our behalf.
    const ours = ROLE_ACTIONS.filter((a) => a.source && !a.notSeenInEmulator).map((a) => a.action);
    expect(ours.filter((a) => !needed.has(a)).sort()).toEqual([]);
  });
});
