import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RingChangeOutput, RingListOutput } from '../../../src/cli/verbs/ring.js';
import { firedMetricAlert, SUB, vmId } from '../../support/appHarness.js';
import { startCliHarness, type CliHarness } from './cliHarness.js';

/**
 * `alert-capture ring list|enable|disable` against the emulator (the real arm-resources and arm-network clients,
 * the Tags API at the VM's scope) and the app's poller on the same ledger: enabling tags the VM and the next tick
 * arms its ring; disabling removes the tag and our ring at once, and nothing else on the VM.
 */
const WATCHER = `${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope`;
const OUTSIDE =
  '/subscriptions/99999999-0000-0000-0000-000000000000/resourceGroups/x/providers/Microsoft.Compute/virtualMachines/far';

describe('alert-capture ring', () => {
  let h: CliHarness;
  const listed = vmId('ring-listed');
  beforeAll(async () => {
    h = await startCliHarness({ settings: { RING_VM_IDS: listed, CAPTURE_SESSION_BUDGET: '10' } });
    h.emulator.registerVm({ id: listed, location: 'westeurope' });
  });
  afterAll(async () => h.stop());

  const ringsOf = (vm: string) =>
    h.emulator
      .captures()
      .filter((c) => c.target.toLowerCase() === vm.toLowerCase() && c.name.startsWith('alertcap-ring-'));

  it('enable tags the VM, the next tick arms its ring, and list shows it', async () => {
    const vm = vmId('keeper-on');
    h.emulator.registerVm({ id: vm, location: 'westeurope', tags: { owner: 'jane' } });

    const enabled = await h.cli(['ring', 'enable', '--vm', vm, '--json']);
    expect(enabled.stderr).toBe('');
    expect(enabled.code).toBe(0);
    expect(JSON.parse(enabled.stdout) as RingChangeOutput).toEqual({ vmId: vm, tag: 'tagged' });
    // Merged: the VM's other tags stay.
    expect(h.emulator.tagsOf(vm)).toEqual({ owner: 'jane', 'alert-capture:ring': 'on' });

    const before = JSON.parse((await h.cli(['ring', 'list', '--json'])).stdout) as RingListOutput;
    expect(before.rings.find((r) => r.vmId.toLowerCase() === vm.toLowerCase())).toMatchObject({
      sources: ['tag'],
    });
    expect(before.rings.find((r) => r.vmId.toLowerCase() === vm.toLowerCase())?.state).toBeUndefined();

    await h.tick();
    expect(ringsOf(vm)).toHaveLength(1);
    const after = JSON.parse((await h.cli(['ring', 'list', '--json'])).stdout) as RingListOutput;
    const ring = after.rings.find((r) => r.vmId.toLowerCase() === vm.toLowerCase());
    expect(ring).toMatchObject({ sources: ['tag'], state: 'running', captureName: ringsOf(vm)[0]!.name });
    expect(Date.parse(ring!.rearmAt!)).toBeGreaterThan(Date.parse(ring!.startedAt!));
    // The listed VM keeps one too; the bound is count × size of the settings.
    expect(after.rings.find((r) => r.vmId.toLowerCase() === listed.toLowerCase())?.sources).toEqual(['list']);
    expect(after.ringBytesBound).toBe(10 * 10_485_760);

    const table = await h.cli(['ring', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^VM +BY +GEN +STATE +SINCE +RE-ARM +NOTE$/m);
    expect(table.stdout).toMatch(/^keeper-on +tag +\d+ +running /m);
    expect(table.stdout).toContain('each ring holds at most 100 MiB in storage');

    // Again: nothing to change.
    const again = await h.cli(['ring', 'enable', '--vm', vm, '--json']);
    expect(JSON.parse(again.stdout) as RingChangeOutput).toEqual({ vmId: vm, tag: 'alreadyTagged' });
  });

  it("disable removes the tag and our ring, and leaves a person's and an alert's capture on the VM", async () => {
    const vm = vmId('keeper-off');
    h.emulator.registerVm({ id: vm, location: 'westeurope', tags: { 'alert-capture:ring': 'on' } });
    // Tagged by someone else: the poller sees it at its next listing of the tags (RING_DISCOVERY_SECONDS).
    h.advanceAppClock(300);
    await h.tick();
    const [ring] = ringsOf(vm);
    expect(ring).toBeDefined();
    h.emulator.plantCapture({ watcherId: WATCHER, name: 'janes-capture', target: vm, status: 'Running' });
    const alert = await h.post(firedMetricAlert(vm));
    expect(alert.body).toMatchObject({ outcome: 'started' });
    // The ring has been running a while (its create operation is over: ARM refuses a delete during it).
    await h.emulator.advanceClock(30);

    const disabled = await h.cli(['ring', 'disable', '--vm', vm, '--json']);
    expect(disabled.stderr).toBe('');
    expect(disabled.code).toBe(0);
    expect(JSON.parse(disabled.stdout) as RingChangeOutput).toEqual({
      vmId: vm,
      tag: 'removed',
      deleted: [ring!.name],
      left: [],
    });
    expect(h.emulator.tagsOf(vm)).toEqual({});
    const names = () => h.emulator.captures().filter((c) => c.target.toLowerCase() === vm.toLowerCase());
    expect(names().map((c) => c.name)).toEqual(
      expect.arrayContaining(['janes-capture', (alert.body as { captureName: string }).captureName]),
    );
    expect(ringsOf(vm)).toEqual([]);

    // The poller listed the tag before it was removed: it looks again instead of re-arming.
    await h.tick();
    await h.tick();
    expect(ringsOf(vm)).toEqual([]);
    expect(names().map((c) => c.name)).toContain('janes-capture');
    const list = JSON.parse((await h.cli(['ring', 'list', '--json'])).stdout) as RingListOutput;
    expect(list.rings.some((r) => r.vmId.toLowerCase() === vm.toLowerCase())).toBe(false);
  });

  it('refuses what it cannot do, with the exit code of each case, and changes nothing', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['ring'], 2, /^ring: missing what to do \(list, enable, disable\)$/],
      [['ring', 'start'], 2, /^ring: unknown "start": expected one of list, enable, disable$/],
      [['ring', 'enable'], 2, /^ring enable: missing --vm ID$/],
      [
        [
          'ring',
          'enable',
          '--vm',
          `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss`,
        ],
        2,
        /expected a VM resource id .*scale sets keep no ring/,
      ],
      [['ring', 'enable', '--vm', OUTSIDE], 4, /is outside ALLOWED_SCOPES/],
      [['ring', 'enable', '--vm', vmId('ring-nowhere')], 3, /ring-nowhere not found$/],
      [['ring', 'disable', '--vm', listed], 4, /is listed in RING_VM_IDS; remove it from that setting/],
      [['ring', 'disable', '--vm', vmId('ring-plain')], 3, /has no ring and no alert-capture:ring tag$/],
    ];
    h.emulator.registerVm({ id: vmId('ring-plain'), location: 'westeurope' });
    const writes = () => h.emulator.requests().filter((r) => r.method !== 'GET').length;
    const writesBefore = writes();
    for (const [argv, code, message] of cases) {
      const run = await h.cli(argv);
      expect({ argv, code: run.code }).toEqual({ argv, code });
      expect(run.stderr.trim().replace(/^alert-capture: /, '')).toMatch(message);
    }
    expect(writes()).toBe(writesBefore);
  });

  it('names the role a person needs when ARM refuses the tag write', async () => {
    const denied = await startCliHarness({ emulator: { deniedActions: ['Microsoft.Resources/tags/write'] } });
    try {
      const vm = vmId('ring-denied');
      denied.emulator.registerVm({ id: vm, location: 'westeurope' });
      const run = await denied.cli(['ring', 'enable', '--vm', vm]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /AuthorizationFailed.*Tag Contributor, or Microsoft\.Resources\/tags\/write/,
      );
      expect(denied.emulator.tagsOf(vm)).toEqual({});
    } finally {
      await denied.stop();
    }
  });
});
