import { beforeAll, describe, expect, it } from 'vitest';
import type { CaptureLedger } from '../../../src/ledger/CaptureLedger.js';
import { RING_HEAD_GENERATIONS, ringAlertId, withNewestAlertId } from '../../../src/ledger/RingHeads.js';
import { LedgerRingDirectory } from '../../../src/rings/LedgerRingDirectory.js';
import { freshTableName, ledgerOn, newRecord, testClock, type TestClock } from './ledgerTestSupport.js';

const SUB = '00000000-0000-0000-0000-00000000000c';
let ledger: CaptureLedger;
let otherHost: CaptureLedger;
let clock: TestClock;
let vmSeq = 0;

/** Every test gets its own VM, so its head starts absent. */
function newVm(): { vmId: string; vmName: string; subscriptionId: string } {
  vmSeq += 1;
  const vmName = `Ring-VM-${vmSeq}`;
  return {
    vmId: `/subscriptions/${SUB}/resourceGroups/RG-App/providers/Microsoft.Compute/virtualMachines/${vmName}`,
    vmName,
    subscriptionId: SUB,
  };
}

beforeAll(async () => {
  clock = testClock();
  const tableName = freshTableName();
  ledger = ledgerOn(tableName, { now: () => clock.now });
  await ledger.ensureTable();
  otherHost = ledgerOn(tableName, { now: () => clock.now });
});

describe('RingHeads', () => {
  it('creates a head once: a second create of the same VM (any case) is refused', async () => {
    const vm = newVm();
    const first = await ledger.rings.create({ ...vm, generation: 1, alertIds: [ringAlertId(vm.vmId, 1)] });
    const second = await otherHost.rings.create({
      ...vm,
      vmId: vm.vmId.toUpperCase(),
      generation: 7,
      alertIds: [],
    });
    expect(first?.vmId).toBe(vm.vmId.toLowerCase());
    expect(second).toBeUndefined();
    const stored = await ledger.rings.get(vm.vmId.toUpperCase());
    expect(stored).toMatchObject({ vmName: vm.vmName, subscriptionId: SUB, generation: 1 });
    expect(stored?.alertIds).toEqual([`ring:${vm.vmId.toLowerCase()}:1`]);
  });

  it('keeps a generation number beyond 32 bits (epoch milliseconds)', async () => {
    const vm = newVm();
    await ledger.rings.create({ ...vm, generation: 1_764_662_400_123, alertIds: [] });
    expect((await ledger.rings.get(vm.vmId))?.generation).toBe(1_764_662_400_123);
  });

  it('of two updates from the same head only the first lands', async () => {
    const vm = newVm();
    const head = await ledger.rings.create({ ...vm, generation: 1, alertIds: [ringAlertId(vm.vmId, 1)] });
    clock.advanceSeconds(5);
    const a = await ledger.rings.update(head!, {
      generation: 2,
      alertIds: withNewestAlertId(head!.alertIds, 'x2'),
    });
    const b = await otherHost.rings.update(head!, { generation: 2, alertIds: ['y2'] });
    expect(a).toBeDefined();
    expect(a!.updatedAt).not.toBe(head!.updatedAt);
    expect(b).toBeUndefined();
    expect((await ledger.rings.get(vm.vmId))?.alertIds).toEqual(['x2', ringAlertId(vm.vmId, 1)]);
  });

  it('keeps the generations being replaced, empty for a new head', async () => {
    const vm = newVm();
    const head = await ledger.rings.create({ ...vm, generation: 1, alertIds: ['g1'] });
    expect(head?.replacing).toEqual([]);
    const next = await ledger.rings.update(head!, {
      generation: 2,
      alertIds: ['g2', 'g1'],
      replacing: ['g1'],
    });
    expect((await ledger.rings.get(vm.vmId))?.replacing).toEqual(['g1']);
    await ledger.rings.update(next!, { replacing: [] });
    expect((await ledger.rings.get(vm.vmId))?.replacing).toEqual([]);
  });

  it('remembers only the newest generations, newest first', () => {
    let ids: string[] = [];
    for (let g = 1; g <= 5; g++) ids = withNewestAlertId(ids, `g${g}`);
    expect(ids).toEqual(['g5', 'g4', 'g3'].slice(0, RING_HEAD_GENERATIONS));
    expect(withNewestAlertId(ids, 'g5')).toEqual(ids);
  });

  it('removes a head only from its current ETag, and a gone head counts as removed', async () => {
    const vm = newVm();
    const head = await ledger.rings.create({ ...vm, generation: 1, alertIds: [] });
    const moved = await otherHost.rings.update(head!, { generation: 2 });
    expect(await ledger.rings.remove(head!)).toBe(false);
    expect(await ledger.rings.get(vm.vmId)).toBeDefined();
    expect(await ledger.rings.remove(moved!)).toBe(true);
    expect(await ledger.rings.get(vm.vmId)).toBeUndefined();
    expect(await ledger.rings.remove(moved!)).toBe(true);
  });

  it('lists every head in one query, and nothing else of the table', async () => {
    const before = (await ledger.rings.list()).length;
    const vms = [newVm(), newVm()];
    for (const vm of vms) await ledger.rings.create({ ...vm, generation: 1, alertIds: [] });
    await ledger.insert(newRecord());
    const heads = await ledger.rings.list();
    expect(heads).toHaveLength(before + 2);
    expect(heads.map((h) => h.vmId)).toEqual(expect.arrayContaining(vms.map((v) => v.vmId.toLowerCase())));
  });
});

describe('LedgerRingDirectory', () => {
  it("gives the storage paths of a VM's recent generations, newest first, skipping ones without a path", async () => {
    const vm = newVm();
    const ids = [1, 2, 3].map((g) => ringAlertId(vm.vmId, g));
    const paths = ids.map(
      (_, i) => `https://devstoreaccount1.blob.core.windows.net/network-watcher-logs/ring-${i}/`,
    );
    await ledger.insert(newRecord({ alertId: ids[0], kind: 'ring', target: vm.vmId, storagePath: paths[0] }));
    await ledger.insert(newRecord({ alertId: ids[1], kind: 'ring', target: vm.vmId }));
    await ledger.insert(newRecord({ alertId: ids[2], kind: 'ring', target: vm.vmId, storagePath: paths[2] }));
    await ledger.rings.create({ ...vm, generation: 3, alertIds: [ids[2]!, ids[1]!, ids[0]!] });
    const directory = new LedgerRingDirectory(ledger);
    expect(await directory.ringPathsOf(vm.vmId.toUpperCase())).toEqual([paths[2], paths[0]]);
  });

  it('answers no paths for a VM without a ring', async () => {
    expect(await new LedgerRingDirectory(ledger).ringPathsOf(newVm().vmId)).toEqual([]);
  });
});
