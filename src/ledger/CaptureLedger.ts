import type { TokenCredential } from '@azure/core-auth';
import { TableClient, odata, type TableEntity, type TableServiceClientOptions } from '@azure/data-tables';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  RECORD_PARTITION_KEY,
  alertRowKey,
  fromCaptureEntity,
  targetKey,
  toCaptureEntity,
  type CaptureChanges,
  type CaptureRecord,
  type NewCaptureRecord,
} from './captureRecord.js';
import { isActiveRecord, planMove, type MoveName } from './lifecycle.js';
import { LedgerUnavailableError } from './LedgerUnavailableError.js';
import { RegionBudgetStore, type TryReserveSlotOptions } from './RegionBudgetStore.js';
import { RingHeads } from './RingHeads.js';
import { TargetLeases, type TargetLeaseResult } from './TargetLeases.js';
import {
  DEFAULT_LEDGER_CALL_TIMEOUT_IN_MS,
  deleteEntity,
  queryEntities,
  readEntity,
  statusOf,
  unavailable,
  withDeadline,
  type TableAccess,
} from './tableCalls.js';

export type { TargetLeaseResult } from './TargetLeases.js';
export type { TryReserveSlotOptions } from './RegionBudgetStore.js';

/** The Table client's retry options (`@azure/core-rest-pipeline`'s `PipelineRetryOptions`). */
export type LedgerRetryOptions = NonNullable<TableServiceClientOptions['retryOptions']>;

/** Options for {@link CaptureLedger}. */
export interface LedgerOptions {
  /** Clock, for tests. Default: `() => new Date()`. */
  now?: () => Date;
  /**
   * Retry policy of the Table client for network errors, 5xx and 429. Default: 2 retries from 200 ms, at most
   * 2 s apart; every call is bounded by `callTimeoutInMs` anyway.
   */
  retryOptions?: LedgerRetryOptions;
  /**
   * Deadline of each ledger call, its retries included (default 2 500 ms): a stalled Table service turns into
   * a {@link LedgerUnavailableError} (the webhook's 503) within the webhook's fast-path budget.
   */
  callTimeoutInMs?: number;
  /** Where to report records that cannot be read. Default: silent. */
  logger?: Logger;
}

/** Where the ledger lives: `Config['ledger']`. */
export interface LedgerLocation {
  /** Storage account name, reached at `https://{name}.table.core.windows.net` with a credential. */
  accountName?: string;
  /** A storage connection string (Azurite); wins over `accountName` when both are set. */
  connectionString?: string;
  tableName: string;
}

/** The outcome of {@link CaptureLedger.insert}. */
export type InsertResult =
  | { created: true; record: CaptureRecord }
  /** The alert id was already recorded: nothing was written. */
  | { created: false; existing: CaptureRecord };

/** Options for {@link CaptureLedger.listByTarget}. */
export interface ListByTargetOptions {
  /** Also return records that need no more work (notified, ignored...). Default false. */
  includeInactive?: boolean;
}

/** Options for {@link CaptureLedger.listRecords}. */
export interface ListRecordsOptions {
  /** ISO time: only records created at or after it. */
  createdSince?: string;
}

/** Options for {@link CaptureLedger.removeExpired}. */
export interface RemoveExpiredOptions {
  /** Records created more than this many days ago, and no longer active, are removed. */
  retentionDays: number;
  /** The most records removed in one call (the rest go next time). Default 500. */
  maxRecords?: number;
}

const DEFAULT_RETRY_OPTIONS: LedgerRetryOptions = {
  maxRetries: 2,
  retryDelayInMs: 200,
  maxRetryDelayInMs: 2_000,
};

/** Index of the active records: one small entity per active record, so a tick reads only those. */
const ACTIVE_PARTITION_KEY = 'active';
/** An index entry younger than this whose record is missing may belong to an insert under way: left alone. */
const INDEX_ENTRY_GRACE_IN_MS = 60_000;
/** The retention sweep's cursor: the last creation day (yyyymmdd) whose records were all looked at. */
const RETENTION_PARTITION_KEY = 'retention';
/**
 * Days looked back by the first sweep of a table made before the cursor existed (a new table gets its cursor at
 * creation).
 */
