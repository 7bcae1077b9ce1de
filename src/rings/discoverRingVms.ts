import { isVirtualMachineId, isWithinAnyScope, isWithinScope, parseResourceId } from '../azure/armId.js';
import { describeArmError } from '../azure/armErrors.js';
import type { RingTagGateway } from '../azure/ringTagGateway.js';
import type { Config } from '../config.js';

/** Why a VM wants a ring: its tag, or `RING_VM_IDS`. */
export type RingVmSource = 'tag' | 'list';

/** A VM that wants a ring. */
export interface RingVm {
  /** The id as ARM gave it when the tag listing found it; else as `RING_VM_IDS` has it (lower case). */
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  /** Both when the VM is tagged and listed. */
  sources: RingVmSource[];
}

/** A scope whose tagged VMs are not all known: its VMs may want a ring that is not in the answer. */
export interface IncompleteScope {
  /** A subscription or resource-group id from `ALLOWED_SCOPES` (or a subscription listed for `*`), or `*`. */
  scope: string;
  /** Azure's refusal in plain words (redacted), or the bound that was reached. */
  reason: string;
}

/** What {@link discoverRingVms} found. */
export interface RingDiscovery {
  /** At most `RING_MAX_VMS`, ordered by id (case-insensitively). */
  vms: RingVm[];
  /** How many more VMs wanted a ring beyond `RING_MAX_VMS` (the last by id order). */
  leftOut: number;
  /**
   * Scopes whose listing failed or was cut short. A ring VM of such a scope may be missing from `vms`: a caller
   * must not take its absence as "the tag was removed" (never disable a ring because of an incomplete scope).
   */
  incompleteScopes: IncompleteScope[];
}

/** Options for {@link discoverRingVms}. */
export interface DiscoverRingVmsOptions {
  /** The caller's deadline: a scope not listed by then is reported incomplete. */
  abortSignal?: AbortSignal;
}

/** Tagged resources read per scope before the scope is reported incomplete (memory and time bound). */
export const MAX_TAGGED_RESOURCES_PER_SCOPE = 5000;
/** Subscriptions read for `ALLOWED_SCOPES=*` before `*` is reported incomplete. */
export const MAX_SUBSCRIPTIONS = 1000;
/** Scopes listed at once. */
const LIST_CONCURRENCY = 4;
const VM_TYPE = 'microsoft.compute/virtualmachines';

/**
 * The VMs that want a standing ring capture: those inside `ALLOWED_SCOPES` whose tag `RING_TAG_NAME` has the value
 * `RING_TAG_VALUE`, and those of `RING_VM_IDS` (the settings keep that list inside `ALLOWED_SCOPES`), each once
 * with its sources, bounded by `RING_MAX_VMS`.
 *
 * Each allowed scope is listed with ARM's tag filter (Resources - List, or List By Resource Group for a
 * resource-group scope; a resource group inside an allowed subscription is not listed again); with `*`, every
 * subscription the identity can see. ARM cannot combine the tag filter with a type filter, so the listing holds
 * every tagged type and only `Microsoft.Compute/virtualMachines` are kept: **scale sets are not ring targets**
 * (a continuous capture on a scale set would run on one instance chosen by Network Watcher, not on the machine
 * that alerts), nor are other tagged resources. Tag names match case-insensitively; values as ARM's filter compares
 * them (case-sensitive per https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources, an
 * emulator setting until verified). A tagged VM outside `ALLOWED_SCOPES` (possible with overlapping listings) is
 * skipped.
 *
 * A scope whose listing fails (refused, throttled past the SDK's retries, past the deadline) or exceeds
 * {@link MAX_TAGGED_RESOURCES_PER_SCOPE} is reported in `incompleteScopes`, and the others are still answered.
 * Above `RING_MAX_VMS` the first VMs by id are kept and `leftOut` says how many were not.
 */
export async function discoverRingVms(
  config: Pick<Config, 'allowedScopes' | 'ring'>,
  gateway: RingTagGateway,
  options: DiscoverRingVmsOptions = {},
): Promise<RingDiscovery> {
  const incompleteScopes: IncompleteScope[] = [];
  const scopes = await scopesToList(config.allowedScopes, gateway, options, incompleteScopes);
  const found = new Map<string, RingVm>();
  await forEachLimited(scopes, LIST_CONCURRENCY, async (scope) => {
    try {
      const listed = await gateway.listTaggedResources(
        scope,
        { name: config.ring.tagName, value: config.ring.tagValue },
        { abortSignal: options.abortSignal, maxResults: MAX_TAGGED_RESOURCES_PER_SCOPE },
      );
      if (!listed.complete) {
        incompleteScopes.push({
          scope,
          reason: `more than ${MAX_TAGGED_RESOURCES_PER_SCOPE} resources carry the tag; the rest were not read`,
        });
      }
      for (const r of listed.resources) {
        if (r.type?.toLowerCase() !== VM_TYPE || !isVirtualMachineId(r.id)) continue;
        if (!isWithinAnyScope(r.id, config.allowedScopes)) continue;
        addVm(found, r.id, 'tag');
      }
    } catch (e) {
      incompleteScopes.push({ scope, reason: describeArmError(e) });
    }
  });
  for (const id of config.ring.vmIds) addVm(found, id, 'list');
  const all = [...found.values()].sort((a, b) => compareIds(a.id, b.id));
  const vms = all.slice(0, config.ring.maxVms);
  incompleteScopes.sort((a, b) => compareIds(a.scope, b.scope));
  return { vms, leftOut: all.length - vms.length, incompleteScopes };
}

/**
 * The scopes to list: the allowed ones without resource groups already covered by an allowed subscription, or
 * for `*` every subscription the identity can see (a failed or cut subscription list makes `*` incomplete).
 */
async function scopesToList(
  allowedScopes: readonly string[],
  gateway: RingTagGateway,
  options: DiscoverRingVmsOptions,
  incompleteScopes: IncompleteScope[],
): Promise<string[]> {
  if (!allowedScopes.includes('*')) {
    const unique = [...new Set(allowedScopes)];
    return unique.filter((scope) => !unique.some((other) => other !== scope && isWithinScope(scope, other)));
  }
  try {
    const listed = await gateway.listSubscriptions({
      abortSignal: options.abortSignal,
      maxResults: MAX_SUBSCRIPTIONS,
    });
    if (!listed.complete) {
      incompleteScopes.push({
        scope: '*',
        reason: `more than ${MAX_SUBSCRIPTIONS} subscriptions; the rest were not listed`,
      });
    }
    return listed.subscriptionIds.map((s) => `/subscriptions/${s}`);
  } catch (e) {
    incompleteScopes.push({ scope: '*', reason: describeArmError(e) });
    return [];
  }
}

/** Adds a VM or one more source of it; the first id seen (the tag listing's, ARM's casing) is kept. */
function addVm(found: Map<string, RingVm>, id: string, source: RingVmSource): void {
  const key = id.toLowerCase();
  const known = found.get(key);
  if (known) {
    if (!known.sources.includes(source)) known.sources.push(source);
    known.sources.sort();
    return;
  }
  const parsed = parseResourceId(id);
  if (!parsed?.resourceGroup) return;
  found.set(key, {
    id,
    name: parsed.name,
    subscriptionId: parsed.subscriptionId,
    resourceGroup: parsed.resourceGroup,
    sources: [source],
  });
}

function compareIds(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Runs `work` on every item, at most `limit` at once. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
