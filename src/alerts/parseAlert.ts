import { createHash } from 'node:crypto';
import { z } from 'zod';
import { errorMessage } from '../errors.js';

/**
 * Turns an Azure Monitor alert webhook body, whichever schema it uses, into one {@link AlertEvent}.
 *
 * Supported: the common alert schema (metric, log search, activity log, health, budget... alerts; the kinds that
 * cannot start a capture are parsed far enough for `classifyAlert` to say so), the non-common
 * `AzureMonitorMetricAlert` schema and the classic metric alert webhook.
 * Azure is inconsistent in the fields we only display (nulls, numbers for strings, extra fields), so those are
 * read leniently; the fields the webhook acts on (alert id, monitor condition, targets, timestamps, dimensions)
 * are strict. See https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-common-schema.
 */

/** One alert, whichever schema it arrived in. */
export interface AlertEvent {
  /** The schema the payload used. */
  schema: 'common' | 'metricAlert' | 'classicMetric';
  /**
   * Stable id of this alert instance, used for dedupe. Common schema: `essentials.alertId`, which Azure keeps
   * for the alert's whole life (Fired and Resolved share it). The other schemas carry no instance id, so one is
   * derived: `metricAlert:` or `classicMetric:` followed by the first 32 hex digits of the SHA-256 of the
   * lower-cased rule id (or rule name), the lower-cased resource id and the normalised timestamp. A redelivery
   * of the same notification gets the same id; a later firing (new timestamp) gets a new one.
   */
  alertId: string;
  /** The alert rule's name (`(unnamed rule)` for the few kinds, such as budget alerts, that carry none). */
  ruleName: string;
  /** The alert rule's resource id, when the payload has it (`alertRuleID` is often missing). */
  ruleId?: string;
  /** `Sev0`..`Sev4` (the non-common schema's `"3"` becomes `Sev3`); other values as given. */
  severity?: string;
  /** `Activated` (non-common schemas) is mapped to `Fired`. */
  monitorCondition: 'Fired' | 'Resolved';
  /** E.g. `Metric`, `Log`, `Activity Log`. */
  signalType?: string;
  /** E.g. `Platform`, `Log Alerts V2`, `Activity Log - Administrative`. */
  monitoringService?: string;
  /** When the alert fired, ISO 8601 UTC. For a Resolved non-common alert (which carries one timestamp) the resolve time. */
  firedAt: string;
  /** When the alert resolved, ISO 8601 UTC. */
  resolvedAt?: string;
  /** Start of the evaluation window (common schema `alertContext.condition.windowStartTime`), ISO 8601 UTC. */
  windowStartAt?: string;
  /** ARM resource ids of the alert's targets, as given (often lower-cased). */
  targets: string[];
  /** The target's region when the payload carries it, lower-case without spaces (`westeurope`). */
  region?: string;
  /** Dimensions of the first condition (`allOf[0]`, or a V1 log alert's `Dimensions`), names as given. */
  dimensions: Record<string, string>;
  /** The alert rule's custom properties (`customProperties`, or `properties` in the older placements). */
  customProperties: Record<string, string>;
  /** The first condition, for notifications: metric name, operator, threshold and observed value. */
  metric?: { name?: string; operator?: string; threshold?: string; value?: number };
  /** The alert rule's description. */
  description?: string;
}

/** One reason a payload was rejected: a dotted path into the body (empty for the body itself) and what was expected. */
export interface ParseIssue {
  path: string;
  message: string;
}

/** The outcome of {@link parseAlert}: the event, or every problem found (the webhook answers 400 with them). */
export type ParseResult = { ok: true; event: AlertEvent } | { ok: false; issues: ParseIssue[] };

/** What an acceptable body is, in the words every rejection uses. */
export const EXPECTED_ALERT_MESSAGE =
  'expected a common alert schema (schemaId azureMonitorCommonAlertSchema), an AzureMonitorMetricAlert or a classic metric alert';

const COMMON_SCHEMA_ID = 'azureMonitorCommonAlertSchema';
const METRIC_ALERT_SCHEMA_ID = 'AzureMonitorMetricAlert';
const MAX_ISSUES = 20;

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces

const ISO_DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