const FIRST_SWEEP_DAYS = 365;
/** Days looked at by one sweep at most (an empty day costs one request): it catches up over a few calls. */
const MAX_SWEEP_DAYS = 62;
/** Concurrent point reads when listing the active records. */
const READ_CONCURRENCY = 16;

/**
 * A record's due time as the active index stores it: its `nextAttemptAt`, or '' (due now, sorts first), or its
 * `keepDueAt` when that is earlier (an alert's pre-alert files are kept on the next tick while its capture waits
 * for budget or runs for minutes).
 */
function dueOf(entity: { nextAttemptAt?: unknown; keepDueAt?: unknown }): string {
  const next = typeof entity.nextAttemptAt === 'string' ? entity.nextAttemptAt : '';
  const keep = typeof entity.keepDueAt === 'string' ? entity.keepDueAt : undefined;
  return keep !== undefined && next !== '' && keep < next ? keep : next;
}

/** The PartitionKey of the creation-day index holding the records created on `iso`'s day. */
function dayPartition(iso: string): string {
  return `day-${iso.slice(0, 10).replace(/-/g, '')}`;
}

/**
 * The capture ledger on Azure Table storage: one record per alert id (PartitionKey `alert`, RowKey the SHA-256
 * of the alert id), written only with conditional operations and moved only along the lifecycle table
 * (`lifecycle.ts`). Beside the records: an index of the active ones (PartitionKey `active`), so that a poller
 * tick costs the same with 10 000 finished records as with none; an index by creation day (`day-yyyymmdd`), so
 * that records past their retention are found without scanning; the region budget ({@link RegionBudgetStore});
 * the target leases ({@link TargetLeases}); the ring heads ({@link RingHeads}).
 *
 * Every failure to reach or write the table, and every call that outlives its deadline, is a
 * {@link LedgerUnavailableError}; the conflicts the ledger expects are results: `insert` of a known alert id
 * returns the existing record, a `transition` that lost the race returns `undefined`.
 */
export class CaptureLedger {
  private readonly now: () => Date;
  private readonly logger: Logger;
  private readonly access: TableAccess;
  /** The region budget: our reservations per subscription and region. */
  readonly budget: RegionBudgetStore;
  /** One lease per capture target. */
  readonly leases: TargetLeases;
  /** One head per ring VM: its newest generation and the records of its recent ones. */
  readonly rings: RingHeads;

  /** Wraps an existing Table client (see {@link CaptureLedger.fromConfig}). */
  constructor(
    private readonly client: TableClient,
    options: LedgerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
    this.access = { client, callTimeoutInMs: options.callTimeoutInMs ?? DEFAULT_LEDGER_CALL_TIMEOUT_IN_MS };
    this.budget = new RegionBudgetStore(this.access, this.now, this.logger);
    this.leases = new TargetLeases(this.access, this.now, (alertId) => this.get(alertId));
    this.rings = new RingHeads(this.access, this.now);
  }

