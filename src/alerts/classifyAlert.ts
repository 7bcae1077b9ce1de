import type { CaptureTarget } from '../captures/captureTarget.js';
import { z } from 'zod';
import { captureFilterSchema, type CaptureFilter } from '../config.js';
import { isWithinAnyScope, parseResourceId, parseScaleSetInstanceId } from '../azure/armId.js';
import type { AlertEvent } from './parseAlert.js';

/**
 * Decides what the webhook does with a parsed alert: capture on a VM or scale-set instance, stop a capture
 * when the alert resolves, ignore it (with the reason in plain words), or refuse it (target outside the
 * allowed scopes).
 */

/** What a capture is taken on (see `src/captures/captureTarget.ts`). */
export type { CaptureTarget };

/** What the webhook should do with an alert. */
export type Classification =
  /** A fired alert on a capturable target; `note` explains a choice made among several targets. */
  | { action: 'capture'; target: CaptureTarget; note?: string }
  /** A resolved alert on a capturable target: the webhook stops the capture when `STOP_ON_RESOLVE` is on. */
  | { action: 'stop'; target: CaptureTarget }
  /** Nothing to capture; `reason` says why in plain words. */
  | { action: 'ignore'; reason: string }
  /** The target lies outside `ALLOWED_SCOPES`. */
  | { action: 'forbidden'; reason: string };

/** Options of {@link classifyAlert}. */
export interface ClassifyAlertOptions {
  /** Lower-cased subscription or resource-group ids, or `['*']` (as `Config.allowedScopes`). */
  allowedScopes: readonly string[];
}

interface AlertKind {
  capturable: boolean;
  /** E.g. "a metric alert", "an activity log alert (Activity Log - Administrative)". */
  description: string;
}

function squash(value: string | undefined): string {
  return (value ?? '').toLowerCase().replace(/[\s_-]+/g, '');
}

/** Only metric and log search alerts describe a condition on the machine worth capturing traffic for. */
function alertKind(event: AlertEvent): AlertKind {
  const service = squash(event.monitoringService);
  const signal = squash(event.signalType);
  const named = (description: string): AlertKind => ({
    capturable: false,
    description: event.monitoringService ? `${description} (${event.monitoringService})` : description,
  });
  if (service.startsWith('activitylog')) return named('an activity log alert');
  if (service === 'servicehealth') return named('a service health alert');
  if (service === 'resourcehealth') return named('a resource health alert');
  if (service === 'costalerts') return named('a budget alert');
  if (service === 'smartdetector') return named('a smart detection alert');
  if (signal === 'metric') return { capturable: true, description: 'a metric alert' };
  if (signal === 'log') return { capturable: true, description: 'a log search alert' };
  if (signal === 'activitylog') return named('an activity log alert');
  if (signal === '' && service === 'platform') return { capturable: true, description: 'a metric alert' };
  const parts = [
    event.signalType ? `signal type "${event.signalType}"` : 'no signal type',
    event.monitoringService ? `monitoring service "${event.monitoringService}"` : 'no monitoring service',
  ];
  return { capturable: false, description: `an alert with ${parts.join(' and ')}` };
}

const CANONICAL_TYPES = [
  'Microsoft.Compute/virtualMachines',
  'Microsoft.Compute/virtualMachineScaleSets',
  'Microsoft.Storage/storageAccounts',
  'Microsoft.OperationalInsights/workspaces',
  'Microsoft.Insights/components',
  'Microsoft.Web/sites',
  'Microsoft.Sql/servers',
  'Microsoft.Network/loadBalancers',
  'Microsoft.Network/applicationGateways',
  'Microsoft.ContainerService/managedClusters',
];

/** Payload ids are lower-cased; reasons read better with the type as the docs spell it. */
function displayType(type: string): string {
  return CANONICAL_TYPES.find((t) => t.toLowerCase() === type.toLowerCase()) ?? type;
}

type TargetResult = { target: CaptureTarget } | { reason: string };

function dimension(dimensions: Readonly<Record<string, string>>, ...names: string[]): string | undefined {
  const wanted = names.map((n) => n.toLowerCase());
  return Object.entries(dimensions).find(([name]) => wanted.includes(name.toLowerCase()))?.[1];
}

