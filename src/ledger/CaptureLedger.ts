import type { TokenCredential } from '@azure/core-auth';
import { TableClient, odata, type TableEntity, type TableServiceClientOptions } from '@azure/data-tables';

/** The Table client's retry options (`@azure/core-rest-pipeline`'s `PipelineRetryOptions`). */
export type LedgerRetryOptions = NonNullable<TableServiceClientOptions['retryOptions']>;
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  RECORD_PARTITION_KEY,
  alertRowKey,
  fromCaptureEntity,
  holdsTarget,
  targetKey,
  toCaptureEntity,
  type CaptureChanges,
  type CaptureRecord,
  type NewCaptureRecord,
} from './captureRecord.js';
import { LedgerUnavailableError } from './LedgerUnavailableError.js';
import {
  BUDGET_PARTITION_KEY,
  DEFAULT_RESERVATION_GRACE_SECONDS,
  DEFAULT_RESERVATION_TTL_SECONDS,
  budgetRowKey,
  parseReservations,
  planReservation,
  type SlotReservation,
} from './regionBudget.js';
import { TABLE_STRING_MAX_CHARS, splitText, tableSafeKey } from './tableText.js';

/** Options for {@link CaptureLedger}. */
export interface LedgerOptions {
  /** Clock, for tests. Default: `() => new Date()`. */
  now?: () => Date;
  /**
   * Retry policy of the Table client for network errors, 5xx and 429. Default: 2 retries from 200 ms, at most
   * 2 s apart, so that a ledger outage turns into a 503 well within the 10 s Azure Monitor waits.
   */
  retryOptions?: LedgerRetryOptions;
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

/** The outcome of {@link CaptureLedger.acquireTargetLease}. */
export type TargetLeaseResult =
  | { acquired: true }
  /** Another alert's record holds the target (see {@link holdsTarget}). */
  | { acquired: false; holder: CaptureRecord };

/** Options for {@link CaptureLedger.tryReserveSlot}. */
export interface TryReserveSlotOptions {
  /** Lifetime of the reservation. Default 86 400 (24 h). */
  ttlSeconds?: number;
  /**
   * A reserved name missing from `inUse` is dropped once older than this (its capture was deleted or never
   * created). Default 120.
   */
  graceSeconds?: number;
}

const DEFAULT_RETRY_OPTIONS: LedgerRetryOptions = {
  maxRetries: 2,
  retryDelayInMs: 200,
  maxRetryDelayInMs: 2_000,
};

/** Conditional writes lost to a concurrent writer before a budget operation gives up. */
const MAX_BUDGET_ATTEMPTS = 40;
const BUDGET_MAX_CHUNKS = 15;
const LEASE_PARTITION_KEY = 'lease';

interface BudgetEntity {
  reservations: SlotReservation[];
  etag: string;
}

/**
 * The capture ledger on Azure Table storage: one record per alert id (PartitionKey `alert`, RowKey the
 * SHA-256 of the alert id), written only with conditional operations, and one budget entity per subscription
 * and region (PartitionKey `budget`).
 *
 * Every failure to reach or write the table is a {@link LedgerUnavailableError}; the conflicts the ledger
 * expects are results: `insert` of a known alert id returns the existing record, a `transition` that lost the
 * race returns `undefined`, a budget write that lost the race is retried.
 */
export class CaptureLedger {
  private readonly now: () => Date;
  private readonly logger: Logger;
  /** Tail of the queue of budget operations per budget entity, within this instance. */
  private readonly budgetQueues = new Map<string, Promise<unknown>>();

