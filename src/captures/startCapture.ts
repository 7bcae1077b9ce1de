import type { PacketCapture } from '@azure/arm-network';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { CaptureLedger } from '../ledger/CaptureLedger.js';
import { LedgerUnavailableError } from '../ledger/LedgerUnavailableError.js';
import type { CaptureChanges, CaptureRecord } from '../ledger/captureRecord.js';
import { holdsTarget, type MoveName } from '../ledger/lifecycle.js';
import { armCode, describeArmError, isRetryable, isTransient } from '../azure/armErrors.js';
import type { CaptureGateway, WatcherRef } from '../azure/captureGateway.js';
import { isOurCapture } from './captureName.js';
import { packetCaptureParameters, type EffectiveCaptureSettings } from './captureParameters.js';
import { targetKeyOf, targetOfRecord, targetResourceId, type CaptureTarget } from './captureTarget.js';
import { countForeignRunning } from './countForeignRunning.js';
import { ringCaptureParameters } from './ringCaptureParameters.js';

/** What the orchestration needs, built once per function instance. */
export interface CaptureDeps {
  config: Config;
  ledger: CaptureLedger;
  gateway: CaptureGateway;
  logger: Logger;
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** The result of one attempt to start a record's capture. */
export interface StartResult {
  outcome: 'started' | 'pending' | 'alreadyCapturing' | 'failed';
  record: CaptureRecord;
  reason?: string;
  /** For `alreadyCapturing`: the name of the capture that runs (another alert's, when it holds the target). */
  captureName?: string;
  /** For `pending`: the region's capture budget is used up (a person starting by hand is refused, not queued). */
  budgetUsedUp?: boolean;
}

/** Options for {@link startCapture}. */
export interface StartCaptureOptions {
  /** The caller's deadline: when it fires, what is left stays `pending` for the poller. */
  abortSignal?: AbortSignal;
}

/** The settings a record's capture runs with (stored with the record so the poller starts it the same way). */
export function recordSettings(
  record: Pick<CaptureRecord, 'settingsJson'>,
  config: Config,
): EffectiveCaptureSettings {
  if (record.settingsJson) {
    try {
      return JSON.parse(record.settingsJson) as EffectiveCaptureSettings;
    } catch {
      // Fall through to the configured defaults: a cut value must not block the capture.
    }
  }
  return {
    timeLimitInSeconds: config.captureTimeLimitSeconds,
    bytesToCapturePerPacket: config.captureBytesPerPacket,
    totalBytesPerSession: config.captureTotalBytes,
    filters: config.captureFilters,
    notes: [],
  };
}

/** The target of a record. */
export function recordTarget(record: CaptureRecord): CaptureTarget {
  return targetOfRecord(record);
}

/** Seconds to wait before the poller retries a record, growing with attempts (30 s … 5 min). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 30 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Tries to start the capture of a `pending` (or stale `starting`) record, the same way from the webhook's fast
 * path and from the poller: the target lease (not for a ring), then region, watcher list and agent (one parallel
 * round trip, cached), the watcher's captures (one of this record's own name is adopted, never deleted: it can only come
 * from this record's own PUT), the region's budget (our active captures and other people's running ones), then
 * the PUT. Every step that fails transiently, or meets a 409, leaves the record `pending` with the error and a
 * next attempt time; a permanent failure moves it to `failed` with the reason in plain words. Never throws for
 * ARM failures; a ledger failure propagates.
 */
export async function startCapture(
  record: CaptureRecord,
  deps: CaptureDeps,
  options: StartCaptureOptions = {},
): Promise<StartResult> {
  const { config, ledger, gateway, logger } = deps;
  const now = deps.now ?? Date.now;
  const captureName = record.captureName;
  if (!captureName) throw new Error(`record ${record.alertId} has no capture name`);
  const call = { abortSignal: options.abortSignal };
  const target = recordTarget(record);
  const targetId = targetResourceId(target);

  const fail = async (reason: string): Promise<StartResult> => {
    const updated = await ledger.move(record, 'markFailed', { reason, nextAttemptAt: undefined });
    logger.warn(`capture ${captureName} for alert ${record.alertId} failed: ${reason}`);
    return { outcome: 'failed', record: updated ?? record, reason };
  };
  const stayPending = async (
    reason: string,
    changes: CaptureChanges = {},
    extras: Pick<StartResult, 'budgetUsedUp'> = {},
  ): Promise<StartResult> => {
    const attempts = record.attempts + 1;
    const updated = await ledger.move(record, 'deferStart', {
      attempts,
      lastError: reason,
      nextAttemptAt: new Date(now() + retryDelaySeconds(attempts) * 1000).toISOString(),
      ...changes,
    });
    return { outcome: 'pending', record: updated ?? record, reason, ...extras };
  };

  // One alert at a time captures a target: the lease is taken before any ARM call, by the webhook and the poller
  // alike. A ring never takes it: an alert on a ring VM still gets its own post-alert capture.
  const lease =
    record.kind === 'ring'
      ? { acquired: true as const }
      : await ledger.acquireTargetLease(targetKeyOf(target), record.alertId);
  if (!lease.acquired) {
    const reason = `a capture of ${record.vmName} is already under way for alert ${lease.holder.alertId}`;
    const updated =
      record.state === 'pending'
        ? await ledger.move(record, 'markIgnored', { reason, nextAttemptAt: undefined })
        : undefined;
    return {
      outcome: 'alreadyCapturing',
      record: updated ?? record,
      reason,
      captureName: lease.holder.captureName,
    };
  }

  try {
    // The region comes from ARM, never from the alert payload (a wrong hint must not stick); it is cached, and
    // it is fetched in the same round trip as the watcher list and the agent.
    const [region, watchers, agent] = await Promise.all([
      record.region ?? gateway.getLocation(targetId, call),
      gateway.listWatchers(record.subscriptionId, call),
      gateway.getAgent(target, call),
    ]);
    // Usually found in the list fetched above, without another round trip.
    const watcher =
      watchers.find((w) => w.location === region) ??
      (await gateway.findWatcher(record.subscriptionId, region, call));
    if (!watcher) return await fail(`no Network Watcher in ${region}`);

    if (agent.state !== 'installed') {
      const vmName = record.vmName;
      const named = agent.extensionName ? ` (extension ${agent.extensionName})` : '';
      if (agent.state === 'failed') {
        return await fail(
          `the Network Watcher agent on ${vmName}${named} is in a failed state (provisioningState ${agent.provisioningState ?? 'Failed'}); reinstall or repair it`,
        );
      }
      if (agent.state === 'installing') {
        return await stayPending(
          `the Network Watcher agent on ${vmName}${named} is still being installed or updated (provisioningState ${agent.provisioningState ?? 'Updating'})`,
          { region, watcherId: watcher.id },
        );
      }
      if (!config.autoInstallAgent) return await fail(`Network Watcher agent not installed on ${vmName}`);
      if (target.kind !== 'vm') {
        return await fail(`Network Watcher agent not installed on scale set ${vmName}`);
      }
      await gateway.installAgent(target.vmId, call);
      return await stayPending(`installing the Network Watcher agent on ${vmName}`, {
        region,
        watcherId: watcher.id,
      });
    }

    const listed = await gateway.listCaptures(watcher, call);
    const own = listed.find((c) => c.name.toLowerCase() === captureName.toLowerCase());
    if (own) return await adopt(record, watcher, region, deps, 'markRunning');

    const ours = new Set(
      listed.filter((c) => isOurCapture(config.captureNamePrefix, c.name)).map((c) => c.name.toLowerCase()),
    );
    const foreign = listed.filter((c) => !isOurCapture(config.captureNamePrefix, c.name));
    const reserve = (inUse: ReadonlySet<string>) =>
      ledger.tryReserveSlot(record.subscriptionId, region, captureName, inUse, config.captureSessionBudget, {
        listed: ours,
      });
    // Counting every foreign capture as running costs no request; only when that refuses is each one asked.
    let granted = await reserve(new Set(foreign.map((c) => c.name.toLowerCase())));
    if (!granted && foreign.length > 0) {
      granted = await reserve(await countForeignRunning(gateway, watcher, foreign, { ...call, now }));
    }
    if (!granted) {
      return await stayPending(
        `capture budget for ${region} is used up (${config.captureSessionBudget} sessions); waiting for a free slot`,
        { region, watcherId: watcher.id },
        { budgetUsedUp: true },
      );
    }

    const starting = await ledger.move(record, record.state === 'pending' ? 'markStarting' : 'note', {
      region,
      watcherId: watcher.id,
    });
    if (!starting) return { outcome: 'pending', record, reason: 'another instance is working on this alert' };
    return await putCapture(starting, watcher, deps, call);
  } catch (e) {
    // The ledger itself failing is no verdict on the capture: leave the record as it is for the next attempt.
    if (e instanceof LedgerUnavailableError) throw e;
    if (isTransient(e)) return await stayPending(`transient ARM failure: ${describeArmError(e)}`);
    if (isRetryable(e)) return await stayPending(describeArmError(e));
    return await fail(describeArmError(e));
  }
}

/**
 * Follows a capture of the record's own name: it was made by this record's PUT (names are per attempt), at or
 * after the record, whatever its status now. A stopped one is evidence: the poller records its end and reports
 * its file.
 */
async function adopt(
  record: CaptureRecord,
  watcher: WatcherRef,
  region: string,
  deps: CaptureDeps,
  move: MoveName,
): Promise<StartResult> {
  const now = deps.now ?? Date.now;
  const name = record.captureName as string;
  const updated = await deps.ledger.move(record, move, {
    region,
    watcherId: watcher.id,
    captureId: record.captureId ?? `${watcher.id}/packetCaptures/${name}`,
    startedAt: record.startedAt ?? new Date(now()).toISOString(),
    // Its status is unknown (it may have ended already): asked on the next tick.
    statusCheckAt: new Date(now()).toISOString(),
    lastError: undefined,
    nextAttemptAt: undefined,
  });
  return {
    outcome: 'alreadyCapturing',
    record: updated ?? record,
    reason: `capture ${name} of this alert already exists; following it`,
  };
}

async function putCapture(
  record: CaptureRecord,
  watcher: WatcherRef,
  deps: CaptureDeps,
  call: { abortSignal?: AbortSignal },
): Promise<StartResult> {
  const { config, ledger, gateway } = deps;
  const now = deps.now ?? Date.now;
  const captureName = record.captureName as string;
  let created;
  try {
    created = await gateway.createCapture(watcher, captureName, captureParametersOf(record, config), call);
  } catch (e) {
    const reason = describeArmError(e);
    // 409 PacketCaptureAlreadyExists: our own PUT landed before (its answer was lost): adopt it.
    if (armCode(e) === 'PacketCaptureAlreadyExists') {
      return adopt(record, watcher, record.region ?? '', deps, 'markRunning');
    }
    // 409 session limit or another operation in progress, or transient: not this alert's failure. The PUT may
    // or may not have reached ARM: the next attempt finds the capture (adopts it) or creates it.
    if (isRetryable(e)) {
      const attempts = record.attempts + 1;
      if (!isTransient(e)) await ledger.releaseSlot(record.subscriptionId, record.region ?? '', captureName);
      const updated = await ledger.move(record, 'deferStart', {
        attempts,
        lastError: isTransient(e) ? `transient ARM failure: ${reason}` : reason,
        nextAttemptAt: new Date(now() + retryDelaySeconds(attempts) * 1000).toISOString(),
      });
      return { outcome: 'pending', record: updated ?? record, reason };
    }
    await ledger.releaseSlot(record.subscriptionId, record.region ?? '', captureName);
    const updated = await ledger.move(record, 'markFailed', { reason, nextAttemptAt: undefined });
    return { outcome: 'failed', record: updated ?? record, reason };
  }
  // The capture exists from here: if this write fails the record stays `starting`, and the poller's next attempt
  // finds the capture of its own name and adopts it.
  const startedAt = now();
  const updated = await ledger.move(record, 'markRunning', {
    captureId: created.id ?? `${watcher.id}/packetCaptures/${captureName}`,
    startedAt: new Date(startedAt).toISOString(),
    storagePath: created.storagePath,
    createOperationUrl: created.operationUrl,
    attempts: record.attempts + 1,
    lastError: undefined,
    // The next tick reads the PUT's operation (a failed create is reported then); no status query before.
    nextAttemptAt: undefined,
  });
  if (!updated) {
    // Someone wrote the record while the PUT was in flight. If they ended it (a ring disabled meanwhile: its
    // release found nothing to delete yet), nobody would ever end the capture this PUT just made: delete it now.
    const current = await ledger.get(record.alertId);
    if (current && !holdsTarget(current)) {
      await gateway.deleteCapture(watcher, captureName, call).catch((e: unknown) => {
        deps.logger.warn(
          `capture ${captureName} outlived its record ${record.alertId}: ${describeArmError(e)}`,
        );
      });
      return { outcome: 'failed', record: current, reason: current.reason ?? 'ended while being created' };
    }
  }
  deps.logger.info(`capture ${captureName} started for alert ${record.alertId}`);
  return { outcome: 'started', record: updated ?? record };
}

/**
 * The PUT body of a record's capture: a ring's continuous capture with the ring settings (a ring has no per-alert
 * overrides), or the settings the webhook decided on.
 */
function captureParametersOf(record: CaptureRecord, config: Config): PacketCapture {
  if (record.kind === 'ring') {
    return ringCaptureParameters(
      record.target,
      config.ring,
      config.ring.filters,
      config.captureStorageAccountId,
    );
  }
  return packetCaptureParameters(
    recordTarget(record),
    recordSettings(record, config),
    config.captureStorageAccountId,
  );
}
