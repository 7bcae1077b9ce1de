import type { AppContext } from '../appContext.js';
import type { CaptureStatus, CaptureGateway, WatcherRef } from '../azure/captureGateway.js';
import { watcherOf } from '../captures/watcherOf.js';
import { deadlineSignal } from '../deadline.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { CliError, EXIT } from './exitCodes.js';

/** A capture as a verb found it: in our ledger (by alert id or capture name), or only in a Network Watcher. */
export interface ResolvedCapture {
  name: string;
  /** Our ledger's record, when the capture is ours. */
  record?: CaptureRecord;
  /** The watcher the capture lives in (unknown for a record that never got that far). */
  watcher?: WatcherRef;
  /**
   * Whether the capture is alert-capture's own: its ledger holds the record. Only those are stopped or deleted
   * without `--force`; a capture with our prefix but no record (another deployment's) is not.
   */
  ours: boolean;
  /** The target id, for a capture found only in ARM. */
  target?: string;
}

/** The subscriptions whose watchers are searched: those of ALLOWED_SCOPES, plus `--subscription`. */
export function scopeSubscriptions(
  allowedScopes: readonly string[],
  extra: readonly string[] = [],
): string[] {
  const ids = [
    ...allowedScopes.map((s) => /^\/subscriptions\/([^/]+)/i.exec(s)?.[1]),
    ...extra.map((s) => /^(?:\/subscriptions\/)?([0-9a-f-]{36})$/i.exec(s.trim())?.[1]),
  ].filter((s): s is string => Boolean(s));
  return [...new Set(ids.map((s) => s.toLowerCase()))];
}

/** How long one ARM call of {@link resolveCapture} may take, on top of the caller's own deadline if any. */
export const RESOLVE_CALL_TIME_LIMIT_IN_MS = 30_000;

/**
 * Finds a capture by alert id or capture name: the ledger first (alert id, then capture name), then every
 * watcher of the scope's subscriptions. Read-only. Each ARM call has its own deadline
 * ({@link RESOLVE_CALL_TIME_LIMIT_IN_MS}), cut shorter by `options.abortSignal` when given, so no verb hangs on
 * a stalled ARM whether or not it passes one.
 * @throws CliError 3 when it is nowhere.
 */
export async function resolveCapture(
  app: AppContext,
  key: string,
  subscriptions: readonly string[] = [],
  options: { abortSignal?: AbortSignal } = {},
): Promise<ResolvedCapture> {
  const record = (await app.ledger.get(key)) ?? (await app.ledger.findByCaptureName(key));
  if (record) {
    return { name: record.captureName ?? '', record, watcher: watcherOf(record), ours: true };
  }
  const subs = scopeSubscriptions(app.config.allowedScopes, subscriptions);
  const call = () => ({ abortSignal: deadlineSignal(RESOLVE_CALL_TIME_LIMIT_IN_MS, options.abortSignal) });
  for (const sub of subs) {
    for (const watcher of await app.gateway.listWatchers(sub, call())) {
      const found = (await app.gateway.listCaptures(watcher, call())).find(
        (c) => c.name.toLowerCase() === key.toLowerCase(),
      );
      if (found) return { name: found.name, watcher, ours: false, target: found.target };
    }
  }
  const where = subs.length
    ? `the Network Watchers of subscription ${subs.join(', ')}`
    : 'any Network Watcher (ALLOWED_SCOPES is "*": pass --subscription ID)';
  throw new CliError(EXIT.notFound, `no alert or capture "${key}" in the ledger or in ${where}`);
}

/**
 * The capture's status as ARM reports it now: a status, `missing` when the capture resource is gone, or
 * `undefined` when ARM has not answered yet (its status query is still running). One queryStatus, and at most
 * one read of the operation it started (never a wait on its Retry-After).
 */
export async function readLiveStatus(
  gateway: CaptureGateway,
  watcher: WatcherRef,
  name: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<CaptureStatus | 'missing' | undefined> {
  let answer = await gateway.queryStatus(watcher, name, options);
  if (answer.kind === 'accepted') answer = await gateway.readStatusOperation(answer.operationUrl, options);
  if (answer.kind === 'missing') return 'missing';
  return answer.kind === 'status' ? answer.status : undefined;
}