/** Normalises an ISO 8601 date-time (any fraction length, `Z` or an offset, UTC when none) to `toISOString()` form. */
function toIsoTimestamp(value: string): string | undefined {
  const match = ISO_DATE_TIME.exec(value.trim());
  if (!match) return undefined;
  const [, date, time, zone] = match as unknown as [string, string, string, string | undefined];
  // Alert timestamps are UTC; a missing zone would otherwise be read as the host's local time.
  const offset =
    zone === undefined || zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(`${date}T${time}${offset}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const timestamp = z.string({ error: 'expected an ISO 8601 date-time string' }).transform((value, ctx) => {
  const iso = toIsoTimestamp(value);
  if (iso === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected an ISO 8601 date-time, found "${value.slice(0, 40)}"`,
    });
    return z.NEVER;
  }
  return iso;
});

const text = z.string().nullish();
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const dimensionSchema = z.looseObject({
  name: z.string({ error: 'expected the dimension name (a string)' }),
  value: scalar.nullish(),
});

const conditionItemSchema = z.looseObject({
  metricName: text,
  operator: text,
  threshold: z.union([z.string(), z.number()]).nullish(),
  metricValue: z.union([z.number(), z.string()]).nullish(),
  dimensions: z.array(dimensionSchema, { error: 'expected an array of {name, value}' }).nullish(),
});

const conditionSchema = z.looseObject({
  allOf: z.array(conditionItemSchema, { error: 'expected an array of conditions' }).nullish(),
  // Read leniently: a ring's kept window falls back to firedDateTime when it is missing or not a date-time.
  windowStartTime: z.unknown().optional(),
});

/** Custom properties: an object when present. Values are read leniently (see `toStringRecord`). */
const propertiesSchema = z
  .record(z.string(), z.unknown(), { error: 'expected an object of custom properties' })
  .nullish();

type ConditionItem = z.output<typeof conditionItemSchema>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keeps string, number and boolean values (as strings); drops nested objects and nulls, which no override uses. */
function toStringRecord(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(
    Object.entries(value)
      .filter((entry): entry is [string, string | number | boolean] => scalar.safeParse(entry[1]).success)
      .filter(([key]) => key !== '__proto__')
      .map(([key, v]) => [key, String(v)]),
  );
}

function toDimensions(
  items: ReadonlyArray<z.output<typeof dimensionSchema>> | null | undefined,
): Record<string, string> {
  return Object.fromEntries(
    (items ?? [])
      .filter((d) => d.name !== '__proto__' && d.value !== null && d.value !== undefined)
      .map((d) => [d.name, String(d.value)]),
  );
}

function toMetric(item: ConditionItem | undefined): AlertEvent['metric'] {
  if (item === undefined) return undefined;
  const value = typeof item.metricValue === 'string' ? Number(item.metricValue) : item.metricValue;
  const metric = {
    ...(item.metricName ? { name: item.metricName } : {}),
    ...(item.operator ? { operator: item.operator } : {}),
    ...(item.threshold !== null && item.threshold !== undefined ? { threshold: String(item.threshold) } : {}),
    ...(typeof value === 'number' && Number.isFinite(value) ? { value } : {}),
  };
  return Object.keys(metric).length > 0 ? metric : undefined;
}

/** `Sev3`, `sev3`, `3` and 3 all become `Sev3`; anything else is kept as given. */
function toSeverity(value: string | number | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = String(value).trim();
  if (trimmed === '') return undefined;
  const match = /^(?:sev)?([0-4])$/i.exec(trimmed);
  return match ? `Sev${match[1]}` : trimmed;
}

/** `West Europe` → `westeurope`. */
function toRegion(value: string | null | undefined): string | undefined {
  const region = value?.toLowerCase().replace(/\s+/g, '');
  return region ? region : undefined;
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return value ? value : undefined;
}

