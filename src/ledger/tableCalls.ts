import type { TableClient, TableEntity } from '@azure/data-tables';
import { LedgerUnavailableError } from './LedgerUnavailableError.js';

/**
 * The Table storage plumbing the ledger's parts share: one deadline per ledger call, conditional writes, and the
 * mapping of everything unexpected to {@link LedgerUnavailableError}.
 */

/** Default deadline of one ledger call (its retries included), so a stalled Table service answers in time. */
export const DEFAULT_LEDGER_CALL_TIMEOUT_IN_MS = 2_500;

/** A Table client and the deadline every call on it gets. */
export interface TableAccess {
  client: TableClient;
  /** Deadline of one ledger call, retries included. */
  callTimeoutInMs: number;
}

/** Options of one SDK call: the call's deadline as an abort signal. */
export function withDeadline(access: TableAccess): { abortSignal: AbortSignal } {
  return { abortSignal: AbortSignal.timeout(access.callTimeoutInMs) };
}

/** The HTTP status of a Table failure, if it answered. */
export function statusOf(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null && 'statusCode' in e && typeof e.statusCode === 'number') {
    return e.statusCode;
  }
  return undefined;
}

function codeOf(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  if (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError')) return 'Timeout';
  return undefined;
}

/** Anything the Table client throws, bar the conflicts the callers handle, means the ledger cannot be used now. */
export function unavailable(operation: string, e: unknown): LedgerUnavailableError {
  return new LedgerUnavailableError(operation, { cause: e, statusCode: statusOf(e), code: codeOf(e) });
}

/** Creates (no etag) or replaces (etag) an entity; `false` when another writer got there first. */
export async function writeConditionally(
  access: TableAccess,
  entity: TableEntity,
  etag: string | undefined,
  operation: string,
): Promise<boolean> {
  try {
    if (etag === undefined) await access.client.createEntity(entity, withDeadline(access));
    else await access.client.updateEntity(entity, 'Replace', { etag, ...withDeadline(access) });
    return true;
  } catch (e) {
    const status = statusOf(e);
    if (status === 409 || status === 412 || status === 404) return false;
    throw unavailable(operation, e);
  }
}

/** One entity, or `undefined` when there is none. */
export async function readEntity(
  access: TableAccess,
  partitionKey: string,
  rowKey: string,
  operation: string,
): Promise<(Record<string, unknown> & { etag: string }) | undefined> {
  try {
    return await access.client.getEntity(partitionKey, rowKey, withDeadline(access));
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw unavailable(operation, e);
  }
}

/** Deletes an entity; a missing one is fine. */
export async function deleteEntity(
  access: TableAccess,
  partitionKey: string,
  rowKey: string,
  operation: string,
): Promise<void> {
  try {
    await access.client.deleteEntity(partitionKey, rowKey, withDeadline(access));
  } catch (e) {
    if (statusOf(e) !== 404) throw unavailable(operation, e);
  }
}

/** Every entity of a query, under one deadline for the whole listing. */
export async function queryEntities(
  access: TableAccess,
  filter: string,
  operation: string,
): Promise<(TableEntity & { etag: string })[]> {
  const entities: (TableEntity & { etag: string })[] = [];
  try {
    for await (const entity of access.client.listEntities({
      queryOptions: { filter },
      ...withDeadline(access),
    })) {
      entities.push(entity as TableEntity & { etag: string });
    }
  } catch (e) {
    throw unavailable(operation, e);
  }
  return entities;
}

/** Full jitter, doubling from 10 ms up to 250 ms: spreads concurrent writers of one entity apart. */
export function backoff(attempt: number): Promise<void> {
  const capInMs = Math.min(250, 10 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * capInMs));
}

/** Conditional writes lost to a concurrent writer before a budget or lease operation gives up. */
export const MAX_CONFLICTING_WRITES = 40;