/**
 * The instance a scale-set alert is about, from its dimensions: `VMName` (`{scaleSet}_{instanceId}`, as in
 * the platform metrics) or an instance id dimension (`InstanceId`/`Instance`, a number or the same form).
 */
function instanceFromDimensions(dimensions: Readonly<Record<string, string>>): string | { reason: string } {
  const raw = dimension(dimensions, 'VMName') ?? dimension(dimensions, 'InstanceId', 'Instance');
  if (raw === undefined) {
    return {
      reason:
        'target is a virtual machine scale set and the alert has no VMName or InstanceId dimension saying which instance (split the rule by VMName)',
    };
  }
  const match = /^(?:.*_)?(\d+)$/.exec(raw.trim());
  if (!match) {
    return {
      reason: `target is a virtual machine scale set and dimension value "${raw.slice(0, 80)}" names no instance number`,
    };
  }
  return match[1] as string;
}

function toCaptureTarget(id: string, dimensions: Readonly<Record<string, string>>): TargetResult {
  const parsed = parseResourceId(id);
  if (parsed === undefined) return { reason: `target "${id.slice(0, 200)}" is not a resource id` };
  const type = parsed.type.toLowerCase();
  if (type === 'microsoft.compute/virtualmachines' && parsed.children.length === 0 && parsed.resourceGroup) {
    return {
      target: {
        kind: 'vm',
        vmId: parsed.id,
        subscriptionId: parsed.subscriptionId,
        resourceGroup: parsed.resourceGroup,
        vmName: parsed.name,
      },
    };
  }
  const instance = parseScaleSetInstanceId(id);
  if (instance) return { target: { kind: 'vmssInstance', ...instance } };
  if (
    type === 'microsoft.compute/virtualmachinescalesets' &&
    parsed.children.length === 0 &&
    parsed.resourceGroup
  ) {
    const instanceId = instanceFromDimensions(dimensions);
    if (typeof instanceId !== 'string') return instanceId;
    return {
      target: {
        kind: 'vmssInstance',
        scaleSetId: parsed.id,
        instanceId,
        subscriptionId: parsed.subscriptionId,
        resourceGroup: parsed.resourceGroup,
        scaleSetName: parsed.name,
      },
    };
  }
  const what =
    parsed.children.length > 0
      ? `a child resource of a ${displayType(parsed.type)}`
      : `a ${displayType(parsed.type)}`;
  return { reason: `target is ${what}, not a virtual machine` };
}

function targetId(target: CaptureTarget): string {
  return target.kind === 'vm' ? target.vmId : target.scaleSetId;
}

/**
 * Decides what to do with an alert.
 *
 * - Fired, metric or log search alert, a VM target (`Microsoft.Compute/virtualMachines`), a scale-set instance id,
 *   or a scale set with a `VMName`/`InstanceId` dimension → `capture`. With several targets the first capturable
 *   one is chosen and `note` says so.
 * - Resolved with such a target → `stop` (the webhook acts on it only when `STOP_ON_RESOLVE` is on).
 * - The chosen target outside `allowedScopes` → `forbidden`, for `stop` as much as for `capture`.
 * - Anything else → `ignore`, with the reason: the alert kind (activity log, service health, budget...),
 *   no target, or a target that is not a virtual machine.
 */
export function classifyAlert(event: AlertEvent, options: ClassifyAlertOptions): Classification {
  const kind = alertKind(event);
  if (!kind.capturable) {
    return {
      action: 'ignore',
      reason: `alert is ${kind.description}, which does not start captures; only metric and log search alerts do`,
    };
  }
  const resolved = event.monitorCondition === 'Resolved' ? 'resolved ' : '';
  if (event.targets.length === 0) {
    return { action: 'ignore', reason: `${resolved}alert is ${kind.description} with no target resource` };
  }

  const results = event.targets.map((id) => toCaptureTarget(id, event.dimensions));
  const capturable = results.filter((r): r is { target: CaptureTarget } => 'target' in r);
  // The first capturable target inside the allowed scopes; a VM outside them must not hide one inside.
  const chosen =
    capturable.find((r) => isWithinAnyScope(targetId(r.target), options.allowedScopes)) ?? capturable[0];
  if (chosen === undefined) {
    // targets is not empty and none gave a target, so every result is a reason.
    const why = (results[0] as { reason: string }).reason;
    const count =
      results.length > 1 ? ` (none of its ${results.length} targets is one; the first: ${why})` : `: ${why}`;
    return { action: 'ignore', reason: `${resolved}alert is ${kind.description} with no VM target${count}` };
  }

  const target = chosen.target;
  const id = targetId(target);
  if (!isWithinAnyScope(id, options.allowedScopes)) {
    return { action: 'forbidden', reason: `target ${id} is outside the allowed scopes (ALLOWED_SCOPES)` };
  }
  if (event.monitorCondition === 'Resolved') return { action: 'stop', target };
  if (event.targets.length > 1) {
    const what = target.kind === 'vm' ? 'VM' : 'scale-set instance';
    const shown = target.kind === 'vm' ? id : `${id} instance ${target.instanceId}`;
    const which = chosen === capturable[0] ? 'the first' : 'the first allowed';
    return {
      action: 'capture',
      target,
      note: `${event.targets.length} targets; capturing ${which} ${what}: ${shown}`,
    };
  }
  return { action: 'capture', target };
}

