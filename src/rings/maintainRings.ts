import { errorMessage } from '../errors.js';
import type { CaptureLedger } from '../ledger/CaptureLedger.js';
import { LedgerUnavailableError } from '../ledger/LedgerUnavailableError.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { holdsTarget } from '../ledger/lifecycle.js';
import { ringAlertId, withNewestAlertId, type RingHead } from '../ledger/RingHeads.js';
import { ringCaptureName } from '../captures/captureName.js';
import { forEachLimited } from '../captures/forEachLimited.js';
import type {
  PollDeps,
  RingTickReport,
  RingWanted,
  WantedRingVm,
  WantedRings,
} from '../captures/pollTypes.js';
import { ringRearmAfterSeconds } from '../captures/ringCaptureParameters.js';
import { watcherOf } from '../captures/watcherOf.js';
import { disableRing } from './disableRing.js';

/** What {@link maintainRings} did. */
export interface MaintainRingsResult {
  report: RingTickReport;
  /** The records of the generations armed, for the tick to start now. */
  armed: CaptureRecord[];
}

/** Options for {@link maintainRings}. */
export interface MaintainRingsOptions {
  /** The tick's deadline. */
  abortSignal?: AbortSignal;
}

/**
 * While no VM is wanted, an instance that found no ring head trusts that for this long before it lists the heads
 * again: an idle tick then costs no more Table requests than before rings existed.
 */
const NO_HEADS_RECHECK_IN_MS = 600_000;
const noHeadsSeenAt = new WeakMap<CaptureLedger, number>();
/** The newest `ring enable|disable` (the heads' change mark) an instance has acted on. */
const changesSeenAt = new WeakMap<CaptureLedger, number>();

/**
 * Keeps one ring capture per wanted VM, once per poller tick, after the tick drove its due records (so a ring
 * whose end this tick recorded is replaced at once) and before it starts the generations armed here. A wanted VM
 * without a live ring gets its next generation (one that never had a ring, one whose ring ended early: stopped or
 * deleted by someone, Error, a failed create); a ring that has run its session less `RING_REARM_LEAD_SECONDS`
 * gets its next generation too, and once that one runs every older generation is stopped (the next drive step
 * records its end and deletes it): the two overlap, so no packet falls in a gap. A VM missing from a complete
 * wanted list loses its ring ({@link disableRing}); a partial list removes nothing.
 *
 * Every head write is ETag-conditional and claims the generation before its record is inserted (idempotently, on
 * the generation's alert id), so two overlapping ticks arm one generation, never two. Rings go through the
 * region budget like any capture: a generation refused a slot stays `pending` while its predecessor runs on.
 *
 * Table cost per tick: one query of the heads (none while no VM is wanted and none was found lately, see
 * {@link NO_HEADS_RECHECK_IN_MS}), then per ring one read of its newest record, and, for the tick or two after a
 * re-arm, one per generation being replaced plus one head write.
 */
export async function maintainRings(
  deps: PollDeps & { ringWanted: RingWanted },
  options: MaintainRingsOptions = {},
): Promise<MaintainRingsResult> {
  const { ledger, logger } = deps;
  const now = (deps.now ?? Date.now)();
  const report: RingTickReport = { wanted: 0, armed: 0, retired: 0, disabled: 0 };
  const armed: CaptureRecord[] = [];
  const result = { report, armed };
  let wanted = await askWanted(deps.ringWanted, deps, options);
  let vms = uniqueVms(wanted.vms);
  report.wanted = vms.length;
  if (vms.length === 0) {
    if (!wanted.complete) return result;
    const seen = noHeadsSeenAt.get(ledger);
    if (seen !== undefined && now - seen < NO_HEADS_RECHECK_IN_MS) return result;
  }

  const { heads, changedAt } = await ledger.rings.listWithChanges();
  // Compared for equality: marks come from people's clocks, a later mark may carry an earlier time.
  if (changedAt !== undefined && changedAt !== changesSeenAt.get(ledger)) {
    // A person enabled or disabled a ring since this instance last looked: a listing from before is not to be
    // trusted (it would re-arm a ring just disabled).
    changesSeenAt.set(ledger, changedAt);
    wanted = await askWanted(deps.ringWanted, deps, { ...options, changedAt });
    vms = uniqueVms(wanted.vms);
    report.wanted = vms.length;
  }
  if (heads.length === 0) noHeadsSeenAt.set(ledger, now);
  else noHeadsSeenAt.delete(ledger);
  const headOf = new Map(heads.map((h) => [h.vmId, h]));

  await forEachLimited(vms, deps.config.pollConcurrency, async (vm) => {
    if (options.abortSignal?.aborted) return;
    await guarded(`ring of ${vm.vmName}`, deps, () =>
      keepRing(vm, headOf.get(vm.vmId.toLowerCase()), {
        deps,
        report,
        armed,
        now,
        abortSignal: options.abortSignal,
      }),
    );
  });

  if (wanted.complete) {
    const wantedIds = new Set(vms.map((vm) => vm.vmId.toLowerCase()));
    for (const head of heads.filter((h) => !wantedIds.has(h.vmId))) {
      if (options.abortSignal?.aborted) break;
      await guarded(`removing the ring of ${head.vmName}`, deps, async () => {
        const result = await disableRing(head.vmId, deps, { abortSignal: options.abortSignal });
        if (result.removed) {
          report.disabled++;
          logger.info(`ring of ${head.vmName} removed: the VM no longer keeps a ring`);
        }
      });
    }
  }
  return result;
}