function derivedAlertId(
  schema: 'metricAlert' | 'classicMetric',
  rule: string,
  resourceId: string,
  at: string,
): string {
  const digest = createHash('sha256')
    .update([rule.toLowerCase(), resourceId.toLowerCase(), at].join('\n'))
    .digest('hex')
    .slice(0, 32);
  return `${schema}:${digest}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Common alert schema

const essentialsSchema = z.looseObject({
  alertId: z
    .string({ error: 'expected the alert instance id (a string)' })
    .min(1)
    // Azure's ids are ARM ids of about 150 characters; the ledger keys and stores the id whole.
    .max(1024, { error: 'expected the alert instance id to be at most 1024 characters' }),
  alertRule: text,
  alertRuleID: text,
  alertRuleId: text,
  severity: z.union([z.string(), z.number()]).nullish(),
  signalType: text,
  monitorCondition: z.enum(['Fired', 'Resolved'], { error: 'expected "Fired" or "Resolved"' }),
  monitoringService: text,
  // Budget alerts send null; anything else must be a list of ids, since the capture target comes from it.
  alertTargetIDs: z.array(z.string(), { error: 'expected an array of resource ids' }).nullable(),
  firedDateTime: timestamp,
  resolvedDateTime: timestamp.nullish(),
  description: text,
  // Not in the published samples: read when present (it mirrors the metric alert rule's targetResourceRegion).
  targetResourceRegion: text,
});

const commonSchema = z.looseObject({
  data: z.looseObject({
    essentials: essentialsSchema,
    alertContext: z
      .looseObject({
        conditionType: text,
        condition: conditionSchema.nullish(),
        properties: z.unknown().optional(),
        // V1 log search alerts put their dimensions here instead of in a condition.
        Dimensions: z.array(dimensionSchema, { error: 'expected an array of {name, value}' }).nullish(),
      })
      .nullish(),
    customProperties: propertiesSchema,
  }),
});

function fromCommon(body: z.output<typeof commonSchema>): AlertEvent {
  const { essentials: e, alertContext: context, customProperties } = body.data;
  const first = context?.condition?.allOf?.[0];
  // Metric and V2 log alerts (the kinds with a conditionType) also carry custom properties in alertContext.properties;
  // activity log alerts use that name for the event's own properties, which are not ours to read.
  const contextProperties =
    typeof context?.conditionType === 'string' ? toStringRecord(context.properties) : {};
  const metric = toMetric(first);
  const ruleId = nonEmpty(e.alertRuleID) ?? nonEmpty(e.alertRuleId);
  const severity = toSeverity(e.severity);
  const region = toRegion(e.targetResourceRegion);
  const description = nonEmpty(e.description);
  const rawWindowStart = context?.condition?.windowStartTime;
  const windowStartAt = typeof rawWindowStart === 'string' ? toIsoTimestamp(rawWindowStart) : undefined;
  return {
    schema: 'common',
    alertId: e.alertId,
    ruleName: nonEmpty(e.alertRule) ?? '(unnamed rule)',
    ...(ruleId ? { ruleId } : {}),
    ...(severity ? { severity } : {}),
    monitorCondition: e.monitorCondition,
    ...(e.signalType ? { signalType: e.signalType } : {}),
    ...(e.monitoringService ? { monitoringService: e.monitoringService } : {}),
    firedAt: e.firedDateTime,
    ...(e.resolvedDateTime ? { resolvedAt: e.resolvedDateTime } : {}),
    ...(windowStartAt ? { windowStartAt } : {}),
    targets: e.alertTargetIDs ?? [],
    ...(region ? { region } : {}),
    dimensions: toDimensions(first ? first.dimensions : context?.Dimensions),
    customProperties: { ...contextProperties, ...toStringRecord(customProperties) },
    ...(metric ? { metric } : {}),
    ...(description ? { description } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Non-common schemas: AzureMonitorMetricAlert and the classic metric webhook

const statusSchema = z.enum(['Activated', 'Resolved'], { error: 'expected "Activated" or "Resolved"' });

const nonCommonContext = z.looseObject({
  timestamp,
  id: text,
  name: z.string({ error: 'expected the alert rule name (a string)' }),
  description: text,
  conditionType: text,
  severity: z.union([z.string(), z.number()]).nullish(),
  resourceId: z.string({ error: 'expected the target resource id (a string)' }).min(1),
  resourceRegion: text,
});

const metricAlertSchema = z.looseObject({
  data: z.looseObject({
    status: statusSchema,
    context: nonCommonContext.extend({ condition: conditionSchema.nullish() }),
    properties: propertiesSchema,
  }),
});

const classicSchema = z.looseObject({
  status: statusSchema,
  context: nonCommonContext.extend({
    // Classic conditions are a single flat object (metricName, threshold...), not an allOf list.
    condition: conditionItemSchema.omit({ dimensions: true }).nullish(),
  }),
  properties: propertiesSchema,
});

type NonCommonContext = z.output<typeof nonCommonContext>;

function fromNonCommon(
  schema: 'metricAlert' | 'classicMetric',
  status: 'Activated' | 'Resolved',
  context: NonCommonContext,
  first: ConditionItem | undefined,
  properties: unknown,
  signalType: string,
): AlertEvent {
  const resolved = status === 'Resolved';
  const ruleId = nonEmpty(context.id);
  const severity = toSeverity(context.severity);
  const region = toRegion(context.resourceRegion);
  const metric = toMetric(first);
  const description = nonEmpty(context.description);
  return {
    schema,
    alertId: derivedAlertId(schema, ruleId ?? context.name, context.resourceId, context.timestamp),
    ruleName: context.name,
    ...(ruleId ? { ruleId } : {}),
    ...(severity ? { severity } : {}),
    monitorCondition: resolved ? 'Resolved' : 'Fired',
    signalType,
    monitoringService: 'Platform',
    firedAt: context.timestamp,
    ...(resolved ? { resolvedAt: context.timestamp } : {}),
    targets: [context.resourceId],
    ...(region ? { region } : {}),
    dimensions: toDimensions(first?.dimensions),
    customProperties: toStringRecord(properties),
    ...(metric ? { metric } : {}),
    ...(description ? { description } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'no body';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string ("${value.slice(0, 40)}")`;
  return `${typeof value === 'object' ? 'an' : 'a'} ${typeof value}`;
}