  /** Wraps an existing Table client (see {@link CaptureLedger.fromConfig}). */
  constructor(
    private readonly client: TableClient,
    options: LedgerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
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

  /** Creates the table if it does not exist yet. */
  async ensureTable(): Promise<void> {
    try {
      await this.client.createTable();
    } catch (e) {
      if (statusOf(e) === 409) return; // TableAlreadyExists
      throw unavailable('createTable', e);
    }
  }

  /**
   * Records a new capture attempt, unless the alert id is already recorded: a conditional insert, so of two
   * concurrent deliveries of one alert exactly one gets `created: true`. Never overwrites.
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
    try {
      const response = await this.client.createEntity(entity);
      return { created: true, record: this.readWritten(entity, response.etag) };
    } catch (e) {
      if (statusOf(e) !== 409) throw unavailable('insert', e);
    }
    const existing = await this.get(init.alertId);
    if (!existing) {
      // Records are never deleted, so this is an entity we cannot read: better a retried delivery than a guess.
      throw new LedgerUnavailableError('insert', { code: 'UnreadableRecord' });
    }
    return { created: false, existing };
  }

  /** The record of `alertId`, or `undefined` when there is none (or it cannot be read). */
  async get(alertId: string): Promise<CaptureRecord | undefined> {
    let entity: TableEntity & { etag: string };
    try {
      entity = await this.client.getEntity(RECORD_PARTITION_KEY, alertRowKey(alertId));
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw unavailable('get', e);
    }
    return this.read(entity);
  }

  /**
   * Applies `changes` to the record, only if it still has `record.etag`: returns the record as stored now (new
   * etag, `updatedAt` set), or `undefined` when someone else changed it first (412): re-read and decide again.
   * `alertId` and `createdAt` never change.
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
    try {
      const response = await this.client.updateEntity(entity, 'Replace', { etag });
      return this.readWritten(entity, response.etag);
    } catch (e) {
      const status = statusOf(e);
      if (status === 412 || status === 404) return undefined;
      throw unavailable('transition', e);
    }
  }

  /**
   * The records that still need work (see {@link isActiveRecord}), oldest first. One query on the `active`
   * property, so an idle ledger costs one request.
   */
  async listActive(): Promise<CaptureRecord[]> {
    const records = await this.query(
      'listActive',
      `${odata`PartitionKey eq ${RECORD_PARTITION_KEY}`} and active eq true`,
    );
    return records.sort((a, b) => compare(a.createdAt, b.createdAt));
  }

  /**
   * The records of one capture target (ARM id, compared case-insensitively), newest first: active ones only
   * unless `includeInactive`.
   */
  async listByTarget(target: string, options: ListByTargetOptions = {}): Promise<CaptureRecord[]> {
    const filter =
      odata`PartitionKey eq ${RECORD_PARTITION_KEY} and targetKey eq ${targetKey(target)}` +
      (options.includeInactive ? '' : ' and active eq true');
    const records = await this.query('listByTarget', filter);
    return records.sort((a, b) => compare(b.createdAt, a.createdAt));
  }

  /**
   * Tries to reserve a capture slot in one subscription and region. `inUse` holds the names of the capture
   * resources the caller just listed in that region's watcher (ours and other people's). Granted when
   * `|inUse ∪ live reservations ∪ {captureName}| <= budget`; idempotent for a name already reserved. Names are
   * compared case-insensitively.
   *
   * The budget entity is written with ETag conditions and the write retried (with jitter) when another
   * instance wrote first, so concurrent callers never grant more than `budget`. Returns `false` also in the
   * unlikely case that contention outlasts the retry bound: "not now", the poller tries again.
   */
  async tryReserveSlot(
    subscriptionId: string,
    region: string,
    captureName: string,
    inUse: ReadonlySet<string>,
    budget: number,
    options: TryReserveSlotOptions = {},
  ): Promise<boolean> {
    const rowKey = budgetRowKey(subscriptionId, region);
    return this.queued(rowKey, async () => {
      for (let attempt = 0; attempt < MAX_BUDGET_ATTEMPTS; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const current = await this.readBudget(rowKey);
        const plan = planReservation(current?.reservations ?? [], {
          captureName,
          inUse,
          budget,
          ttlSeconds: options.ttlSeconds ?? DEFAULT_RESERVATION_TTL_SECONDS,
          graceSeconds: options.graceSeconds ?? DEFAULT_RESERVATION_GRACE_SECONDS,
          now: this.now(),
        });
        if (!plan.next) return plan.granted;
        const entity = budgetEntity(rowKey, subscriptionId, region, plan.next);
        // More reservations than an entity holds: far beyond any sane budget, so refuse rather than overflow.
        if (!entity) return false;
        if (await this.writeConditionally(entity, current?.etag, 'tryReserveSlot')) return true;
      }
      this.logger.warn(
        `Capture budget of ${subscriptionId}/${region}: gave up reserving ${captureName} after ${MAX_BUDGET_ATTEMPTS} conflicting writes`,
      );
      return false;
    });
  }

  /**
   * Releases the reservation of `captureName` (after its capture resource was deleted or its PUT failed).
   * Nothing happens when it is not reserved. Should contention outlast the retry bound, the reservation
   * lapses by itself after the grace period once the capture is no longer listed.
   */
  async releaseSlot(subscriptionId: string, region: string, captureName: string): Promise<void> {
    const rowKey = budgetRowKey(subscriptionId, region);
    const name = captureName.toLowerCase();
    return this.queued(rowKey, async () => {
      for (let attempt = 0; attempt < MAX_BUDGET_ATTEMPTS; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const current = await this.readBudget(rowKey);
        if (!current || !current.reservations.some((r) => r.name === name)) return;
        const nowMs = this.now().getTime();
        const next = current.reservations.filter((r) => r.name !== name && Date.parse(r.expiresAt) > nowMs);
        const entity = budgetEntity(rowKey, subscriptionId, region, next);
        if (!entity) return;
        if (await this.writeConditionally(entity, current.etag, 'releaseSlot')) return;
      }
      this.logger.warn(
        `Capture budget of ${subscriptionId}/${region}: gave up releasing ${captureName} after ${MAX_BUDGET_ATTEMPTS} conflicting writes`,
      );
    });
  }

  /**
   * Runs budget operations on one entity one after the other within this instance: concurrent invocations on
   * one function host then never race each other into 412s (a burst of 50 alerts took seconds of retries
   * without it); the ETag still arbitrates between hosts.
   */
  private queued<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.budgetQueues.get(key) ?? Promise.resolve();
    const result = previous.then(operation, operation);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.budgetQueues.set(key, tail);
    void tail.then(() => {
      if (this.budgetQueues.get(key) === tail) this.budgetQueues.delete(key);
    });
    return result;
  }

