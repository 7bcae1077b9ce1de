import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppHarness, type AppHarness } from '../../support/appHarness.js';
import { projectFixture, resetApp, sharedFixture } from './webhookTestSupport.js';

/**
 * Property: whatever body arrives (random JSON, or a real alert with parts deleted or replaced), the webhook
 * never answers 5xx (the ledger is up, so not even the deliberate 503), and an alert it does not capture for
 * never leads to a capture.
 */

const FIXTURES = [
  ...[
    'common-testaction-metric-static-fired.json',
    'common-metric-static-resolved.json',
    'common-testaction-log-v2-fired.json',
    'metricalert-noncommon-static.json',
    'classic-metric.json',
  ].map(sharedFixture),
  ...[
    'classic-metric-vm.json',
    'common-activitylog-administrative-vm.json',
    'common-log-v2-vm-fired.json',
    'common-metric-dynamic-vm-fired.json',
    'common-metric-multi-target-fired.json',
    'common-metric-static-vm-fired.json',
    'common-metric-vmss-vmname-fired.json',
    'metricalert-noncommon-vm.json',
  ].map(projectFixture),
];

const FIXTURE_SUB =
  '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/prod-rg/providers/Microsoft.Compute';

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness();
  // Every scope allowed and the fixtures' VMs registered, so that a mutated alert that is still capturable captures.
  resetApp(h, { ALLOWED_SCOPES: '*' });
  for (const vm of ['web-01', 'api-02', 'db-01', 'db-02', 'db-03']) {
    h.emulator.registerVm({ id: `${FIXTURE_SUB}/virtualMachines/${vm}`, location: 'westeurope' });
  }
  h.emulator.registerVm({
    id: `${FIXTURE_SUB}/virtualMachineScaleSets/web-vmss/virtualMachines/3`,
    location: 'westeurope',
  });
});
afterAll(() => h.stop());

type Json = unknown;
type Path = Array<string | number>;

/** Every path into a JSON value (objects and arrays), the root excluded. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: Array<[string | number, Json]> = Array.isArray(value)
    ? value.map((v, i) => [i, v] as [number, Json])
    : Object.entries(value as Record<string, Json>);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
}

/** A copy of `value` with the node at `path` deleted (`replacement` undefined) or replaced. */
function mutate(value: Json, path: Path, replacement: { with?: Json }): Json {
  if (path.length === 0) return replacement.with;
  const [head, ...rest] = path as [string | number, ...Path];
  if (Array.isArray(value)) {
    const copy = [...(value as Json[])];
    if (rest.length === 0 && !('with' in replacement)) copy.splice(head as number, 1);
    else copy[head as number] = mutate(copy[head as number], rest, replacement);
    return copy;
  }
  const copy = { ...(value as Record<string, Json>) };
  if (rest.length === 0 && !('with' in replacement)) delete copy[head as string];
  else copy[head as string] = mutate(copy[head as string], rest, replacement);
  return copy;
}

const smallJson = fc.jsonValue({ maxDepth: 3 });

/** Replacement values that exercise the parser's edges: wrong types, empty and odd strings, huge numbers. */
const oddValue = fc.oneof(
  smallJson,
  fc.constantFrom(
    '',
    ' ',
    'Fired',
    'Resolved',
    'Activated',
    'Sev0',
    'null',
    '/subscriptions/',
    '9'.repeat(400),
  ),
  fc.constantFrom(null, 0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, true, [], {}),
);

/** A fixture as a new alert: a fresh alert id (common schema) or timestamp (the others derive their id from it). */
function asNewAlert(fixture: Record<string, unknown>, uuid: string, second: number): Json {
  const body = structuredClone(fixture) as {
    data?: { essentials?: { alertId?: string }; context?: { timestamp?: string } };
    context?: { timestamp?: string };
  };
  const timestamp = new Date(Date.UTC(2026, 0, 1) + second * 1000).toISOString();
  if (body.data?.essentials)
    body.data.essentials.alertId = `/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/${uuid}`;
  if (body.data?.context) body.data.context.timestamp = timestamp;
  if (body.context) body.context.timestamp = timestamp;
  return body;
}

const mutatedFixture = fc
  .tuple(
    fc.constantFrom(...FIXTURES),
    fc.uuid(),
    fc.nat({ max: 10_000_000 }),
    fc.array(fc.tuple(fc.nat(), fc.boolean(), oddValue), { minLength: 1, maxLength: 3 }),
  )
  .map(([fixture, uuid, second, mutations]) => {
    let body: Json = asNewAlert(fixture, uuid, second);
    for (const [pick, remove, value] of mutations) {
      const paths = pathsOf(body);
      if (paths.length === 0) break;
      body = mutate(body, paths[pick % paths.length] as Path, remove ? {} : { with: value });
    }
    return body;
  });

async function checkOne(body: Json): Promise<void> {
  const capturesBefore = new Set(h.emulator.captures().map((c) => c.id));
  const requestsBefore = h.emulator.requests().length;

  const res = await h.post(body);

  const context = JSON.stringify({ status: res.status, body: res.body }).slice(0, 400);
  expect(res.status >= 500 && res.status <= 599, context).toBe(false);
  const newCaptures = h.emulator.captures().filter((c) => !capturesBefore.has(c.id));
  const capturing = res.status === 202 || res.body.outcome === 'alreadyCapturing';
  if (!capturing) expect(newCaptures, context).toEqual([]);
  if (res.status >= 400 || res.body.outcome === 'ignored' || res.body.outcome === 'duplicate') {
    expect(h.emulator.requests().length - requestsBefore, context).toBe(0);
  }
  for (const c of newCaptures) expect(c.target, context).toMatch(/\/virtualMachine(ScaleSet)?s\//i);
}

describe('any body posted to the webhook', () => {
  it('random JSON values: never 5xx, never a capture', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (body) => {
        const before = h.emulator.captures().length;
        await checkOne(body);
        expect(h.emulator.captures().length).toBe(before);
      }),
      { numRuns: 200 },
    );
  });

  it('published and project alerts with parts deleted or replaced: never 5xx, a capture only when captured', async () => {
    await fc.assert(fc.asyncProperty(mutatedFixture, checkOne), { numRuns: 250 });
  });
});
