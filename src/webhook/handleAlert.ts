import { classifyAlert, readCaptureOverrides, type CaptureTarget } from '../alerts/classifyAlert.js';
import { parseAlert, type AlertEvent } from '../alerts/parseAlert.js';
import { alertKeepWindow } from '../captures/alertKeepWindow.js';
import { attemptCaptureName } from '../captures/captureName.js';
import { targetKeyOf, targetName } from '../captures/captureTarget.js';
import { effectiveCaptureSettings } from '../captures/captureParameters.js';
import { describeArmError } from '../azure/armErrors.js';
import { startCapture, type CaptureDeps } from '../captures/startCapture.js';
import { watcherOf } from '../captures/watcherOf.js';
import { errorMessage, RequestError } from '../errors.js';
import { LedgerUnavailableError } from '../ledger/LedgerUnavailableError.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';

/** The outcomes of the webhook contract (DESIGN.md), plus `failed` for a capture that cannot be taken. */
export type WebhookOutcome =
  'started' | 'pending' | 'alreadyCapturing' | 'duplicate' | 'ignored' | 'stopped' | 'failed';

/** The success body of the webhook. */
export interface WebhookBody {
  outcome: WebhookOutcome;
  alertId: string;
  captureName?: string;
  reason?: string;
}

/** The webhook's answer: the HTTP adapter writes it as is. */
export interface WebhookAnswer {
  status: number;
  body: WebhookBody;
}

/** Seconds Azure Monitor is asked to wait before retrying when the ledger is down. */
export const LEDGER_RETRY_AFTER_SECONDS = 30;

/**
 * The webhook core, after the body was read as JSON: parse → classify (403 outside the allowed scopes) → record in
 * the ledger (idempotent on the alert id) → start the capture within the fast-path budget. Throws
 * {@link RequestError} for what the caller must be told with an error status (400, 403, 503); everything else is
 * an answer. ARM trouble never fails the request: the record stays `pending` for the poller.
 */
export async function handleAlert(body: unknown, deps: CaptureDeps): Promise<WebhookAnswer> {
  const parsed = parseAlert(body);
  if (!parsed.ok) {
    throw new RequestError(
      400,
      'InvalidAlertPayload',
      'The body is not an alert this webhook understands: expected the common alert schema, an AzureMonitorMetricAlert or a classic metric alert.',
      parsed.issues
        .slice(0, 20)
        .map((i) => ({ code: 'InvalidField', target: i.path || '(root)', message: i.message })),
    );
  }
  const event = parsed.event;
  const decision = classifyAlert(event, { allowedScopes: deps.config.allowedScopes });
  switch (decision.action) {
    case 'forbidden':
      throw new RequestError(403, 'ScopeNotAllowed', decision.reason);
    case 'ignore':
      return { status: 200, body: { outcome: 'ignored', alertId: event.alertId, reason: decision.reason } };
    case 'stop':
      return await stopOnResolve(event, decision.target, deps);
    case 'capture':
      return await captureAlert(event, decision.target, decision.note, deps);
  }
}

/**
 * Seconds the poller leaves a fresh record to the webhook's fast path: the fast path's own budget plus the ledger
 * writes after it. A record whose webhook died is picked up after that.
 */
export function fastPathGraceSeconds(config: Pick<CaptureDeps['config'], 'fastPathTimeoutSeconds'>): number {
  return config.fastPathTimeoutSeconds + 10;
}

/**
 * What a Fired alert keeps of its VM's ring (if the VM has one: the poller's keep step asks), recorded with the
 * alert: the window, and the keep step due from now, whatever the capture's own next attempt (the keep step
 * itself leaves the record to the fast path for its grace).
 */
function keepOf(
  event: AlertEvent,
  config: CaptureDeps['config'],
  nowMs: number,
): Pick<CaptureRecord, 'keepWindowStart' | 'keepWindowEnd' | 'keepDueAt'> {
  const window = alertKeepWindow(event, config.ring);
  if (!Number.isFinite(window.startMs) || !Number.isFinite(window.endMs)) return {};
  return {
    keepWindowStart: new Date(window.startMs).toISOString(),
    keepWindowEnd: new Date(window.endMs).toISOString(),
    keepDueAt: new Date(nowMs).toISOString(),
  };
}

