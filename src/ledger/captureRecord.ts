import { z } from 'zod';
import { TABLE_STRING_MAX_CHARS, sha256Hex, splitText, truncateText } from './tableText.js';
import { redact, stripQuery } from '../redact.js';

import { CAPTURE_STATES, isActiveRecord, type CaptureState } from './lifecycle.js';

/**
 * The ledger's record of one capture attempt, and how it is stored as an Azure Table entity. Its states and the
 * moves between them are in `lifecycle.ts`.
 */
export { CAPTURE_STATES, holdsTarget, isActiveRecord, type CaptureState } from './lifecycle.js';

/** What a capture targets: a VM, or one instance of a VM scale set. */
export type TargetKind = 'vm' | 'vmssInstance';

/**
 * One capture attempt, keyed on the alert id. Times are ISO 8601 UTC strings (`Date#toISOString()`).
 * Free-text fields longer than {@link RECORD_TEXT_MAX_CHARS} are cut (ending in `…`) when stored.
 */
export interface CaptureRecord {
  /** The alert's id exactly as received: the dedupe key (`manual:{uuid}` for a capture started by hand). */
  alertId: string;
  /**
   * `manual` for a capture started with `alert-capture start`; `ring` for one generation of a VM's standing
   * ring-buffer capture (alert id `ring:…`: it never holds its target, never notifies); unset (an alert's)
   * otherwise.
   */
  kind?: 'manual' | 'ring';
  ruleName: string;
  /** E.g. `Sev3`. */
  severity: string;
  /** When the alert fired (ISO). */
  firedAt: string;
  /** `Fired`, `Activated`, `Resolved`... */
  monitorCondition: string;
  /** ARM id of the VM or VMSS instance, as received. */
  target: string;
  targetKind: TargetKind;
  vmName: string;
  /** VMSS instance id, for `vmssInstance` targets. */
  instanceId?: string;
  subscriptionId: string;
  /** The VM's region, once resolved. */
  region?: string;
  /** ARM id of the regional Network Watcher, once resolved. */
  watcherId?: string;
  /** Our deterministic packet capture name. */
  captureName?: string;
  state: CaptureState;
  /** ISO; set by the ledger. */
  createdAt: string;
  /** ISO; set by the ledger on every write. */
  updatedAt: string;
  /** Start attempts so far. */
  attempts: number;
  /** Earliest time the poller should try again (ISO). */
  nextAttemptAt?: string;
  /** The last error met, in plain words (no secrets). */
  lastError?: string;
  /** Why the record is in its state (ignored, failed...), in plain words. */
  reason?: string;
  /** ARM id of the packet capture resource. */
  captureId?: string;
  /** Blob URL (without query string) of the capture file. */
  storagePath?: string;
  /** Network Watcher `stopReason`. */
  stopReason?: string;
  /** Network Watcher `packetCaptureStatus` (`NotStarted`, `Running`, `Stopped`, `Error`, `Unknown`). */
  captureStatus?: string;
  /** Network Watcher `packetCaptureError` values. */
  captureErrors?: string[];
  /** When the capture started / ended (ISO). */
  startedAt?: string;
  endedAt?: string;
  /** Notification attempts so far. */
  notifyAttempts: number;
  /** When the notification went out (ISO). Unset on a `failed` record means "still to notify". */
  notifiedAt?: string;
  /**
   * Comma-separated notification channels that already accepted this record's notification (e.g.
   * `webhook,teams`), so that a retry only resends to the ones that failed.
   */
  notifiedTargets?: string;
  /** Anything worth telling the reader. */
  note?: string;
  /** When the delete of our capture resource was accepted (ISO): from then on it holds no budget slot. */
  releasedAt?: string;
  /**
   * The PUT's `Azure-AsyncOperation` URL, until the next tick read it: a create whose operation failed is failed
   * with Azure's reason.
   */
  createOperationUrl?: string;
  /**
   * When the poller should ask for the capture's status whatever its expected end: set once a stop was accepted
   * (stop-on-resolve) or a capture was adopted.
   */
  statusCheckAt?: string;
  /** A queryStatus answered 202: its `Location`, read on a later tick instead of waiting its `Retry-After`. */
  statusOperationUrl?: string;
  /**
   * The effective capture settings (JSON) the webhook decided on, so that the poller starts the capture the
   * same way. Stored up to {@link TABLE_STRING_MAX_CHARS}; a longer value is cut (and no longer parses).
   */
  settingsJson?: string;
  /**
   * The capture summary as JSON. Stored split over several properties; one larger than
   * {@link SUMMARY_JSON_MAX_CHARS} is replaced by `{"truncated":true,"originalLength":n}` so the stored value
   * is always valid JSON: shrink the summary (fewer conversations) before storing it.
   */
  summaryJson?: string;
  /**
   * The stretch of the VM's ring an alert keeps (`alertKeepWindow`: alert window start − margin, to the fired
   * time), ISO. Set by the webhook on a Fired alert's record; manual and ring records keep nothing.
   */
  keepWindowStart?: string;
  keepWindowEnd?: string;
  /**
   * While set, the keep step is due at this time (ISO), whatever the record's `nextAttemptAt`: the ledger's active
   * index is due at the earlier of the two. Cleared when the keep step ended (all kept, no ring, or
   * `RING_KEEP_WAIT_SECONDS` after the fired time); the notification waits for that.
   */
  keepDueAt?: string;
  /** Blob names of the kept ring files in `capture-kept`, oldest first (the alert's "before"). */
  keptFiles?: string[];
  /** First packet of the oldest kept file (ISO). */
  keptFrom?: string;
  /** The oldest kept file starts at or before the window's start (false: rotation had deleted it). */
  keptCoversStart?: boolean;
  /** The window's end is in a kept file: nothing more was to come. */
  keepComplete?: boolean;
  /** Why the keep step ended as it did, in plain words ("no ring on this VM", "…still being written…"). */
  keepNote?: string;
  /**
   * The kept files' summary as JSON (the alert's "before"), made once when notifying. One property of at most
   * {@link TABLE_STRING_MAX_CHARS}; a longer one is stored as `{"truncated":true,"originalLength":n}`.
   */
  beforeSummaryJson?: string;
  /** The entity's ETag: every {@link CaptureLedger.transition} is conditional on it. */
  etag: string;
}