  /**
   * Creates the ledger from `Config['ledger']`: a connection string gives a shared-key client (plain http is
   * allowed for loopback endpoints only, i.e. Azurite); an account name gives
   * `https://{accountName}.table.core.windows.net` with `credential` (the caller's `DefaultAzureCredential`).
   *
   * @throws ConfigError when neither is set, the connection string cannot be parsed, or the credential is missing.
   */
  static fromConfig(
    ledger: LedgerLocation,
    credential?: TokenCredential,
    options: LedgerOptions = {},
  ): CaptureLedger {
    const clientOptions: TableServiceClientOptions = {
      retryOptions: options.retryOptions ?? DEFAULT_RETRY_OPTIONS,
    };
    if (ledger.connectionString) {
      let client: TableClient;
      try {
        client = TableClient.fromConnectionString(ledger.connectionString, ledger.tableName, {
          ...clientOptions,
          allowInsecureConnection: isLoopbackHttp(ledger.connectionString),
        });
      } catch {
        // The SDK's message may quote the connection string, key included: say what was expected instead.
        throw new ConfigError([
          'LEDGER_STORAGE_CONNECTION_STRING: expected a storage connection string with a table endpoint',
        ]);
      }
      return new CaptureLedger(client, options);
    }
    if (ledger.accountName) {
      if (!credential) {
        throw new ConfigError([
          'LEDGER_STORAGE_ACCOUNT_NAME: a credential (managed identity) is needed to reach the ledger by account name',
        ]);
      }
      const url = `https://${ledger.accountName}.table.core.windows.net`;
      return new CaptureLedger(new TableClient(url, ledger.tableName, credential, clientOptions), options);
    }
    throw new ConfigError([
      'LEDGER_STORAGE_ACCOUNT_NAME: required: set LEDGER_STORAGE_ACCOUNT_NAME (managed identity) or LEDGER_STORAGE_CONNECTION_STRING',
    ]);
  }

  /**
   * Creates the table if it does not exist yet, and indexes active records written before the index existed
   * (one scan per function instance, at its start).
   */
  async ensureTable(): Promise<void> {
    try {
      await this.client.createTable(withDeadline(this.access));
      // A new table holds nothing older than today: the retention sweep starts here.
      const yesterday = new Date(this.now().getTime() - 86_400_000).toISOString().slice(0, 10);
      await this.client
        .upsertEntity(
          { partitionKey: RETENTION_PARTITION_KEY, rowKey: 'cursor', sweptThrough: yesterday },
          'Replace',
          withDeadline(this.access),
        )
        .catch((e: unknown) => {
          throw unavailable('createTable', e);
        });
    } catch (e) {
      if (e instanceof LedgerUnavailableError) throw e;
      if (statusOf(e) !== 409) throw unavailable('createTable', e); // 409: TableAlreadyExists
      const unindexed = await queryEntities(
        this.access,
        `${odata`PartitionKey eq ${RECORD_PARTITION_KEY}`} and active eq true`,
        'ensureTable',
      );
      await Promise.all(unindexed.map((entity) => this.index(String(entity.rowKey), entity)));
    }
  }

  /**
   * Records a new capture attempt, unless the alert id is already recorded: a conditional insert, so of two
   * concurrent deliveries of one alert exactly one gets `created: true`. Never overwrites. The index entries are
   * written first: an active record is never missing from the active index.
   */
  async insert(init: NewCaptureRecord): Promise<InsertResult> {
    const now = this.now().toISOString();
    const entity = toCaptureEntity({
      ...init,
      state: init.state ?? 'pending',
      attempts: init.attempts ?? 0,
      notifyAttempts: init.notifyAttempts ?? 0,
      createdAt: now,
      updatedAt: now,
    });
    await this.index(entity.rowKey, entity);
    try {
      const response = await this.client.createEntity(entity, withDeadline(this.access));
      return { created: true, record: this.readWritten(entity, response.etag) };
    } catch (e) {
      if (statusOf(e) !== 409) throw unavailable('insert', e);
    }
    const existing = await this.get(init.alertId);
    if (!existing) {
      // An entity we cannot read: better a retried delivery than a guess.
      throw new LedgerUnavailableError('insert', { code: 'UnreadableRecord' });
    }
    return { created: false, existing };
  }

  /** Writes the day index entry, and the active index entry when the record is active. */
  private async index(rowKey: string, entity: Record<string, unknown>): Promise<void> {
    const createdAt = typeof entity.createdAt === 'string' ? entity.createdAt : this.now().toISOString();
    const entry = (partitionKey: string): TableEntity => ({ partitionKey, rowKey, createdAt });
    try {
      await Promise.all([
        this.client.upsertEntity(entry(dayPartition(createdAt)), 'Replace', withDeadline(this.access)),
        entity.active === true
          ? this.client.upsertEntity(
              { ...entry(ACTIVE_PARTITION_KEY), dueAt: dueOf(entity) },
              'Replace',
              withDeadline(this.access),
            )
          : undefined,
      ]);
    } catch (e) {
      throw unavailable('insert', e);
    }
  }

