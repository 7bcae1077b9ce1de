import { createHash } from 'node:crypto';
import type { CaptureTarget } from './captureTarget.js';

/** ARM's limit for a packet capture name. */
const MAX_NAME_LENGTH = 80;

/** What a capture is taken on: a VM, or one instance of a scale set. */
export interface NamedTarget {
  /** The VM id, or the scale set id for an instance. */
  resourceId: string;
  /** VM or scale set name. */
  name: string;
  /** Scale set instance id, if any. */
  instanceId?: string;
}

/**
 * The deterministic capture name for a target: `{prefix}-{vmName}[-{instance}]-{hash}`, ARM-safe, at most 80 chars.
 *
 * The short hash of the lower-cased resource id is there because two VMs of the same name in different resource
 * groups or subscriptions can share one regional watcher: without it, an alert on one would find, stop or delete
 * the other's capture (the mistake of the original guide's fixed name, one level down).
 */
export function captureNameFor(prefix: string, target: NamedTarget, attempt?: string): string {
  const hash =
    createHash('sha256')
      .update(`${target.resourceId.toLowerCase()}|${target.instanceId ?? ''}`)
      .digest('hex')
      .slice(0, 6) + (attempt === undefined ? '' : `-${attempt}`);
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '-');
  const instance = target.instanceId === undefined ? '' : `-${safe(target.instanceId)}`;
  const fixed = `${prefix}-`.length + instance.length + 1 + hash.length;
  const vm = safe(target.name).slice(0, Math.max(1, MAX_NAME_LENGTH - fixed));
  return `${prefix}-${vm}${instance}-${hash}`.toLowerCase();
}

/** Hex characters of the attempt tag: 8 give 4 billion values, so two records of one target never share a name. */
const ATTEMPT_TAG_CHARS = 8;

/**
 * The capture name of one record's attempt: `{prefix}-{vmName}[-{instance}]-{hash}-{attempt}`, where `attempt`
 * is taken from the record's alert id. This is the fencing of every side effect (README, "Fencing"): a record
 * only ever stops, deletes or adopts the capture of its own name, so a slow DELETE of an old record can never land
 * on the capture a newer record made on the same VM, and a resumed record that finds a capture of its own name
 * knows it is its own (created by its PUT, at or after the record) and adopts it instead of deleting it.
 */
export function attemptCaptureName(prefix: string, target: CaptureTarget, alertId: string): string {
  const attempt = createHash('sha256').update(alertId).digest('hex').slice(0, ATTEMPT_TAG_CHARS);
  return captureNameFor(
    prefix,
    target.kind === 'vm'
      ? { resourceId: target.vmId, name: target.vmName }
      : { resourceId: target.scaleSetId, name: target.scaleSetName, instanceId: target.instanceId },
    attempt,
  );
}

/** True when a capture name carries our prefix: only those are ever stopped or deleted by the app. */
export function isOurCapture(prefix: string, captureName: string): boolean {
  return captureName.toLowerCase().startsWith(`${prefix.toLowerCase()}-`);
}

/**
 * The capture name of a VM's ring, generation `generation` (each re-arm makes the next one, so the old ring can be
 * stopped after the new one runs): `{prefix}-ring-{vmName}-{hash}-{generation}`. The name alone does not mark a
 * ring (a VM may be called `ring-…`): the ledger record's kind `ring` does.
 */
export function ringCaptureName(prefix: string, target: NamedTarget, generation: number): string {
  return captureNameFor(`${prefix}-ring`, target, String(generation));
}