// ---------------------------------------------------------------------------------------------------------------
// Per-rule overrides

/** What an alert rule's custom properties ask for. Always clamped against the server-side maxima by the caller. */
export interface CaptureOverrides {
  /** Capture time limit asked for, from `captureDurationSeconds`. */
  captureDurationSeconds?: number;
  /** Network Watcher filters, from `captureFilters` (a JSON array). */
  captureFilters?: CaptureFilter[];
  /** Bytes kept of each packet (0 = whole packets), from `captureBytesPerPacket`. */
  captureBytesPerPacket?: number;
  /** Bytes per capture session, from `captureTotalBytes`. */
  captureTotalBytes?: number;
}

/** The result of {@link readCaptureOverrides}: the usable overrides and a sentence per value that was not. */
export interface ReadCaptureOverridesResult {
  overrides: CaptureOverrides;
  problems: string[];
}

// Limits of the Network Watcher API itself; the operator's lower maxima are applied by the orchestration.
const integerProperty = (min: number, max: number) =>
  z.string().transform((value, ctx) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

const filtersProperty = z.string().transform((value, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a JSON array of Network Watcher filter objects' });
    return z.NEVER;
  }
  const result = z.array(captureFilterSchema).max(10).safeParse(parsed);
  if (!result.success) {
    const details = result.error.issues
      .map((i) => `${i.path.join('.') || '(array)'}: ${i.message}`)
      .join('; ');
    ctx.addIssue({
      code: 'custom',
      message: `expected a JSON array of at most 10 filter objects with protocol/localIPAddress/remoteIPAddress/localPort/remotePort: ${details}`,
    });
    return z.NEVER;
  }
  return result.data;
});

const overrideSchemas = {
  captureDurationSeconds: integerProperty(1, 18_000),
  captureFilters: filtersProperty,
  captureBytesPerPacket: integerProperty(0, 4_294_967_295),
  captureTotalBytes: integerProperty(1, 4_294_967_295),
} as const;

/**
 * Reads per-rule capture overrides from an alert's custom properties: `captureDurationSeconds`, `captureFilters`
 * (a JSON array of Network Watcher filter objects), `captureBytesPerPacket`, `captureTotalBytes`.
 * Property names match case-insensitively. A bad value is left out and reported in `problems`, never thrown:
 * a typo in a rule must not cost the capture.
 */
export function readCaptureOverrides(
  customProperties: Readonly<Record<string, string>>,
): ReadCaptureOverridesResult {
  const overrides: CaptureOverrides = {};
  const problems: string[] = [];
  const entries = Object.entries(customProperties);
  for (const [name, schema] of Object.entries(overrideSchemas) as Array<
    [keyof CaptureOverrides, z.ZodType]
  >) {
    const entry = entries.find(([key]) => key.toLowerCase() === name.toLowerCase());
    if (entry === undefined) continue;
    const [key, value] = entry;
    const result = schema.safeParse(value);
    if (result.success) {
      Object.assign(overrides, { [name]: result.data });
    } else {
      const message = result.error.issues.map((i) => i.message).join('; ');
      problems.push(`customProperties.${key}: ${message} (found "${String(value).slice(0, 100)}")`);
    }
  }
  return { overrides, problems };
}