  /** Moves the active index entry's due time (see {@link dueOf}). */
  private async setDue(rowKey: string, createdAt: string, dueAt: string): Promise<void> {
    try {
      await this.client.upsertEntity(
        { partitionKey: ACTIVE_PARTITION_KEY, rowKey, createdAt, dueAt },
        'Replace',
        withDeadline(this.access),
      );
    } catch (e) {
      throw unavailable('transition', e);
    }
  }

  /** The record of `alertId`, or `undefined` when there is none (or it cannot be read). */
  async get(alertId: string): Promise<CaptureRecord | undefined> {
    return this.getByRowKey(alertRowKey(alertId));
  }

  private async getByRowKey(rowKey: string): Promise<CaptureRecord | undefined> {
    const entity = await readEntity(this.access, RECORD_PARTITION_KEY, rowKey, 'get');
    return entity ? this.read(entity) : undefined;
  }

  /**
   * Moves the record along the lifecycle table: `move` decides the next state (an illegal move throws
   * `IllegalMoveError` before anything is written), `changes` the other fields. ETag-conditional like
   * {@link CaptureLedger.transition}: `undefined` when someone else changed the record first.
   */
  async move(
    record: CaptureRecord,
    move: MoveName,
    changes: Omit<CaptureChanges, 'state'> = {},
  ): Promise<CaptureRecord | undefined> {
    const state = planMove(record, move, changes);
    return this.transition(record, { ...changes, state });
  }

  /**
   * Applies `changes` to the record, only if it still has `record.etag`: returns the record as stored now (new
   * etag, `updatedAt` set), or `undefined` when someone else changed it first (412): re-read and decide again.
   * `alertId` and `createdAt` never change. Prefer {@link CaptureLedger.move}, which checks the lifecycle.
   */
  async transition(record: CaptureRecord, changes: CaptureChanges): Promise<CaptureRecord | undefined> {
    const { etag, ...current } = record;
    const next: Omit<CaptureRecord, 'etag'> = {
      ...current,
      ...changes,
      alertId: record.alertId,
      createdAt: record.createdAt,
      updatedAt: this.now().toISOString(),
    };
    // A stray `etag` key in `changes` (outside the type) must not end up stored.
    delete (next as Partial<CaptureRecord>).etag;
    const entity = toCaptureEntity(next);
    // The active index carries each record's due time, so a tick reads only the records due. It may be early
    // (an extra read), never late: moved earlier before the record is written, later only after.
    const oldDue = dueOf(record);
    const newDue = dueOf(next);
    const stillActive = isActiveRecord(next);
    if (stillActive && newDue < oldDue) await this.setDue(entity.rowKey, record.createdAt, newDue);
    let written: CaptureRecord;
    try {
      const response = await this.client.updateEntity(entity, 'Replace', {
        etag,
        ...withDeadline(this.access),
      });
      written = this.readWritten(entity, response.etag);
    } catch (e) {
      const status = statusOf(e);
      if (status === 412 || status === 404) return undefined;
      throw unavailable('transition', e);
    }
    if (stillActive && newDue > oldDue) {
      await this.setDue(entity.rowKey, record.createdAt, newDue).catch((e: unknown) =>
        this.logger.warn(`Capture ledger: active index due time left early: ${String(e)}`),
      );
    }
    if (isActiveRecord(record) && !isActiveRecord(written)) {
      // Done: out of the active index. Should this fail, the next listing drops the entry.
      await deleteEntity(this.access, ACTIVE_PARTITION_KEY, entity.rowKey, 'transition').catch((e: unknown) =>
        this.logger.warn(`Capture ledger: active index entry left behind: ${String(e)}`),
      );
    }
    return written;
  }

  /**
   * The records that still need work (see `isActiveRecord`), oldest first: one query of the active index (its
   * size is the number of active records, whatever the ledger's history), then one read per active record.
   * Index entries whose record is done or gone are removed on the way.
   */
  async listActive(): Promise<CaptureRecord[]> {
    return (await this.listDue()).records;
  }

