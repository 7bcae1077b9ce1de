import { odata, type TableEntity } from '@azure/data-tables';
import { z } from 'zod';
import type { CaptureRecord } from './captureRecord.js';
import { tableSafeKey } from './tableText.js';
import {
  queryEntities,
  readEntity,
  statusOf,
  unavailable,
  withDeadline,
  type TableAccess,
} from './tableCalls.js';

/** The RowKey of the row {@link RingHeads.markChanged} writes (no head's key starts with `~`). */
const CHANGED_ROW_KEY = '~changed';

/** The PartitionKey of every ring head. */
export const RING_PARTITION_KEY = 'ring';

/**
 * Generations a head remembers (newest first): the live one, the one it is replacing, and one more whose files
 * an alert may still want. Older generations' files stay in storage until the capture account's lifecycle rule
 * deletes them, but no alert window reaches back that far.
 */
export const RING_HEAD_GENERATIONS = 3;

/**
 * One ring VM's head: which generation of its ring is the newest, and the ledger records (kind `ring`) of its
 * recent generations. A generation is one continuous capture; the poller arms the next before the current one
 * reaches its session limit.
 */
export interface RingHead {
  /** The VM's ARM id, lower case (ARM ids are case-insensitive). */
  vmId: string;
  vmName: string;
  subscriptionId: string;
  /** The newest generation armed. */
  generation: number;
  /** Ledger alert ids ({@link ringAlertId}) of the recent generations' records, newest first, at most {@link RING_HEAD_GENERATIONS}. */
  alertIds: string[];
  /**
   * Alert ids of older generations still to stop once the newest runs (set when a generation is armed beside a
   * running one, emptied once they ended): a tick reads older generations only while this is not empty.
   */
  replacing: string[];
  /** ISO; set by the store. */
  createdAt: string;
  /** ISO; set by the store on every write. */
  updatedAt: string;
  /** Every {@link RingHeads.update} and {@link RingHeads.remove} is conditional on it. */
  etag: string;
}

/** What {@link RingHeads.create} takes. */
export type NewRingHead = Pick<RingHead, 'vmId' | 'vmName' | 'subscriptionId' | 'generation' | 'alertIds'> &
  Partial<Pick<RingHead, 'replacing'>>;

/** What {@link RingHeads.update} may change. */
export type RingHeadChanges = Partial<Pick<RingHead, 'vmName' | 'generation' | 'alertIds' | 'replacing'>>;

/**
 * The ledger alert id of a VM's ring generation: `ring:{lower-cased vm id}:{generation}`. Inserting a record is
 * idempotent on it, so two overlapping ticks that arm the same generation make one record.
 */
export function ringAlertId(vmId: string, generation: number): string {
  return `ring:${vmId.toLowerCase()}:${generation}`;
}

/** A head's alert ids after arming `alertId`: it first, then the previous ones, at most {@link RING_HEAD_GENERATIONS}. */
export function withNewestAlertId(alertIds: readonly string[], alertId: string): string[] {
  return [alertId, ...alertIds.filter((id) => id !== alertId)].slice(0, RING_HEAD_GENERATIONS);
}

/**
 * The storage paths of a head's generations, newest first: each record's `storagePath` as ARM reported it, for
 * {@link RingDirectory}. Generations whose capture never got a path (not started, failed create) are left out.
 */
