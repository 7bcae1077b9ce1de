/**
 * Azure Resource Manager resource ids, parsed and compared the way ARM does: case-insensitively.
 *
 * Alert payloads lower-case target ids (`/subscriptions/x/resourcegroups/rg/providers/microsoft.compute/...`)
 * while ARM answers with canonical casing, so nothing here compares ids with `===`.
 */

/** A child resource segment of a resource id, e.g. `{ type: 'virtualMachines', name: '3' }` in a VMSS instance id. */
export interface ResourceIdChild {
  /** The child type segment as given, e.g. `virtualMachines`. */
  type: string;
  /** The child name as given, e.g. `3`. */
  name: string;
}

/** The parts of an ARM resource id. Every value keeps the casing it was given in. */
export interface ParsedResourceId {
  /** The id exactly as given. */
  id: string;
  subscriptionId: string;
  /** Absent for subscription-level resources (`/subscriptions/x/providers/...`). */
  resourceGroup?: string;
  /** The resource provider namespace, e.g. `Microsoft.Compute`. */
  provider: string;
  /** The top-level resource type with its namespace, e.g. `Microsoft.Compute/virtualMachines`. */
  type: string;
  /** The top-level resource name. */
  name: string;
  /** The id of the top-level resource (the id without its child segments), as given. */
  topLevelId: string;
  /** The first child segment, when there is one: `virtualMachines/3` in a VMSS instance id. */
  child?: ResourceIdChild;
  /** Every child segment in order (empty for a top-level resource). */
  children: ResourceIdChild[];
}

/** The two parts of a scale-set VM instance id. */
export interface ScaleSetInstanceId {
  /** The scale set's id, as given. */
  scaleSetId: string;
  /** The instance id (a number for uniform scale sets), as given. */
  instanceId: string;
  subscriptionId: string;
  resourceGroup: string;
  scaleSetName: string;
}

const VM_TYPE = 'microsoft.compute/virtualmachines';
const SCALE_SET_TYPE = 'microsoft.compute/virtualmachinescalesets';

/*
 * Ids end up in ARM request paths. A segment that could change the path ('.', '..') or escape it
 * ('?', '#', '%', '\') is never a valid ARM name, so such an id is rejected rather than passed on.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_SEGMENT = /[?#%\\\u0000-\u001f\u007f]/;

function isSafeSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !UNSAFE_SEGMENT.test(segment);
}

/**
 * Parses an ARM resource id such as
 * `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}`.
 *
 * Keywords (`subscriptions`, `resourceGroups`, `providers`) match case-insensitively; values keep their casing.
 * Child resources (`.../virtualMachineScaleSets/{ss}/virtualMachines/{instance}`) are returned in `children`.
 *
 * @returns the parts, or `undefined` for anything that is not a resource id: a subscription or resource-group id,
 * an odd number of type/name segments, empty or unsafe segments, extension resources (a second `providers`),
 * or a value that is not a string.
 */
export function parseResourceId(id: unknown): ParsedResourceId | undefined {
  if (typeof id !== 'string' || id.length > 4096 || !id.startsWith('/')) return undefined;
  const segments = id.slice(1).split('/');
  if (!segments.every(isSafeSegment)) return undefined;
  if (segments[0]?.toLowerCase() !== 'subscriptions') return undefined;
  const subscriptionId = segments[1];
  if (subscriptionId === undefined) return undefined;

  let index = 2;
  let resourceGroup: string | undefined;
  if (segments[index]?.toLowerCase() === 'resourcegroups') {
    resourceGroup = segments[index + 1];
    if (resourceGroup === undefined) return undefined;
    index += 2;
  }
  if (segments[index]?.toLowerCase() !== 'providers') return undefined;
  const provider = segments[index + 1];
  const rest = segments.slice(index + 2);
  // rest = type, name, (childType, childName)*: at least one pair, always whole pairs.
  if (provider === undefined || rest.length < 2 || rest.length % 2 !== 0) return undefined;
  if (rest.some((s) => s.toLowerCase() === 'providers')) return undefined;

  const [type, name, ...childSegments] = rest as [string, string, ...string[]];
  const children: ResourceIdChild[] = [];
  for (let i = 0; i < childSegments.length; i += 2) {
    children.push({ type: childSegments[i] as string, name: childSegments[i + 1] as string });
  }
  const topLevelSegments = segments.slice(0, index + 4);
  return {
    id,
    subscriptionId,
    ...(resourceGroup === undefined ? {} : { resourceGroup }),
    provider,
    type: `${provider}/${type}`,
    name,
    topLevelId: `/${topLevelSegments.join('/')}`,
    ...(children[0] === undefined ? {} : { child: children[0] }),
    children,
  };
}