  /**
   * The active records due by `dueBy` (their `nextAttemptAt` passed, or unset), oldest first, and how many are
   * active in all: one query of the active index (1 request per 1 000 active records), then one read per due
   * record only, so records waiting for their capture's end cost nothing but their index entry. Without `dueBy`,
   * every active record.
   */
  async listDue(dueBy?: Date): Promise<{ records: CaptureRecord[]; active: number }> {
    const all = await queryEntities(
      this.access,
      odata`PartitionKey eq ${ACTIVE_PARTITION_KEY}`,
      'listActive',
    );
    const by = dueBy?.toISOString();
    const entries = by === undefined ? all : all.filter((e) => typeof e.dueAt !== 'string' || e.dueAt <= by);
    const records: CaptureRecord[] = [];
    let next = 0;
    const nowMs = this.now().getTime();
    const worker = async () => {
      while (next < entries.length) {
        const entry = entries[next++]!;
        const rowKey = String(entry.rowKey);
        const record = await this.getByRowKey(rowKey);
        if (record && isActiveRecord(record)) {
          records.push(record);
          continue;
        }
        const createdAt = typeof entry.createdAt === 'string' ? Date.parse(entry.createdAt) : 0;
        if (record || nowMs - createdAt > INDEX_ENTRY_GRACE_IN_MS) {
          await deleteEntity(this.access, ACTIVE_PARTITION_KEY, rowKey, 'listActive');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, entries.length) }, worker));
    return { records: records.sort((a, b) => compare(a.createdAt, b.createdAt)), active: all.length };
  }

  /**
   * The records of one capture target (ARM id, compared case-insensitively), newest first: active ones only
   * unless `includeInactive`. A partition scan: for operators and tests, never on a tick.
   */
  async listByTarget(target: string, options: ListByTargetOptions = {}): Promise<CaptureRecord[]> {
    const filter =
      odata`PartitionKey eq ${RECORD_PARTITION_KEY} and targetKey eq ${targetKey(target)}` +
      (options.includeInactive ? '' : ' and active eq true');
    const entities = await queryEntities(this.access, filter, 'listByTarget');
    const records = entities.map((e) => this.read(e)).filter((r): r is CaptureRecord => r !== undefined);
    return records.sort((a, b) => compare(b.createdAt, a.createdAt));
  }

  /**
   * Every record created at or after `createdSince` (ISO; all when unset), newest first. A partition scan: for
   * the operator CLI (`alert-capture list`), never on a tick.
   */
  async listRecords(options: ListRecordsOptions = {}): Promise<CaptureRecord[]> {
    const filter =
      odata`PartitionKey eq ${RECORD_PARTITION_KEY}` +
      (options.createdSince ? ` and ${odata`createdAt ge ${options.createdSince}`}` : '');
    const entities = await queryEntities(this.access, filter, 'listRecords');
    const records = entities.map((e) => this.read(e)).filter((r): r is CaptureRecord => r !== undefined);
    return records.sort((a, b) => compare(b.createdAt, a.createdAt));
  }

  /** The record whose capture has this name (names are per attempt: at most one), for the operator CLI. */
  async findByCaptureName(captureName: string): Promise<CaptureRecord | undefined> {
    const entities = await queryEntities(
      this.access,
      odata`PartitionKey eq ${RECORD_PARTITION_KEY} and captureName eq ${captureName.toLowerCase()}`,
      'findByCaptureName',
    );
    return entities.map((e) => this.read(e)).find((r): r is CaptureRecord => r !== undefined);
  }

  /**
   * Removes the records created more than `retentionDays` ago that need no more work, a few creation days per
   * call (from the day index: no scan of the records). Returns how many were removed. Records still active are
   * kept (their timeouts end them).
   */
  async removeExpired(options: RemoveExpiredOptions): Promise<number> {
    const maxRecords = options.maxRecords ?? 500;
    const dayMs = 86_400_000;
    const cutoffMs = this.now().getTime() - options.retentionDays * dayMs;
    const cutoffDay = dayPartition(new Date(cutoffMs - dayMs).toISOString()); // the last whole day past retention
    const cursor = await readEntity(this.access, RETENTION_PARTITION_KEY, 'cursor', 'removeExpired');
    const from =
      typeof cursor?.sweptThrough === 'string'
        ? Date.parse(cursor.sweptThrough) + dayMs
        : cutoffMs - FIRST_SWEEP_DAYS * dayMs;
    let removed = 0;
    let sweptThrough: string | undefined;
    for (let dayStart = from, days = 0; days < MAX_SWEEP_DAYS; dayStart += dayMs, days++) {
      const iso = new Date(dayStart).toISOString();
      if (dayPartition(iso) > cutoffDay) break;
      const entries = await queryEntities(
        this.access,
        odata`PartitionKey eq ${dayPartition(iso)}`,
        'removeExpired',
      );
      let complete = true;
      for (const entry of entries) {
        if (removed >= maxRecords) {
          complete = false;
          break;
        }
        const rowKey = String(entry.rowKey);
        const record = await this.getByRowKey(rowKey);
        if (record && isActiveRecord(record)) continue;
        if (record) await deleteEntity(this.access, RECORD_PARTITION_KEY, rowKey, 'removeExpired');
        await deleteEntity(this.access, String(entry.partitionKey), rowKey, 'removeExpired');
        removed++;
      }
      if (!complete) break;
      sweptThrough = iso.slice(0, 10);
    }
    if (sweptThrough) {
      await this.client
        .upsertEntity(
          { partitionKey: RETENTION_PARTITION_KEY, rowKey: 'cursor', sweptThrough },
          'Replace',
          withDeadline(this.access),
        )
        .catch((e: unknown) => {
          throw unavailable('removeExpired', e);
        });
    }
    return removed;
  }

  /** See {@link RegionBudgetStore.tryReserveSlot}. */
  tryReserveSlot(
    subscriptionId: string,
    region: string,
    captureName: string,
    inUse: ReadonlySet<string>,
    budget: number,
    options: TryReserveSlotOptions = {},
  ): Promise<boolean> {
    return this.budget.tryReserveSlot(subscriptionId, region, captureName, inUse, budget, options);
  }

  /** See {@link RegionBudgetStore.releaseSlot}. */
  releaseSlot(subscriptionId: string, region: string, captureName: string): Promise<void> {
    return this.budget.releaseSlot(subscriptionId, region, captureName);
  }

  /** See {@link TargetLeases.acquire}: `key` names the target (`targetKeyOf`). */
  acquireTargetLease(key: string, alertId: string): Promise<TargetLeaseResult> {
    return this.leases.acquire(key, alertId);
  }

  /** See {@link TargetLeases.holder}. */
  getTargetLeaseHolder(key: string): Promise<CaptureRecord | undefined> {
    return this.leases.holder(key);
  }

  private read(
    entity: Record<string, unknown> & { etag: string; rowKey?: string },
  ): CaptureRecord | undefined {
    const record = fromCaptureEntity(entity, entity.etag);
    if (!record) {
      this.logger.warn(`Capture ledger: skipped an unreadable record (RowKey ${entity.rowKey ?? '?'})`);
    }
    return record;
  }

  /** The record we just wrote, as the service stores it. */
  private readWritten(entity: TableEntity, etag: string | undefined): CaptureRecord {
    const record = fromCaptureEntity(entity, etag ?? '');
    if (!record || !etag) throw new LedgerUnavailableError('write', { code: 'NoETag' });
    return record;
  }
}

/** Plain http only where it cannot leave the machine: Azurite on loopback. */
function isLoopbackHttp(connectionString: string): boolean {
  if (/(^|;)\s*UseDevelopmentStorage\s*=\s*true\s*(;|$)/i.test(connectionString)) return true;
  const endpoint = /(?:^|;)\s*TableEndpoint\s*=\s*([^;]+)/i.exec(connectionString)?.[1];
  if (!endpoint) return false;
  try {
    const url = new URL(endpoint.trim());
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
