import type { FaultKind, FaultRule } from './types.js';

const FAULT_KINDS: readonly FaultKind[] = [
  'throttle',
  'error500',
  'error503',
  'forbidden',
  'reset',
  'slow',
  'operationFailed',
];

/** A fault rule with its compiled pattern and remaining count. */
export interface ActiveFault {
  rule: FaultRule;
  pattern: RegExp;
  remaining: number;
}

/** Thrown for a fault rule that does not make sense; the message names the field. */
export class FaultRuleError extends Error {
  override name = 'FaultRuleError';
}

/** Checks an untrusted fault rule (admin API or `addFault`) and compiles it. */
export function parseFaultRule(input: unknown, where = 'rule'): ActiveFault {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultRuleError(`${where} must be an object, found ${describe(input)}`);
  }
  const r = input as Record<string, unknown>;
  if (typeof r.kind !== 'string' || !FAULT_KINDS.includes(r.kind as FaultKind)) {
    throw new FaultRuleError(
      `${where}.kind must be one of ${FAULT_KINDS.join(', ')}, found ${describe(r.kind)}`,
    );
  }
  if (typeof r.pathPattern !== 'string' || r.pathPattern === '') {
    throw new FaultRuleError(
      `${where}.pathPattern must be a non-empty RegExp source, found ${describe(r.pathPattern)}`,
    );
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(r.pathPattern, 'i');
  } catch (e) {
    throw new FaultRuleError(
      `${where}.pathPattern is not a valid RegExp: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (r.method !== undefined && typeof r.method !== 'string') {
    throw new FaultRuleError(`${where}.method must be a string, found ${describe(r.method)}`);
  }
  checkNumber(r.count, `${where}.count`, 0, Number.MAX_SAFE_INTEGER, true);
  checkNumber(r.probability, `${where}.probability`, 0, 1, false);
  checkNumber(r.retryAfterSeconds, `${where}.retryAfterSeconds`, 0, 3600, true);
  checkNumber(r.delayInMs, `${where}.delayInMs`, 0, 600_000, false);
  const rule: FaultRule = {
    pathPattern: r.pathPattern,
    kind: r.kind as FaultKind,
    ...(r.method === undefined ? {} : { method: r.method }),
    ...(r.count === undefined ? {} : { count: r.count as number }),
    ...(r.probability === undefined ? {} : { probability: r.probability as number }),
    ...(r.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: r.retryAfterSeconds as number }),
    ...(r.delayInMs === undefined ? {} : { delayInMs: r.delayInMs as number }),
  };
  return { rule, pattern, remaining: rule.count ?? Number.POSITIVE_INFINITY };
}

/**
 * Picks the fault for a request, if any, and uses one of its shots. `operationFailed` only applies to PUTs
 * (the operation it fails is the PUT's asynchronous operation).
 */
export function takeFault(faults: ActiveFault[], method: string, path: string): FaultRule | undefined {
  for (const fault of faults) {
    if (fault.remaining <= 0) continue;
    if (fault.rule.method && fault.rule.method.toUpperCase() !== method.toUpperCase()) continue;
    if (fault.rule.kind === 'operationFailed' && method.toUpperCase() !== 'PUT') continue;
    if (!fault.pattern.test(path)) continue;
    if (Math.random() >= (fault.rule.probability ?? 1)) continue;
    fault.remaining -= 1;
    return fault.rule;
  }
  return undefined;
}

function checkNumber(value: unknown, field: string, min: number, max: number, integer: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new FaultRuleError(`${field} must be a number from ${min} to ${max}, found ${describe(value)}`);
  }
  if (integer && !Number.isInteger(value)) {
    throw new FaultRuleError(`${field} must be an integer, found ${value}`);
  }
}

/** A short description of an untrusted value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 60 ? value.slice(0, 60) + '…' : value}"`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${value}`;
  }
  return typeof value;
}
