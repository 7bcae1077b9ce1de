import type { TableEntity } from '@azure/data-tables';
import type { Logger } from '../logger.js';
import {
  BUDGET_PARTITION_KEY,
  DEFAULT_RESERVATION_GRACE_SECONDS,
  DEFAULT_RESERVATION_TTL_SECONDS,
  budgetRowKey,
  parseReservations,
  planReservation,
  type SlotReservation,
} from './regionBudget.js';
import { TABLE_STRING_MAX_CHARS, splitText } from './tableText.js';
import {
  MAX_CONFLICTING_WRITES,
  backoff,
  readEntity,
  writeConditionally,
  type TableAccess,
} from './tableCalls.js';

/** Options for {@link RegionBudgetStore.tryReserveSlot}. */
export interface TryReserveSlotOptions {
  /** Lifetime of the reservation. Default 86 400 (24 h). */
  ttlSeconds?: number;
  /**
   * A reserved name missing from the listing is dropped once older than this (its capture was deleted or never
   * created). Default 120.
   */
  graceSeconds?: number;
  /** Our capture names the caller just listed (keeps their reservations alive). Default: `inUse`. */
  listed?: ReadonlySet<string>;
}

const BUDGET_MAX_CHUNKS = 15;

interface BudgetEntity {
  reservations: SlotReservation[];
  etag: string;
}

/**
 * The per-subscription, per-region capture budget on the ledger's table: one ETag-guarded entity per
 * subscription and region (PartitionKey `budget`) holding our reservations. Our active captures hold a
 * reservation from before their PUT until their end is recorded; foreign running captures are counted by the
 * caller (`inUse`).
 */
export class RegionBudgetStore {
  /** Tail of the queue of budget operations per budget entity, within this instance. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly access: TableAccess,
    private readonly now: () => Date,
    private readonly logger: Logger,
  ) {}

  /**
   * Tries to reserve a slot for `captureName`: granted when `|inUse ∪ live reservations ∪ {captureName}| <=
   * budget`; idempotent for a name already reserved. Names are compared case-insensitively. Concurrent callers
   * never grant more than `budget` (ETag-conditional writes, retried with jitter); `false` also when contention
   * outlasts the retry bound ("not now").
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
      for (let attempt = 0; attempt < MAX_CONFLICTING_WRITES; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const current = await this.read(rowKey);
        const plan = planReservation(current?.reservations ?? [], {
          captureName,
          inUse,
          listed: options.listed,
          budget,
          ttlSeconds: options.ttlSeconds ?? DEFAULT_RESERVATION_TTL_SECONDS,
          graceSeconds: options.graceSeconds ?? DEFAULT_RESERVATION_GRACE_SECONDS,
          now: this.now(),
        });
        if (!plan.next) return plan.granted;
        const entity = budgetEntity(rowKey, subscriptionId, region, plan.next);
        // More reservations than an entity holds: far beyond any sane budget, so refuse rather than overflow.
        if (!entity) return false;
        if (await writeConditionally(this.access, entity, current?.etag, 'tryReserveSlot')) return true;
      }
      this.logger.warn(
        `Capture budget of ${subscriptionId}/${region}: gave up reserving ${captureName} after ${MAX_CONFLICTING_WRITES} conflicting writes`,
      );
      return false;
    });
  }

  /**
   * Releases the reservation of `captureName` (its capture ended, or its PUT failed). Nothing happens when it is
   * not reserved. Should contention outlast the retry bound, the reservation lapses by itself after the grace
   * period once the capture is no longer listed.
   */
  async releaseSlot(subscriptionId: string, region: string, captureName: string): Promise<void> {
    const rowKey = budgetRowKey(subscriptionId, region);
    const name = captureName.toLowerCase();
    return this.queued(rowKey, async () => {
      for (let attempt = 0; attempt < MAX_CONFLICTING_WRITES; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const current = await this.read(rowKey);
        if (!current || !current.reservations.some((r) => r.name === name)) return;
        const nowMs = this.now().getTime();
        const next = current.reservations.filter((r) => r.name !== name && Date.parse(r.expiresAt) > nowMs);
        const entity = budgetEntity(rowKey, subscriptionId, region, next);
        if (!entity) return;
        if (await writeConditionally(this.access, entity, current.etag, 'releaseSlot')) return;
      }
      this.logger.warn(
        `Capture budget of ${subscriptionId}/${region}: gave up releasing ${captureName} after ${MAX_CONFLICTING_WRITES} conflicting writes`,
      );
    });
  }

  /**
   * Runs budget operations on one entity one after the other within this instance: concurrent invocations on
   * one function host then never race each other into 412s; the ETag still arbitrates between hosts.
   */
  private queued<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const result = previous.then(operation, operation);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return result;
  }

  private async read(rowKey: string): Promise<BudgetEntity | undefined> {
    const entity = await readEntity(this.access, BUDGET_PARTITION_KEY, rowKey, 'readBudget');
    if (!entity) return undefined;
    const parts = typeof entity.reservationsParts === 'number' ? entity.reservationsParts : 0;
    let json = '';
    for (let i = 0; i < parts; i++) {
      const part = entity[`reservations${i}`];
      if (typeof part === 'string') json += part;
    }
    return { reservations: parseReservations(json), etag: entity.etag };
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