function toIssues(error: z.ZodError): ParseIssue[] {
  return error.issues.slice(0, MAX_ISSUES).map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

function rejected(path: string, message: string): ParseResult {
  return { ok: false, issues: [{ path, message }] };
}

function parseBody(body: unknown): ParseResult {
  if (!isRecord(body)) return rejected('', `${EXPECTED_ALERT_MESSAGE}, found ${describeValue(body)}`);
  const schemaId = Object.hasOwn(body, 'schemaId') ? body.schemaId : undefined;
  const id = typeof schemaId === 'string' ? schemaId.toLowerCase() : undefined;

  if (id === COMMON_SCHEMA_ID.toLowerCase()) {
    const result = commonSchema.safeParse(body);
    return result.success
      ? { ok: true, event: fromCommon(result.data) }
      : { ok: false, issues: toIssues(result.error) };
  }
  if (id === METRIC_ALERT_SCHEMA_ID.toLowerCase()) {
    const result = metricAlertSchema.safeParse(body);
    if (!result.success) return { ok: false, issues: toIssues(result.error) };
    const { status, context, properties } = result.data.data;
    const event = fromNonCommon(
      'metricAlert',
      status,
      context,
      context.condition?.allOf?.[0],
      properties,
      'Metric',
    );
    return { ok: true, event };
  }
  if (schemaId === undefined || schemaId === null) {
    if (!Object.hasOwn(body, 'status') && !Object.hasOwn(body, 'context')) {
      return rejected('', `${EXPECTED_ALERT_MESSAGE}, found an object with no schemaId, status or context`);
    }
    const result = classicSchema.safeParse(body);
    if (!result.success) return { ok: false, issues: toIssues(result.error) };
    const { status, context, properties } = result.data;
    const condition = context.condition ?? undefined;
    const signalType = nonEmpty(context.conditionType) ?? 'Metric';
    return {
      ok: true,
      event: fromNonCommon('classicMetric', status, context, condition, properties, signalType),
    };
  }
  return rejected(
    'schemaId',
    `${EXPECTED_ALERT_MESSAGE}; found schemaId ${describeValue(schemaId)} (enable the common alert schema on the action group)`,
  );
}

/**
 * Parses an alert webhook body (already JSON-decoded) into an {@link AlertEvent}.
 *
 * Never throws, whatever `body` is: anything unusable comes back as `ok: false` with the issues found
 * (dotted path and message, at most 20), which the webhook answers with a 400.
 */
export function parseAlert(body: unknown): ParseResult {
  try {
    return parseBody(body);
  } catch (e) {
    // Only reachable with values JSON cannot produce (throwing getters, proxies), but the webhook must never 500.
    return rejected('', `${EXPECTED_ALERT_MESSAGE}; the payload could not be read: ${errorMessage(e)}`);
  }
}