  /**
   * Makes the record of `alertId` the one that owns the capture named `captureName` (one per target), unless
   * another alert's record still holds it ({@link holdsTarget}: pending, starting or running).
   * Idempotent for the current holder. The lease entity is written with ETag conditions, so of concurrent
   * alerts on one target exactly one acquires it. Call it after {@link CaptureLedger.insert} of `alertId`.
   */
  async acquireTargetLease(captureName: string, alertId: string): Promise<TargetLeaseResult> {
    const rowKey = tableSafeKey(captureName.toLowerCase());
    for (let attempt = 0; attempt < MAX_BUDGET_ATTEMPTS; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const lease = await this.readLease(rowKey);
      if (lease?.alertId === alertId) return { acquired: true };
      if (lease?.alertId !== undefined) {
        const holder = await this.get(lease.alertId);
        if (holder && holdsTarget(holder)) return { acquired: false, holder };
      }
      const entity: TableEntity = {
        partitionKey: LEASE_PARTITION_KEY,
        rowKey,
        captureName,
        alertId,
        acquiredAt: this.now().toISOString(),
      };
      if (await this.writeConditionally(entity, lease?.etag, 'acquireTargetLease')) return { acquired: true };
    }
    throw new LedgerUnavailableError('acquireTargetLease', { code: 'TooManyConflicts' });
  }

  /**
   * The record that last acquired the lease of `captureName` (in whatever state it is now), or `undefined`
   * when no alert ever did. Used on `Resolved` to find the capture to stop.
   */
  async getTargetLeaseHolder(captureName: string): Promise<CaptureRecord | undefined> {
    const lease = await this.readLease(tableSafeKey(captureName.toLowerCase()));
    return lease?.alertId === undefined ? undefined : this.get(lease.alertId);
  }

  private async readLease(rowKey: string): Promise<{ alertId?: string; etag: string } | undefined> {
    try {
      const entity = await this.client.getEntity(LEASE_PARTITION_KEY, rowKey);
      return { alertId: typeof entity.alertId === 'string' ? entity.alertId : undefined, etag: entity.etag };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw unavailable('readLease', e);
    }
  }

  private async readBudget(rowKey: string): Promise<BudgetEntity | undefined> {
    let entity: TableEntity & { etag: string };
    try {
      entity = await this.client.getEntity(BUDGET_PARTITION_KEY, rowKey);
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw unavailable('readBudget', e);
    }
    const parts = typeof entity.reservationsParts === 'number' ? entity.reservationsParts : 0;
    let json = '';
    for (let i = 0; i < parts; i++) {
      const part = entity[`reservations${i}`];
      if (typeof part === 'string') json += part;
    }
    return { reservations: parseReservations(json), etag: entity.etag };
  }

  /** Creates (no etag) or replaces (etag) an entity; `false` when another writer got there first. */
  private async writeConditionally(
    entity: TableEntity,
    etag: string | undefined,
    operation: string,
  ): Promise<boolean> {
    try {
      if (etag === undefined) await this.client.createEntity(entity);
      else await this.client.updateEntity(entity, 'Replace', { etag });
      return true;
    } catch (e) {
      const status = statusOf(e);
      if (status === 409 || status === 412 || status === 404) return false;
      throw unavailable(operation, e);
    }
  }

  private async query(operation: string, filter: string): Promise<CaptureRecord[]> {
    const records: CaptureRecord[] = [];
    try {
      for await (const entity of this.client.listEntities({ queryOptions: { filter } })) {
        const record = this.read(entity);
        if (record) records.push(record);
      }
    } catch (e) {
      throw unavailable(operation, e);
    }
    return records;
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

function budgetEntity(
  rowKey: string,
  subscriptionId: string,
  region: string,
  reservations: SlotReservation[],
): TableEntity | undefined {
  const chunks = splitText(JSON.stringify(reservations), TABLE_STRING_MAX_CHARS, BUDGET_MAX_CHUNKS);
  if (!chunks) return undefined;
  const entity: TableEntity = {
    partitionKey: BUDGET_PARTITION_KEY,
    rowKey,
    subscriptionId,
    region,
    reservationsParts: chunks.length,
  };
  chunks.forEach((chunk, i) => (entity[`reservations${i}`] = chunk));
  return entity;
}

function statusOf(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null && 'statusCode' in e && typeof e.statusCode === 'number') {
    return e.statusCode;
  }
  return undefined;
}

function codeOf(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}

/** Anything the Table client throws, bar the conflicts handled above, means the ledger cannot be used now. */
function unavailable(operation: string, e: unknown): LedgerUnavailableError {
  return new LedgerUnavailableError(operation, { cause: e, statusCode: statusOf(e), code: codeOf(e) });
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

/** Full jitter, doubling from 10 ms up to 250 ms: spreads concurrent writers of one budget entity apart. */
function backoff(attempt: number): Promise<void> {
  const capInMs = Math.min(250, 10 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * capInMs));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
