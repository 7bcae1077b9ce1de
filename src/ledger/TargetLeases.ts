import type { TableEntity } from '@azure/data-tables';
import { LedgerUnavailableError } from './LedgerUnavailableError.js';
import { holdsTarget } from './lifecycle.js';
import type { CaptureRecord } from './captureRecord.js';
import { tableSafeKey } from './tableText.js';
import {
  MAX_CONFLICTING_WRITES,
  backoff,
  readEntity,
  writeConditionally,
  type TableAccess,
} from './tableCalls.js';

/** The outcome of {@link TargetLeases.acquire}. */
export type TargetLeaseResult =
  | { acquired: true }
  /** Another alert's record holds the target (see {@link holdsTarget}). */
  | { acquired: false; holder: CaptureRecord };

const LEASE_PARTITION_KEY = 'lease';

/**
 * One lease per capture target (PartitionKey `lease`, RowKey the target key): of concurrent alerts on one VM
 * exactly one record holds it, so one capture runs per target at a time. A lease passes to a newer alert only
 * once its holder no longer {@link holdsTarget} (it ended, failed or was ignored).
 */
export class TargetLeases {
  constructor(
    private readonly access: TableAccess,
    private readonly now: () => Date,
    private readonly getRecord: (alertId: string) => Promise<CaptureRecord | undefined>,
  ) {}

  /**
   * Makes the record of `alertId` the holder of the target `key`, unless another alert's record still holds it.
   * Idempotent for the current holder. Call it after the record of `alertId` is inserted.
   */
  async acquire(key: string, alertId: string): Promise<TargetLeaseResult> {
    const rowKey = tableSafeKey(key.toLowerCase());
    for (let attempt = 0; attempt < MAX_CONFLICTING_WRITES; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const lease = await this.read(rowKey);
      if (lease?.alertId === alertId) return { acquired: true };
      if (lease?.alertId !== undefined) {
        const holder = await this.getRecord(lease.alertId);
        if (holder && holdsTarget(holder)) return { acquired: false, holder };
      }
      const entity: TableEntity = {
        partitionKey: LEASE_PARTITION_KEY,
        rowKey,
        leaseKey: key,
        alertId,
        acquiredAt: this.now().toISOString(),
      };
      if (await writeConditionally(this.access, entity, lease?.etag, 'acquireTargetLease')) {
        return { acquired: true };
      }
    }
    throw new LedgerUnavailableError('acquireTargetLease', { code: 'TooManyConflicts' });
  }

  /** The record that last acquired the lease of `key` (in whatever state it is now), or `undefined`. */
  async holder(key: string): Promise<CaptureRecord | undefined> {
    const lease = await this.read(tableSafeKey(key.toLowerCase()));
    return lease?.alertId === undefined ? undefined : this.getRecord(lease.alertId);
  }

  private async read(rowKey: string): Promise<{ alertId?: string; etag: string } | undefined> {
    const entity = await readEntity(this.access, LEASE_PARTITION_KEY, rowKey, 'readLease');
    if (!entity) return undefined;
    return { alertId: typeof entity.alertId === 'string' ? entity.alertId : undefined, etag: entity.etag };
  }
}
