import { beforeAll, describe, expect, it } from 'vitest';
import type { CaptureLedger } from '../../../src/ledger/CaptureLedger.js';
import { freshTableName, ledgerOn, testClock, type TestClock } from './ledgerTestSupport.js';

const SUB = '00000000-0000-0000-0000-00000000000b';
let ledger: CaptureLedger;
/** Five more ledgers on the same table: five function hosts racing through ETags. */
let hosts: CaptureLedger[];
let clock: TestClock;
let regionSeq = 0;

/** Every test gets its own region, so its budget entity starts empty. */
function newRegion(): string {
  regionSeq += 1;
  return `testregion${regionSeq}`;
}

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

beforeAll(async () => {
  clock = testClock();
  const tableName = freshTableName();
  ledger = ledgerOn(tableName, { now: () => clock.now });
  await ledger.ensureTable();
  hosts = Array.from({ length: 5 }, () => ledgerOn(tableName, { now: () => clock.now }));
});

describe('CaptureLedger.tryReserveSlot', () => {
  it('grants exactly 10 of 50 concurrent reservations with a budget of 10', async () => {
    const region = newRegion();
    const results = await Promise.all(
      names('alertcap-vm', 50).map((n) => ledger.tryReserveSlot(SUB, region, n, new Set(), 10)),
    );
    expect(results.filter(Boolean)).toHaveLength(10);
  });

  it('grants exactly 10 of 50 reservations racing from 5 hosts with a budget of 10', async () => {
    const region = newRegion();
    const results = await Promise.all(
      names('alertcap-vm', 50).map((n, i) => hosts[i % 5]!.tryReserveSlot(SUB, region, n, new Set(), 10)),
    );
    expect(results.filter(Boolean)).toHaveLength(10);
  });

  it('grants exactly 7 of 50 concurrent reservations when 3 captures are already listed', async () => {
    const region = newRegion();
    const inUse = new Set(['someone-elses-capture', 'manual-debug', 'alertcap-old']);
    const results = await Promise.all(
      names('alertcap-vm', 50).map((n) => ledger.tryReserveSlot(SUB, region, n, inUse, 10)),
    );
    expect(results.filter(Boolean)).toHaveLength(7);
  });

  it('grants a name already reserved again, without taking a second slot', async () => {
    const region = newRegion();
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-a', new Set(), 2)).toBe(true);
    expect(await ledger.tryReserveSlot(SUB, region, 'ALERTCAP-A', new Set(), 2)).toBe(true);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', new Set(), 2)).toBe(true);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-c', new Set(), 2)).toBe(false);
  });

  it('counts a listed capture and a reservation of the same name once, whatever the case', async () => {
    const region = newRegion();
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-a', new Set(), 2)).toBe(true);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', new Set(['AlertCap-A']), 2)).toBe(true);
  });

  it('refuses when the listed captures alone fill the budget', async () => {
    const region = newRegion();
    const inUse = new Set(['x1', 'x2']);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-a', inUse, 2)).toBe(false);
  });

  it('grants a name that is listed already when the listing fills the budget exactly', async () => {
    const region = newRegion();
    const inUse = new Set(['x1', 'alertcap-a']);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-a', inUse, 2)).toBe(true);
  });

  it('keeps budgets of different regions and subscriptions apart', async () => {
    const region = newRegion();
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-a', new Set(), 1)).toBe(true);
    expect(await ledger.tryReserveSlot(SUB, newRegion(), 'alertcap-b', new Set(), 1)).toBe(true);
    expect(
      await ledger.tryReserveSlot('00000000-0000-0000-0000-00000000000c', region, 'alertcap-c', new Set(), 1),
    ).toBe(true);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-d', new Set(), 1)).toBe(false);
  });

  it('frees the slot of an expired reservation', async () => {
    const region = newRegion();
    expect(
      await ledger.tryReserveSlot(SUB, region, 'alertcap-a', new Set(['alertcap-a']), 1, { ttlSeconds: 60 }),
    ).toBe(true);
    clock.advanceSeconds(59);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', new Set(), 1)).toBe(false);
    clock.advanceSeconds(2);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', new Set(), 1)).toBe(true);
  });

  it('frees the slot of a reservation no longer listed once the grace period is over', async () => {
    const region = newRegion();
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-a', new Set(), 1)).toBe(true);
    clock.advanceSeconds(119);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', new Set(), 1)).toBe(false);
    clock.advanceSeconds(2);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', new Set(), 1)).toBe(true);
  });

  it('keeps a reservation past the grace period while its capture is listed', async () => {
    const region = newRegion();
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-a', new Set(), 2)).toBe(true);
    clock.advanceSeconds(600);
    // The caller's listing shows alertcap-a and one capture made by a person: no room for a third.
    const inUse = new Set(['alertcap-a', 'manual']);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', inUse, 2)).toBe(false);
  });
});

describe('CaptureLedger.releaseSlot', () => {
  it('frees the slot for another capture', async () => {
    const region = newRegion();
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-a', new Set(), 1)).toBe(true);
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', new Set(), 1)).toBe(false);
    await ledger.releaseSlot(SUB, region, 'ALERTCAP-A');
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', new Set(), 1)).toBe(true);
  });

  it('does nothing for a name never reserved, or a region never used', async () => {
    const region = newRegion();
    await expect(ledger.releaseSlot(SUB, region, 'alertcap-a')).resolves.toBeUndefined();
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-a', new Set(), 1)).toBe(true);
    await ledger.releaseSlot(SUB, region, 'alertcap-other');
    expect(await ledger.tryReserveSlot(SUB, region, 'alertcap-b', new Set(), 1)).toBe(false);
  });

  it('releases correctly while others reserve concurrently', async () => {
    const region = newRegion();
    const first = names('alertcap-first', 5);
    for (const n of first) expect(await ledger.tryReserveSlot(SUB, region, n, new Set(), 5)).toBe(true);
    const results = await Promise.all([
      ...first.map((n) => ledger.releaseSlot(SUB, region, n).then(() => undefined)),
      ...names('alertcap-second', 20).map((n) => ledger.tryReserveSlot(SUB, region, n, new Set(), 5)),
    ]);
    const granted = results.filter((r) => r === true).length;
    expect(granted).toBeLessThanOrEqual(5);
    // Whatever interleaving happened, the budget now holds exactly 5 names: nothing more fits.
    const after = await Promise.all(
      names('alertcap-third', 10).map((n) => ledger.tryReserveSlot(SUB, region, n, new Set(), 5)),
    );
    expect(granted + after.filter(Boolean).length).toBe(5);
  });
});