/** What {@link CaptureLedger.insert} takes: `state` defaults to `pending`, counters to 0; times are set by the ledger. */
export type NewCaptureRecord = Omit<
  CaptureRecord,
  'etag' | 'createdAt' | 'updatedAt' | 'state' | 'attempts' | 'notifyAttempts'
> & { state?: CaptureState; attempts?: number; notifyAttempts?: number };

/**
 * The fields {@link CaptureLedger.transition} may change. A key present with the value `undefined` clears
 * that field (e.g. `{ nextAttemptAt: undefined }`).
 */
export type CaptureChanges = Partial<Omit<CaptureRecord, 'alertId' | 'createdAt' | 'updatedAt' | 'etag'>>;

/** The PartitionKey of every capture record. */
export const RECORD_PARTITION_KEY = 'alert';

/** Longest free-text or id field stored (UTF-16 code units); longer values are cut. */
export const RECORD_TEXT_MAX_CHARS = 8_192;

const SUMMARY_CHUNK_CHARS = TABLE_STRING_MAX_CHARS;
const SUMMARY_MAX_CHUNKS = 7;

/** Longest `summaryJson` stored whole (UTF-16 code units): 7 properties of 32 000, about 450 KiB. */
export const SUMMARY_JSON_MAX_CHARS = SUMMARY_CHUNK_CHARS * SUMMARY_MAX_CHUNKS;

/**
 * The RowKey of an alert id: its SHA-256 in hex. Alert ids are ARM ids or free text of any length, with
 * characters Table keys forbid, so they are hashed; the id itself is kept in the `alertId` property.
 */
export function alertRowKey(alertId: string): string {
  return sha256Hex(alertId);
}

