import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { CaptureLedger, type LedgerOptions } from '../../../src/ledger/CaptureLedger.js';
import type { NewCaptureRecord } from '../../../src/ledger/captureRecord.js';

/** A settable clock for the ledger. */
export interface TestClock {
  now: Date;
  advanceSeconds(seconds: number): void;
}

/** A clock that starts at a fixed instant and only moves when told. */
export function testClock(start = '2025-03-01T08:00:00.000Z'): TestClock {
  const clock: TestClock = {
    now: new Date(start),
    advanceSeconds: (seconds) => (clock.now = new Date(clock.now.getTime() + seconds * 1000)),
  };
  return clock;
}

/** A table name no other test uses. */
export function freshTableName(): string {
  return `ledger${Date.now()}${randomBytes(4).toString('hex')}`;
}

/** A ledger on `tableName` of the run's Azurite (several such ledgers stand for several function hosts). */
export function ledgerOn(tableName: string, options: LedgerOptions = {}): CaptureLedger {
  return CaptureLedger.fromConfig(
    { connectionString: inject('azuriteConnectionString'), tableName },
    undefined,
    options,
  );
}

/** A ledger on a fresh table of the run's Azurite. */
export async function freshLedger(options: LedgerOptions = {}): Promise<CaptureLedger> {
  const ledger = ledgerOn(freshTableName(), options);
  await ledger.ensureTable();
  return ledger;
}

const SUB = '00000000-0000-0000-0000-000000000001';

/** A new record for a VM alert; override what the test is about. */
export function newRecord(overrides: Partial<NewCaptureRecord> = {}): NewCaptureRecord {
  const vmName = overrides.vmName ?? 'vm-web-01';
  return {
    alertId: `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/${randomBytes(8).toString('hex')}`,
    ruleName: 'High CPU',
    severity: 'Sev3',
    firedAt: '2025-03-01T07:59:30.000Z',
    monitorCondition: 'Fired',
    target: `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/${vmName}`,
    targetKind: 'vm',
    vmName,
    subscriptionId: SUB,
    ...overrides,
  };
}
