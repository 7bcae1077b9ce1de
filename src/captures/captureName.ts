import { createHash } from 'node:crypto';

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
export function captureNameFor(prefix: string, target: NamedTarget): string {
  const hash = createHash('sha256')
    .update(`${target.resourceId.toLowerCase()}|${target.instanceId ?? ''}`)
    .digest('hex')
    .slice(0, 6);
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '-');
  const instance = target.instanceId === undefined ? '' : `-${safe(target.instanceId)}`;
  const fixed = `${prefix}-`.length + instance.length + 1 + hash.length;
  const vm = safe(target.name).slice(0, Math.max(1, MAX_NAME_LENGTH - fixed));
  return `${prefix}-${vm}${instance}-${hash}`.toLowerCase();
}

/** True when a capture name carries our prefix: only those are ever stopped or deleted by the app. */
export function isOurCapture(prefix: string, captureName: string): boolean {
  return captureName.toLowerCase().startsWith(`${prefix.toLowerCase()}-`);
}