/** The key under which target-wide queries compare targets: ARM ids are case-insensitive. */
export function targetKey(target: string): string {
  return truncateText(target.toLowerCase(), RECORD_TEXT_MAX_CHARS);
}

/** The properties the ledger stores for a record, besides PartitionKey/RowKey. */
export type CaptureEntity = Record<string, string | number | boolean> & {
  partitionKey: string;
  rowKey: string;
};

const TEXT_FIELDS = [
  'alertId',
  'kind',
  'ruleName',
  'severity',
  'firedAt',
  'monitorCondition',
  'target',
  'vmName',
  'instanceId',
  'subscriptionId',
  'region',
  'watcherId',
  'captureName',
  'createdAt',
  'updatedAt',
  'nextAttemptAt',
  'lastError',
  'reason',
  'captureId',
  'storagePath',
  'stopReason',
  'captureStatus',
  'startedAt',
  'endedAt',
  'notifiedAt',
  'notifiedTargets',
  'note',
  'releasedAt',
  'createOperationUrl',
  'statusOperationUrl',
  'statusCheckAt',
  'keepWindowStart',
  'keepWindowEnd',
  'keepDueAt',
  'keptFrom',
  'keepNote',
] as const satisfies readonly (keyof CaptureRecord)[];

/**
 * Maps a record (without its etag) to the entity stored. Adds the query helpers `active` (see
 * {@link isActiveRecord}) and `targetKey`; cuts over-long text; splits `summaryJson`.
 */
export function toCaptureEntity(record: Omit<CaptureRecord, 'etag'>): CaptureEntity {
  const entity: CaptureEntity = {
    partitionKey: RECORD_PARTITION_KEY,
    rowKey: alertRowKey(record.alertId),
    state: record.state,
    targetKind: record.targetKind,
    targetKey: targetKey(record.target),
    active: isActiveRecord(record),
    attempts: safeCount(record.attempts),
    notifyAttempts: safeCount(record.notifyAttempts),
  };
  for (const field of TEXT_FIELDS) {
    const value = record[field];
    if (value !== undefined) entity[field] = truncateText(storedText(field, value), RECORD_TEXT_MAX_CHARS);
  }
  if (record.settingsJson !== undefined) {
    entity.settingsJson = truncateText(record.settingsJson, TABLE_STRING_MAX_CHARS);
  }
  if (record.captureErrors !== undefined) {
    entity.captureErrors = truncateText(
      JSON.stringify(record.captureErrors.map(redact)),
      RECORD_TEXT_MAX_CHARS,
    );
  }
  if (record.keptFiles !== undefined) entity.keptFiles = storedNames(record.keptFiles);
  if (record.beforeSummaryJson !== undefined) {
    entity.beforeSummaryJson =
      record.beforeSummaryJson.length <= TABLE_STRING_MAX_CHARS
        ? record.beforeSummaryJson
        : JSON.stringify({ truncated: true, originalLength: record.beforeSummaryJson.length });
  }
  if (record.keptCoversStart !== undefined) entity.keptCoversStart = record.keptCoversStart;
  if (record.keepComplete !== undefined) entity.keepComplete = record.keepComplete;
  if (record.summaryJson !== undefined) {
    const chunks = splitText(record.summaryJson, SUMMARY_CHUNK_CHARS, SUMMARY_MAX_CHUNKS) ?? [
      JSON.stringify({ truncated: true, originalLength: record.summaryJson.length }),
    ];
    entity.summaryJsonParts = chunks.length;
    chunks.forEach((chunk, i) => (entity[`summaryJson${i}`] = chunk));
  }
  return entity;
}

/**
 * Free text written to the ledger goes through the one redaction (`src/redact.ts`) here, where every record is
 * serialised, so no caller can store an SDK message with a SAS, key or token in it; a storage path loses its
 * query string.
 */
function storedText(field: (typeof TEXT_FIELDS)[number], value: string): string {
  if (field === 'storagePath') return stripQuery(value);
  return field === 'lastError' || field === 'reason' || field === 'note' || field === 'keepNote'
    ? redact(value)
    : value;
}