/** True when `id` is a virtual machine: `.../providers/Microsoft.Compute/virtualMachines/{name}` in a resource group. */
export function isVirtualMachineId(id: unknown): boolean {
  const parsed = parseResourceId(id);
  return (
    parsed !== undefined &&
    parsed.resourceGroup !== undefined &&
    parsed.type.toLowerCase() === VM_TYPE &&
    parsed.children.length === 0
  );
}

/** True when `id` is a virtual machine scale set itself (not one of its instances). */
export function isScaleSetId(id: unknown): boolean {
  const parsed = parseResourceId(id);
  return (
    parsed !== undefined &&
    parsed.resourceGroup !== undefined &&
    parsed.type.toLowerCase() === SCALE_SET_TYPE &&
    parsed.children.length === 0
  );
}

/**
 * Parses a scale-set VM instance id, `.../virtualMachineScaleSets/{scaleSet}/virtualMachines/{instanceId}`.
 *
 * @returns the scale set id and instance id, or `undefined` for any other id.
 */
export function parseScaleSetInstanceId(id: unknown): ScaleSetInstanceId | undefined {
  const parsed = parseResourceId(id);
  if (
    parsed === undefined ||
    parsed.resourceGroup === undefined ||
    parsed.type.toLowerCase() !== SCALE_SET_TYPE ||
    parsed.children.length !== 1 ||
    parsed.child?.type.toLowerCase() !== 'virtualmachines'
  ) {
    return undefined;
  }
  return {
    scaleSetId: parsed.topLevelId,
    instanceId: parsed.child.name,
    subscriptionId: parsed.subscriptionId,
    resourceGroup: parsed.resourceGroup,
    scaleSetName: parsed.name,
  };
}

/** True when `id` is a scale-set VM instance (`.../virtualMachineScaleSets/{ss}/virtualMachines/{instanceId}`). */
export function isScaleSetInstanceId(id: unknown): boolean {
  return parseScaleSetInstanceId(id) !== undefined;
}

function normalise(id: string): string {
  return id.toLowerCase().replace(/\/+$/, '');
}

/** True when two ids name the same resource: compared case-insensitively, ignoring a trailing `/`. */
export function sameResourceId(a: string, b: string): boolean {
  return normalise(a) === normalise(b);
}

/**
 * True when `resourceId` lies inside `scope`: a subscription id (`/subscriptions/x`), a resource-group id
 * (`/subscriptions/x/resourceGroups/y`), or `*` for everything.
 *
 * The comparison is case-insensitive and stops at segment boundaries: resource group `prod` does not contain
 * resources of `prod2`. Ids with empty, `.` or `..` segments are never inside any scope except `*`, so a crafted
 * id cannot climb out of its scope.
 */
export function isWithinScope(resourceId: string, scope: string): boolean {
  if (scope.trim() === '*') return true;
  const id = resourceId.toLowerCase();
  const prefix = normalise(scope.trim());
  if (prefix === '' || !id.startsWith('/')) return false;
  if (!id.slice(1).split('/').every(isSafeSegment)) return false;
  return id === prefix || id.startsWith(`${prefix}/`);
}

/** True when `resourceId` lies inside at least one of `scopes` (see {@link isWithinScope}). */
export function isWithinAnyScope(resourceId: string, scopes: readonly string[]): boolean {
  return scopes.some((scope) => isWithinScope(resourceId, scope));
}