/** The wanted list, or, when it cannot be had, an empty partial one: rings are kept as they are. */
async function askWanted(
  ringWanted: RingWanted,
  deps: PollDeps,
  options: MaintainRingsOptions & { changedAt?: number },
): Promise<WantedRings> {
  try {
    return await ringWanted({ abortSignal: options.abortSignal, changedAt: options.changedAt });
  } catch (e) {
    if (e instanceof LedgerUnavailableError) throw e;
    deps.logger.warn(
      `rings: the VMs that keep a ring could not be listed, rings left as they are: ${errorMessage(e)}`,
    );
    return { vms: [], complete: false };
  }
}

/** One entry per VM (ARM ids compare case-insensitively). */
function uniqueVms(vms: readonly WantedRingVm[]): WantedRingVm[] {
  const byId = new Map<string, WantedRingVm>();
  for (const vm of vms) if (!byId.has(vm.vmId.toLowerCase())) byId.set(vm.vmId.toLowerCase(), vm);
  return [...byId.values()];
}

/** Runs one VM's ring step; its ARM or data errors are logged, a ledger outage ends the tick. */
async function guarded(what: string, deps: PollDeps, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (e) {
    if (e instanceof LedgerUnavailableError) throw e;
    deps.logger.error(`poller: ${what}: ${errorMessage(e)}`);
  }
}

/** One ring step's context. */
interface RingStep {
  deps: PollDeps;
  report: RingTickReport;
  /** Where the records of armed generations go. */
  armed: CaptureRecord[];
  /** The tick's clock reading, in ms. */
  now: number;
  abortSignal?: AbortSignal;
}

/** One wanted VM's step: arm a first or next generation, or stop the ones a running successor replaced. */
async function keepRing(vm: WantedRingVm, found: RingHead | undefined, step: RingStep): Promise<void> {
  let head = found;
  const { deps, report, now } = step;
  const { ledger, config } = deps;
  const newestId = head?.alertIds[0];
  const newest = newestId === undefined ? undefined : await ledger.get(newestId);
  if (head && newestId !== undefined && !newest) {
    // The head was claimed but its record not written (the claimer stopped in between): write it now.
    step.armed.push(await insertGeneration(vm, head.generation, deps, now));
    return;
  }
  if (!newest || !holdsTarget(newest)) {
    if (await armNext(vm, head, newest, step)) report.armed++;
    return;
  }
  // A successor still starting (or refused a budget slot) leaves its predecessor running: no gap.
  if (newest.state !== 'running' || newest.captureStatus !== 'Running') return;
  if (head && head.replacing.length > 0) head = await stopReplaced(head, newest, step);
  const startedAt = Date.parse(newest.startedAt ?? newest.updatedAt);
  const runFor = ringRearmAfterSeconds(config.ring);
  // Capture time in wall-clock ms, as followCapture counts it (the sandbox's clock runs LOCAL_TIME_SCALE faster).
  if (now - startedAt >= (runFor * 1000) / config.localTimeScale) {
    if (await armNext(vm, head, newest, step)) report.armed++;
  }
}

/**
 * Stops the generations the running newest one replaces, and forgets the ones that ended (one head write per
 * re-arm): until then each costs a read per tick. Returns the head as it is now.
 */