/**
 * A list of blob names as one JSON property of at most {@link TABLE_STRING_MAX_CHARS}: names past that are left out
 * whole (the list stays JSON). Blob names carry no query string; a name with one loses it.
 */
function storedNames(names: readonly string[]): string {
  const kept: string[] = [];
  let length = 2;
  for (const name of names.map(stripQuery)) {
    length += JSON.stringify(name).length + 1;
    if (length > TABLE_STRING_MAX_CHARS) break;
    kept.push(name);
  }
  return JSON.stringify(kept);
}

const optionalText = z.string().optional();
const count = z.number().int().nonnegative().catch(0);

const storedRecordSchema = z.object({
  alertId: z.string(),
  kind: z.enum(['manual', 'ring']).optional().catch(undefined),
  ruleName: z.string().catch(''),
  severity: z.string().catch(''),
  firedAt: z.string().catch(''),
  monitorCondition: z.string().catch(''),
  target: z.string(),
  targetKind: z.enum(['vm', 'vmssInstance']),
  vmName: z.string().catch(''),
  instanceId: optionalText,
  subscriptionId: z.string().catch(''),
  region: optionalText,
  watcherId: optionalText,
  captureName: optionalText,
  state: z.enum(CAPTURE_STATES),
  createdAt: z.string(),
  updatedAt: z.string(),
  attempts: count,
  nextAttemptAt: optionalText,
  lastError: optionalText,
  reason: optionalText,
  captureId: optionalText,
  storagePath: optionalText,
  stopReason: optionalText,
  captureStatus: optionalText,
  captureErrors: optionalText,
  startedAt: optionalText,
  endedAt: optionalText,
  notifyAttempts: count,
  notifiedAt: optionalText,
  notifiedTargets: optionalText,
  note: optionalText,
  releasedAt: optionalText,
  createOperationUrl: optionalText,
  statusOperationUrl: optionalText,
  statusCheckAt: optionalText,
  settingsJson: optionalText,
  keepWindowStart: optionalText,
  keepWindowEnd: optionalText,
  keepDueAt: optionalText,
  keptFiles: optionalText,
  keptFrom: optionalText,
  keptCoversStart: z.boolean().optional().catch(undefined),
  keepComplete: z.boolean().optional().catch(undefined),
  keepNote: optionalText,
  beforeSummaryJson: optionalText,
  summaryJsonParts: z.number().int().min(0).max(SUMMARY_MAX_CHUNKS).optional(),
});

/**
 * Reads a stored entity back into a record, or returns `undefined` when the entity is not a capture
 * record we can read (a missing id, target or state, an unknown state): storage is a boundary too.
 */
export function fromCaptureEntity(entity: Record<string, unknown>, etag: string): CaptureRecord | undefined {
  const parsed = storedRecordSchema.safeParse(entity);
  if (!parsed.success) return undefined;
  const { captureErrors, keptFiles, summaryJsonParts, ...rest } = parsed.data;
  const record: CaptureRecord = { ...rest, etag };
  for (const key of Object.keys(record) as (keyof CaptureRecord)[]) {
    if (record[key] === undefined) delete record[key];
  }
  if (captureErrors !== undefined) record.captureErrors = parseStringArray(captureErrors);
  if (keptFiles !== undefined) record.keptFiles = parseNames(keptFiles);
  if (summaryJsonParts !== undefined) {
    let json = '';
    for (let i = 0; i < summaryJsonParts; i++) {
      const part = entity[`summaryJson${i}`];
      if (typeof part === 'string') json += part;
    }
    record.summaryJson = json;
  }
  return record;
}

function parseStringArray(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  } catch {
    // A cut list is not JSON any more: keep what the reader can still use.
  }
  return [json];
}

/** Blob names stored by {@link storedNames}; a value that does not parse names no file (never a garbage name). */
function parseNames(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  } catch {
    // Not written by storedNames: nothing to name.
  }
  return [];
}

/** Counts are stored as Int32, which the service infers from a JS integer. */
function safeCount(n: number): number {
  return Number.isSafeInteger(n) && n >= 0 ? Math.min(n, 2_147_483_647) : 0;
}
