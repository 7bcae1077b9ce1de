import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyAlert } from '../../../src/alerts/classifyAlert.js';
import { parseAlert, type ParseResult } from '../../../src/alerts/parseAlert.js';
import { isScaleSetId, isScaleSetInstanceId, isVirtualMachineId } from '../../../src/azure/armId.js';
import { jsonFiles, loadJson, ownAlertsDir, sharedAlertsDir } from './alertFixtures.js';

const fixtures: unknown[] = [
  ...jsonFiles(sharedAlertsDir).map((f) => loadJson(sharedAlertsDir, f)),
  ...jsonFiles(ownAlertsDir).map((f) => loadJson(ownAlertsDir, f)),
];

/** A result is well formed: an event, or at least one issue with a string path and a non-empty message. */
function wellFormed(result: ParseResult): boolean {
  if (result.ok) return typeof result.event.alertId === 'string' && Array.isArray(result.event.targets);
  return (
    result.issues.length > 0 &&
    result.issues.length <= 20 &&
    result.issues.every((i) => typeof i.path === 'string' && i.message.length > 0)
  );
}

/** Returns a copy of `value` with the node at `path` (indices into keys) replaced by `replacement`. */
function mutate(value: unknown, steps: number[], replacement: unknown): unknown {
  if (steps.length === 0 || typeof value !== 'object' || value === null) return replacement;
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[steps[0]! % keys.length]!;
  const copy: Record<string, unknown> = Array.isArray(value)
    ? ([...(value as unknown[])] as unknown as Record<string, unknown>)
    : { ...value };
  copy[key] = mutate((value as Record<string, unknown>)[key], steps.slice(1), replacement);
  return copy;
}

/** Replacement values that stress the parser: wrong types, odd strings, ids of the wrong kind, pollution keys. */
const nasty = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(
    null,
    '',
    'Activated',
    'Fired',
    'Resolved',
    '__proto__',
    [],
    {},
    '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z',
    '/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachineScaleSets/z',
    '/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/..',
    JSON.parse('{"__proto__":{"polluted":"yes"}}') as unknown,
  ),
);

describe('parseAlert and classifyAlert: properties', () => {
  it('never throw on random JSON values, and always answer with an event or issues', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const result = parseAlert(value);
        expect(wellFormed(result)).toBe(true);
        if (result.ok) classifyAlert(result.event, { allowedScopes: ['*'] });
      }),
      { numRuns: 1000 },
    );
  });

  it('never throw on random objects shaped like each schema', () => {
    const shaped = fc.oneof(
      fc.record({
        schemaId: fc.constant('azureMonitorCommonAlertSchema'),
        data: fc.jsonValue({ maxDepth: 4 }),
      }),
      fc.record({ schemaId: fc.constant('AzureMonitorMetricAlert'), data: fc.jsonValue({ maxDepth: 4 }) }),
      fc.record({ status: fc.constantFrom('Activated', 'Resolved'), context: fc.jsonValue({ maxDepth: 4 }) }),
    );
    fc.assert(
      fc.property(shaped, (value) => {
        expect(wellFormed(parseAlert(value))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throw on mutated fixtures; a parsed event on a non-VM target never classifies as capture', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fixtures),
        fc.array(fc.nat(40), { minLength: 1, maxLength: 6 }),
        nasty,
        (fixture, steps, replacement) => {
          const result = parseAlert(mutate(fixture, steps, replacement));
          expect(wellFormed(result)).toBe(true);
          if (!result.ok) return;
          const classification = classifyAlert(result.event, { allowedScopes: ['*'] });
          const capturable = result.event.targets.some(
            (t) => isVirtualMachineId(t) || isScaleSetInstanceId(t) || isScaleSetId(t),
          );
          if (!capturable) expect(['ignore']).toContain(classification.action);
          if (classification.action === 'capture') expect(result.event.monitorCondition).toBe('Fired');
        },
      ),
      { numRuns: 1500 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never capture on random target ids unless the id is a VM or scale-set instance', () => {
    const segment = fc.constantFrom(
      'subscriptions',
      'resourceGroups',
      'providers',
      'Microsoft.Compute',
      'virtualMachines',
      'virtualMachineScaleSets',
      'Microsoft.Storage',
      'storageAccounts',
      'x',
      '3',
      '..',
      '',
    );
    const id = fc.array(segment, { maxLength: 10 }).map((parts) => `/${parts.join('/')}`);
    const base = parseAlert(loadJson(ownAlertsDir, 'common-metric-static-vm-fired.json'));
    if (!base.ok) throw new Error('the VM fixture must parse');
    fc.assert(
      fc.property(
        fc.array(id, { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('VMName', 'InstanceId', 'x'), fc.string()),
        (targets, dimensions) => {
          const classification = classifyAlert(
            { ...base.event, targets, dimensions },
            { allowedScopes: ['*'] },
          );
          if (classification.action === 'capture') {
            const t = classification.target;
            const id = t.kind === 'vm' ? t.vmId : t.scaleSetId;
            expect(targets.some((x) => x === id || x.startsWith(`${id}/`))).toBe(true);
            expect(isVirtualMachineId(id) || isScaleSetId(id)).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