export async function ringPathsOfHead(
  head: Pick<RingHead, 'alertIds'>,
  getRecord: (alertId: string) => Promise<Pick<CaptureRecord, 'storagePath'> | undefined>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<string[]> {
  const paths: string[] = [];
  for (const alertId of head.alertIds) {
    options.abortSignal?.throwIfAborted();
    const path = (await getRecord(alertId))?.storagePath;
    if (path !== undefined && !paths.includes(path)) paths.push(path);
  }
  return paths;
}

const storedHeadSchema = z.object({
  vmId: z.string().min(1),
  vmName: z.string().catch(''),
  subscriptionId: z.string().catch(''),
  generation: z.coerce.number().int().nonnegative(),
  alertIds: z.string().catch('[]'),
  replacing: z.string().catch('[]'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/**
 * The ring heads on the ledger's table: one entity per ring VM (PartitionKey `ring`, RowKey a table-safe key of
 * the lower-cased VM id), written only with ETag-conditional operations, every call under the ledger's deadline.
 * {@link RingHeads.list} is one query, so a tick pays one request for all its rings' heads.
 */
export class RingHeads {
  constructor(
    private readonly access: TableAccess,
    private readonly now: () => Date,
  ) {}

  /** Every ring head (one query; unreadable entities are skipped). */
  async list(): Promise<RingHead[]> {
    return (await this.listWithChanges()).heads;
  }

  /**
   * Every ring head, and when a person last changed which VMs want a ring ({@link RingHeads.markChanged}), from
   * the same query: a poller whose listing of ring tags is older than that lists them again.
   */
  async listWithChanges(): Promise<{ heads: RingHead[]; changedAt?: number }> {
    const entities = await queryEntities(
      this.access,
      odata`PartitionKey eq ${RING_PARTITION_KEY}`,
      'listRings',
    );
    const marker = entities.find((e) => e.rowKey === CHANGED_ROW_KEY);
    const changedAt = typeof marker?.changedAt === 'string' ? Date.parse(marker.changedAt) : Number.NaN;
    return {
      heads: entities
        .filter((e) => e.rowKey !== CHANGED_ROW_KEY)
        .map((e) => fromHeadEntity(e, e.etag))
        .filter((h): h is RingHead => h !== undefined),
      ...(Number.isFinite(changedAt) ? { changedAt } : {}),
    };
  }

  /**
   * Records that a person changed which VMs want a ring (`alert-capture ring enable|disable`), so that pollers
   * list the ring tags again on their next tick instead of trusting a listing made before the change.
   */
  async markChanged(): Promise<void> {
    try {
      await this.access.client.upsertEntity(
        { partitionKey: RING_PARTITION_KEY, rowKey: CHANGED_ROW_KEY, changedAt: this.now().toISOString() },
        'Replace',
        withDeadline(this.access),
      );
    } catch (e) {
      throw unavailable('markRingsChanged', e);
    }
  }

  /** The head of `vmId` (compared case-insensitively), or `undefined`. */
  async get(vmId: string): Promise<RingHead | undefined> {
    const entity = await readEntity(this.access, RING_PARTITION_KEY, headRowKey(vmId), 'getRing');
    return entity ? fromHeadEntity(entity, entity.etag) : undefined;
  }

  /** Creates the head of a VM; `undefined` when it already has one (another writer got there first). */
  async create(init: NewRingHead): Promise<RingHead | undefined> {
    const now = this.now().toISOString();
    const head: Omit<RingHead, 'etag'> = {
      replacing: [],
      ...init,
      vmId: init.vmId.toLowerCase(),
      createdAt: now,
      updatedAt: now,
    };
    try {
      const response = await this.access.client.createEntity(toHeadEntity(head), withDeadline(this.access));
      return { ...head, etag: response.etag ?? '' };
    } catch (e) {
      if (statusOf(e) === 409) return undefined;
      throw unavailable('createRing', e);
    }
  }

  /** Applies `changes` only if the head still has `head.etag`; `undefined` when someone else changed or removed it. */
  async update(head: RingHead, changes: RingHeadChanges): Promise<RingHead | undefined> {
    const { etag, ...current } = head;
    const next: Omit<RingHead, 'etag'> = { ...current, ...changes, updatedAt: this.now().toISOString() };
    try {
      const response = await this.access.client.updateEntity(toHeadEntity(next), 'Replace', {
        etag,
        ...withDeadline(this.access),
      });
      return { ...next, etag: response.etag ?? '' };
    } catch (e) {
      const status = statusOf(e);
      if (status === 412 || status === 404) return undefined;
      throw unavailable('updateRing', e);
    }
  }

  /** Removes the head only if it still has `head.etag`: `false` when someone else changed it (a gone head is removed). */
  async remove(head: RingHead): Promise<boolean> {
    try {
      await this.access.client.deleteEntity(RING_PARTITION_KEY, headRowKey(head.vmId), {
        etag: head.etag,
        ...withDeadline(this.access),
      });
      return true;
    } catch (e) {
      const status = statusOf(e);
      if (status === 404) return true;
      if (status === 412) return false;
      throw unavailable('removeRing', e);
    }
  }
}

function headRowKey(vmId: string): string {
  return tableSafeKey(vmId.toLowerCase());
}

function toHeadEntity(head: Omit<RingHead, 'etag'>): TableEntity {
  return {
    partitionKey: RING_PARTITION_KEY,
    rowKey: headRowKey(head.vmId),
    vmId: head.vmId,
    vmName: head.vmName,
    subscriptionId: head.subscriptionId,
    // A string: generations are epoch milliseconds (see maintainRings), beyond Int32.
    generation: String(head.generation),
    alertIds: JSON.stringify(head.alertIds.slice(0, RING_HEAD_GENERATIONS)),
    replacing: JSON.stringify(head.replacing.slice(0, RING_HEAD_GENERATIONS)),
    createdAt: head.createdAt,
    updatedAt: head.updatedAt,
  };
}

/** Reads a stored head back, or `undefined` when it is not one we can read (storage is a boundary too). */
function fromHeadEntity(entity: Record<string, unknown>, etag: string): RingHead | undefined {
  const parsed = storedHeadSchema.safeParse(entity);
  if (!parsed.success) return undefined;
  return {
    ...parsed.data,
    alertIds: parseAlertIds(parsed.data.alertIds),
    replacing: parseAlertIds(parsed.data.replacing),
    etag,
  };
}

function parseAlertIds(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    if (Array.isArray(value)) {
      return value.filter((v): v is string => typeof v === 'string').slice(0, RING_HEAD_GENERATIONS);
    }
  } catch {
    // Not ours to guess: a head without generations is re-armed.
  }
  return [];
}