async function captureAlert(
  event: AlertEvent,
  target: CaptureTarget,
  note: string | undefined,
  deps: CaptureDeps,
): Promise<WebhookAnswer> {
  const { config, ledger } = deps;
  // Per attempt: this alert's capture can only ever be stopped, deleted or adopted by this alert's record.
  const captureName = attemptCaptureName(config.captureNamePrefix, target, event.alertId);
  const { overrides, problems } = readCaptureOverrides(event.customProperties);
  const settings = effectiveCaptureSettings(config, overrides);
  const notes = [note, ...problems, ...settings.notes].filter((n): n is string => Boolean(n));
  const answer = (
    status: number,
    outcome: WebhookOutcome,
    reason?: string,
    name = captureName,
  ): WebhookAnswer => {
    const text = [reason, ...notes].filter(Boolean).join('; ');
    return {
      status,
      body: { outcome, alertId: event.alertId, captureName: name, ...(text ? { reason: text } : {}) },
    };
  };

  let record: CaptureRecord;
  try {
    const inserted = await ledger.insert({
      alertId: event.alertId,
      ruleName: event.ruleName,
      severity: event.severity ?? '',
      firedAt: event.firedAt,
      monitorCondition: event.monitorCondition,
      target: target.kind === 'vm' ? target.vmId : target.scaleSetId,
      targetKind: target.kind,
      vmName: target.kind === 'vm' ? target.vmName : target.scaleSetName,
      instanceId: target.kind === 'vmssInstance' ? target.instanceId : undefined,
      subscriptionId: target.subscriptionId,
      region: undefined,
      captureName,
      settingsJson: JSON.stringify(settings),
      note: notes.join('; ') || undefined,
      // The fast path below works on this record: a poller tick in the meantime would drive it too (twice the ARM
      // calls while ARM throttles, and the webhook answering its own capture `alreadyCapturing`).
      nextAttemptAt: new Date((deps.now ?? Date.now)() + fastPathGraceSeconds(config) * 1000).toISOString(),
      ...keepOf(event, config, (deps.now ?? Date.now)()),
    });
    if (!inserted.created)
      return answer(200, 'duplicate', `alert already received (state ${inserted.existing.state})`);
    record = inserted.record;
  } catch (e) {
    if (e instanceof LedgerUnavailableError) {
      deps.logger.error(`ledger unavailable for alert ${event.alertId}: ${errorMessage(e)}`);
      throw ledgerUnavailable(
        'The capture ledger cannot be written right now; the alert was not recorded. Retry later.',
      );
    }
    throw e;
  }

  // From here the alert is recorded: whatever happens, the poller finishes the job.
  try {
    const result = await startCapture(record, deps, {
      abortSignal: AbortSignal.timeout(config.fastPathTimeoutSeconds * 1000),
    });
    switch (result.outcome) {
      case 'started':
        return answer(202, 'started');
      case 'pending':
        return answer(202, 'pending', result.reason);
      case 'alreadyCapturing':
        return answer(200, 'alreadyCapturing', result.reason, result.captureName);
      case 'failed':
        return answer(200, 'failed', result.reason);
    }
  } catch (e) {
    deps.logger.warn(`fast path for alert ${event.alertId} left pending: ${describeArmError(e)}`);
    return answer(202, 'pending', 'the capture will be started by the poller');
  }
}

async function stopOnResolve(
  event: AlertEvent,
  target: CaptureTarget,
  deps: CaptureDeps,
): Promise<WebhookAnswer> {
  const { config, ledger, gateway } = deps;
  const answer = (outcome: WebhookOutcome, reason: string, captureName?: string): WebhookAnswer => ({
    status: 200,
    body: { outcome, alertId: event.alertId, ...(captureName ? { captureName } : {}), reason },
  });
  if (!config.stopOnResolve)
    return answer('ignored', 'alert resolved; STOP_ON_RESOLVE is off, the capture runs to its limit');

  let holder: CaptureRecord | undefined;
  try {
    holder = await ledger.getTargetLeaseHolder(targetKeyOf(target));
  } catch (e) {
    if (e instanceof LedgerUnavailableError) {
      throw ledgerUnavailable('The capture ledger cannot be read right now. Retry later.');
    }
    throw e;
  }
  if (holder && holder.alertId !== event.alertId && holder.ruleName !== event.ruleName) {
    // Another rule's capture of this VM: its own alert decides when it ends.
    return answer(
      'ignored',
      `alert resolved; the running capture of this VM belongs to rule "${holder.ruleName}"`,
    );
  }
  const watcher = holder ? watcherOf(holder) : undefined;
  const captureName = holder?.captureName;
  if (!holder || holder.state !== 'running' || !watcher || !captureName) {
    return answer('ignored', `alert resolved; no running capture of ${targetName(target)}`);
  }
  try {
    // Answered as soon as ARM accepted the stop: the stop runs on, and the poller records the end.
    const stop = await gateway.stopCapture(watcher, captureName, {
      abortSignal: AbortSignal.timeout(config.fastPathTimeoutSeconds * 1000),
    });
    if (stop === 'missing') {
      return answer('ignored', `alert resolved; capture ${captureName} no longer exists`, captureName);
    }
  } catch (e) {
    return answer(
      'ignored',
      `alert resolved; stopping ${captureName} failed (${describeArmError(e)}), it ends at its limit`,
      captureName,
    );
  }
  // The poller looks at it on its next tick instead of at its expected end.
  await ledger
    .move(holder, 'note', {
      statusCheckAt: new Date((deps.now ?? Date.now)()).toISOString(),
      nextAttemptAt: undefined,
    })
    .catch(() => undefined);
  return answer('stopped', `alert resolved; capture stopped early (STOP_ON_RESOLVE)`, captureName);
}

/** The 503 Azure Monitor retries (it does on 503) when the ledger cannot be reached. */
export function ledgerUnavailable(message: string): RequestError {
  return new RequestError(503, 'LedgerUnavailable', message, undefined, {
    'Retry-After': String(LEDGER_RETRY_AFTER_SECONDS),
  });
}