async function stopReplaced(head: RingHead, newest: CaptureRecord, step: RingStep): Promise<RingHead> {
  const live: string[] = [];
  for (const olderId of head.replacing) {
    const older = await step.deps.ledger.get(olderId);
    if (!older || !holdsTarget(older)) continue;
    live.push(olderId);
    if (await retire(older, newest, step)) step.report.retired++;
  }
  if (live.length === head.replacing.length) return head;
  return (await step.deps.ledger.rings.update(head, { replacing: live })) ?? head;
}

/**
 * Claims the VM's next generation on its head (ETag-conditional: of two overlapping ticks one wins), then inserts
 * its record. Generation numbers are the arming time in epoch ms (at least the last one + 1): they never repeat for
 * a VM, even after its ring was removed and armed again, so a new generation never meets an old record's alert id.
 */
async function armNext(
  vm: WantedRingVm,
  head: RingHead | undefined,
  newest: CaptureRecord | undefined,
  step: RingStep,
): Promise<boolean> {
  const { deps, now } = step;
  const generation = Math.max((head?.generation ?? 0) + 1, now);
  const alertId = ringAlertId(vm.vmId, generation);
  // A generation that never made a capture has no files: it gives its place among the recent ones up.
  const filesLess =
    newest && !holdsTarget(newest) && newest.captureId === undefined ? newest.alertId : undefined;
  const previous = (head?.alertIds ?? []).filter((id) => id !== filesLess);
  // A generation still running is stopped once this one runs (an ended one needs nothing).
  const replacing = [...(newest && holdsTarget(newest) ? [newest.alertId] : []), ...(head?.replacing ?? [])];
  const claimed = head
    ? await deps.ledger.rings.update(head, {
        generation,
        vmName: vm.vmName,
        alertIds: withNewestAlertId(previous, alertId),
        replacing,
      })
    : await deps.ledger.rings.create({
        vmId: vm.vmId,
        vmName: vm.vmName,
        subscriptionId: vm.subscriptionId,
        generation,
        alertIds: [alertId],
      });
  if (!claimed) return false;
  step.armed.push(await insertGeneration(vm, generation, deps, now));
  deps.logger.info(
    `ring of ${vm.vmName}: generation ${generation} armed${newest ? ` (after ${newest.captureName ?? newest.alertId}, ${newest.state})` : ''}`,
  );
  return true;
}

/** Inserts the record of a VM's ring generation (idempotent on its alert id); returns it as stored. */
async function insertGeneration(
  vm: WantedRingVm,
  generation: number,
  deps: PollDeps,
  now: number,
): Promise<CaptureRecord> {
  const inserted = await deps.ledger.insert({
    alertId: ringAlertId(vm.vmId, generation),
    kind: 'ring',
    ruleName: 'ring',
    severity: '',
    firedAt: new Date(now).toISOString(),
    monitorCondition: 'Ring',
    target: vm.vmId,
    targetKind: 'vm',
    vmName: vm.vmName,
    subscriptionId: vm.subscriptionId,
    captureName: ringCaptureName(
      deps.config.captureNamePrefix,
      { resourceId: vm.vmId, name: vm.vmName },
      generation,
    ),
    note: `ring generation ${generation}`,
  });
  return inserted.created ? inserted.record : inserted.existing;
}

/**
 * Stops an older generation once its successor runs (the drive step then records its end and deletes it). One
 * that never started is failed instead: its successor took its place. One being started right now is left for the
 * next tick.
 */
async function retire(older: CaptureRecord, successor: CaptureRecord, step: RingStep): Promise<boolean> {
  const { deps } = step;
  const reason = `replaced by ${successor.captureName ?? successor.alertId}`;
  if (older.state === 'pending') {
    return (await deps.ledger.move(older, 'markFailed', { reason, nextAttemptAt: undefined })) !== undefined;
  }
  const watcher = watcherOf(older);
  // Asked once; its status is asked on the next tick (a stopped capture stays listed), which records its end.
  if (older.state !== 'running' || !watcher || !older.captureName || older.note === reason) return false;
  await deps.gateway.stopCapture(watcher, older.captureName, { abortSignal: step.abortSignal });
  await deps.ledger.move(older, 'note', {
    note: reason,
    statusCheckAt: new Date(step.now).toISOString(),
    nextAttemptAt: undefined,
  });
  return true;
}
