import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { redact } from '../logger.js';
import type { CaptureLedger } from '../ledger/CaptureLedger.js';
import { LedgerUnavailableError } from '../ledger/LedgerUnavailableError.js';
import type { CaptureChanges, CaptureRecord } from '../ledger/captureRecord.js';
import {
  armCode,
  armStatus,
  isTransient,
  type NetworkWatcherGateway,
  type WatcherRef,
} from '../azure/networkWatcherGateway.js';
import {
  packetCaptureParameters,
  type CaptureTargetSpec,
  type EffectiveCaptureSettings,
} from './captureParameters.js';

/** What the orchestration needs, built once per function instance. */
export interface CaptureDeps {
  config: Config;
  ledger: CaptureLedger;
  gateway: NetworkWatcherGateway;
  logger: Logger;
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** The result of one attempt to start a record's capture. */
export interface StartResult {
  outcome: 'started' | 'pending' | 'alreadyCapturing' | 'failed';
  record: CaptureRecord;
  reason?: string;
}

/** Options for {@link startCapture}. */
export interface StartCaptureOptions {
  /** The caller's time budget: when it fires, what is left stays `pending` for the poller. */
  abortSignal?: AbortSignal;
  /** The region from the alert payload, saving a GET of the VM. */
  regionHint?: string;
}

/** The settings a record's capture runs with (stored with the record so the poller starts it the same way). */
export function recordSettings(record: CaptureRecord, config: Config): EffectiveCaptureSettings {
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

/** The target spec of a record. */
export function recordTarget(record: CaptureRecord): CaptureTargetSpec {
  return record.targetKind === 'vmssInstance' && record.instanceId !== undefined
    ? { kind: 'vmssInstance', scaleSetId: record.target, instanceId: record.instanceId }
    : { kind: 'vm', vmId: record.target };
}

/** Seconds to wait before the poller retries a record, growing with attempts (30 s … 5 min). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 30 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Tries to start the capture of a `pending` record, the same way from the webhook's fast path and from the poller:
 * region and watcher (cached, in parallel with the agent check), the watcher's captures, our same-named capture
 * (running → adopt it; finished → delete it, the file stays), the region's budget, then the PUT. Every step that
 * fails transiently leaves the record `pending` with the error and a next attempt time; a permanent failure
 * moves it to `failed` with the reason in plain words. Never throws for ARM failures; a ledger failure propagates.
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
  const targetId = target.kind === 'vm' ? target.vmId : target.scaleSetId;

  const fail = async (reason: string): Promise<StartResult> => {
    const updated = await ledger.transition(record, { state: 'failed', reason, nextAttemptAt: undefined });
    logger.warn(`capture ${captureName} for alert ${record.alertId} failed: ${reason}`);
    return { outcome: 'failed', record: updated ?? record, reason };
  };
  const stayPending = async (reason: string, changes: CaptureChanges = {}): Promise<StartResult> => {
    const attempts = record.attempts + 1;
    const updated = await ledger.transition(record, {
      state: 'pending',
      attempts,
      lastError: reason,
      nextAttemptAt: new Date(now() + retryDelaySeconds(attempts) * 1000).toISOString(),
      ...changes,
    });
    return { outcome: 'pending', record: updated ?? record, reason };
  };

  // One alert at a time captures a target: the lease is taken before any ARM call, by the webhook and the poller alike.
  const lease = await ledger.acquireTargetLease(captureName, record.alertId);
  if (!lease.acquired) {
    const reason = `a capture of ${record.vmName} is already under way for alert ${lease.holder.alertId}`;
    const updated = await ledger.transition(record, { state: 'ignored', reason, nextAttemptAt: undefined });
    return { outcome: 'alreadyCapturing', record: updated ?? record, reason };
  }

  try {
    if (options.regionHint) gateway.rememberLocation(targetId, options.regionHint);
    // The region, the watcher list and the agent state do not depend on each other: one round trip for all three.
    const [region, watchers, agent] = await Promise.all([
      record.region ?? gateway.getLocation(targetId, call),
      gateway.listWatchers(record.subscriptionId, call),
      target.kind === 'vm' ? gateway.getAgentState(target.vmId, call) : Promise.resolve('installed' as const),
    ]);
    // Usually found in the list fetched above, without another round trip.
    const watcher =
      watchers.find((w) => w.location === region) ??
      (await gateway.findWatcher(record.subscriptionId, region, call));
    if (!watcher) return await fail(`no Network Watcher in ${region}`);

    if (agent !== 'installed') {
      const vmName = record.vmName;
      if (agent === 'failed') return await fail(`Network Watcher agent failed to install on ${vmName}`);
      if (!config.autoInstallAgent) return await fail(`Network Watcher agent not installed on ${vmName}`);
      if (agent === 'missing') await gateway.installAgent(targetId, call);
      return await stayPending(`installing the Network Watcher agent on ${vmName}`, {
        region,
        watcherId: watcher.id,
      });
    }

    const listed = await gateway.listCaptures(watcher, call);
    const inUse = new Set(listed.map((c) => c.name.toLowerCase()));
    const existing = listed.find((c) => c.name.toLowerCase() === captureName.toLowerCase());
    if (existing) {
      const status = await gateway.getCaptureStatus(watcher, captureName, call);
      const running =
        status?.packetCaptureStatus === 'Running' || status?.packetCaptureStatus === 'NotStarted';
      if (running && existing.target?.toLowerCase() === targetId.toLowerCase()) {
        // Our name on our target and still running: follow it instead of starting a second one.
        const updated = await ledger.transition(record, {
          state: 'running',
          region,
          watcherId: watcher.id,
          captureId: `${watcher.id}/packetCaptures/${captureName}`,
          startedAt: status?.captureStartTime?.toISOString() ?? new Date(now()).toISOString(),
          nextAttemptAt: undefined,
        });
        return {
          outcome: 'alreadyCapturing',
          record: updated ?? record,
          reason: `capture ${captureName} is already running`,
        };
      }
      // Finished (or on another target after a rename): delete the resource; its file in storage stays.
      await gateway.deleteCapture(watcher, captureName, call);
      inUse.delete(captureName.toLowerCase());
    }

    const granted = await ledger.tryReserveSlot(
      record.subscriptionId,
      region,
      captureName,
      inUse,
      config.captureSessionBudget,
    );
    if (!granted) {
      return await stayPending(
        `capture budget for ${region} is used up (${config.captureSessionBudget} sessions); waiting for a free slot`,
        { region, watcherId: watcher.id },
      );
    }

    const starting = await ledger.transition(record, { state: 'starting', region, watcherId: watcher.id });
    if (!starting) return { outcome: 'pending', record, reason: 'another instance is working on this alert' };
    return await putCapture(starting, watcher, deps, call);
  } catch (e) {
    // The ledger itself failing is no verdict on the capture: leave the record as it is for the next attempt.
    if (e instanceof LedgerUnavailableError) throw e;
    if (isTransient(e)) return await stayPending(`transient ARM failure: ${describeArmError(e)}`);
    return await fail(describeArmError(e));
  }
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
  const settings = recordSettings(record, config);
  let created: { id?: string };
  try {
    created = await gateway.createCapture(
      watcher,
      captureName,
      packetCaptureParameters(recordTarget(record), settings, config.captureStorageAccountId),
      call,
    );
  } catch (e) {
    const reason = describeArmError(e);
    // 409: a capture of that name appeared since the list (another instance's PUT), or the platform's session
    // limit was reached. Neither is this alert's failure: the next attempt adopts the capture or finds a slot.
    const conflict = armStatus(e) === 409;
    if (isTransient(e) || conflict) {
      // The PUT may or may not have reached ARM: the next attempt finds the capture (adopts it) or creates it.
      const attempts = record.attempts + 1;
      if (conflict && armCode(e) !== 'PacketCaptureAlreadyExists') {
        await ledger.releaseSlot(record.subscriptionId, record.region ?? '', captureName);
      }
      const updated = await ledger.transition(record, {
        state: 'pending',
        attempts,
        lastError: conflict ? reason : `transient ARM failure: ${reason}`,
        nextAttemptAt: new Date(now() + retryDelaySeconds(attempts) * 1000).toISOString(),
      });
      return { outcome: 'pending', record: updated ?? record, reason };
    }
    await ledger.releaseSlot(record.subscriptionId, record.region ?? '', captureName);
    const updated = await ledger.transition(record, { state: 'failed', reason, nextAttemptAt: undefined });
    return { outcome: 'failed', record: updated ?? record, reason };
  }
  // The capture exists from here: if this write fails the record stays `starting`, and the poller's next attempt
  // finds the capture running and adopts it.
  const updated = await ledger.transition(record, {
    state: 'running',
    captureId: created.id ?? `${watcher.id}/packetCaptures/${captureName}`,
    startedAt: new Date(now()).toISOString(),
    attempts: record.attempts + 1,
    lastError: undefined,
    nextAttemptAt: undefined,
  });
  deps.logger.info(`capture ${captureName} started for alert ${record.alertId}`);
  return { outcome: 'started', record: updated ?? record };
}

/** An ARM failure in plain words, safe to store and notify (no tokens or query strings). */
export function describeArmError(e: unknown): string {
  const status = armStatus(e);
  const code = armCode(e);
  const prefix = status !== undefined ? `ARM ${status}${code ? ` ${code}` : ''}: ` : '';
  return redact(`${prefix}${errorMessage(e)}`).slice(0, 500);
}
