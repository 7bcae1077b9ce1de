import type { PacketCapture } from '@azure/arm-network';
import type { FullOperationResponse } from '@azure/core-client';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/index.js';
import { FAST_POLL, networkClient, shapeDifferences, startTestEmulator } from './emulatorFixture.js';

const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/network-watcher');

interface Example {
  parameters: Record<string, unknown> & { 'api-version': string; subscriptionId: string };
  responses: Record<string, { body?: unknown; headers?: Record<string, string> }>;
}

function example(name: string): Example {
  return JSON.parse(readFileSync(path.join(EXAMPLES, `${name}.json`), 'utf8')) as Example;
}

const SUB = '00000000-0000-0000-0000-000000000000';
const VM1 = `/subscriptions/${SUB}/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/vm1`;
const NW1 = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Network/networkWatchers/nw1`;

let emulator: Emulator;
beforeAll(async () => {
  // The examples are about wire shapes: a clock that moves only when a test advances it, and operations that end
  // at once, so no capture reaches its time limit (and changes its storagePath) while an example is compared.
  // Timing is covered by realisticTiming.test.ts.
  emulator = await startTestEmulator({ timeScale: 1, retryAfterSeconds: 0, captureStartSeconds: 0 });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

/** Collects every raw response the SDK saw during one call. */
function recorder(): { responses: FullOperationResponse[]; onResponse: (r: FullOperationResponse) => void } {
  const responses: FullOperationResponse[] = [];
  return { responses, onResponse: (r) => responses.push(r) };
}

/** The JSON the emulator put on the wire (the SDK's parsedBody is already flattened and typed). */
function wire(response: FullOperationResponse | undefined): unknown {
  return response?.bodyAsText ? (JSON.parse(response.bodyAsText) as unknown) : undefined;
}

function registerCaptureWorld(): void {
  emulator.registerVm({ id: VM1, location: 'eastus' });
  emulator.registerWatcher({ id: NW1, location: 'eastus' });
}

function createParameters(ex: Example): PacketCapture {
  // The SDK flattens `properties` (x-ms-client-flatten), so its input is the example's properties object.
  return (ex.parameters.parameters as { properties: PacketCapture }).properties;
}

describe('spec examples replayed through @azure/arm-network', () => {
  it('NetworkWatcherListAll answers the example page', async () => {
    const ex = example('NetworkWatcherListAll');
    emulator.registerWatcher({
      id: '/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkWatchers/nw1',
      location: 'eastus',
    });
    emulator.registerWatcher({
      id: '/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkWatchers/nw2',
      location: 'westus',
    });
    const client = networkClient(emulator, ex.parameters.subscriptionId, {
      apiVersion: ex.parameters['api-version'],
    });
    const rec = recorder();
    const watchers = [];
    for await (const w of client.networkWatchers.listAll({ onResponse: rec.onResponse })) watchers.push(w);

    expect(watchers.map((w) => [w.name, w.location])).toEqual([
      ['nw1', 'eastus'],
      ['nw2', 'westus'],
    ]);
    expect(shapeDifferences(wire(rec.responses[0]), ex.responses['200']!.body)).toEqual([]);
  });

  it('NetworkWatcherList answers the example page for the resource group', async () => {
    const ex = example('NetworkWatcherList');
    emulator.registerWatcher({ id: NW1, location: 'eastus' });
    emulator.registerWatcher({ id: NW1.replace(/nw1$/, 'nw2'), location: 'eastus' });
    emulator.registerVm({ id: VM1, location: 'eastus' }); // adds NetworkWatcher_eastus in NetworkWatcherRG, not in rg1
    const client = networkClient(emulator, SUB, { apiVersion: ex.parameters['api-version'] });
    const rec = recorder();
    const watchers = [];
    for await (const w of client.networkWatchers.list('rg1', { onResponse: rec.onResponse }))
      watchers.push(w);

    expect(watchers.map((w) => w.name)).toEqual(['nw1', 'nw2']);
    expect(wire(rec.responses[0])).toEqual(expect.objectContaining({ value: expect.any(Array) as unknown }));
    const expected = ex.responses['200']!.body as { value: Array<Record<string, unknown>> };
    const actual = wire(rec.responses[0]) as { value: Array<Record<string, unknown>> };
    expect(shapeDifferences(actual, expected)).toEqual([]);
    expect(actual.value.map(({ etag: _e, ...rest }) => rest)).toEqual(
      expected.value.map(({ etag: _e, ...rest }) => rest),
    );
  });

  it('PacketCaptures_Create answers 201 with the example body and Azure-AsyncOperation, and the poller completes', async () => {
    const ex = example('NetworkWatcherPacketCaptureCreate');
    registerCaptureWorld();
    const client = networkClient(emulator, SUB, { apiVersion: ex.parameters['api-version'] });
    const rec = recorder();
    const result = await client.packetCaptures.beginCreateAndWait('rg1', 'nw1', 'pc1', createParameters(ex), {
      ...FAST_POLL,
      onResponse: rec.onResponse,
    });

    const initial = rec.responses[0]!;
    expect(initial.status).toBe(201);
    expect(wire(initial)).toEqual(ex.responses['201']!.body);
    expect(initial.headers.get('azure-asyncoperation')).toMatch(
      new RegExp(
        `^${emulator.url}/subscriptions/${SUB}/providers/Microsoft.Network/locations/eastus/operations/`,
      ),
    );
    expect(initial.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(result.provisioningState).toBe('Succeeded');
    expect(result.name).toBe('pc1');
  });

  it('PacketCaptures_Get answers the example fields', async () => {
    const ex = example('NetworkWatcherPacketCaptureGet');
    registerCaptureWorld();
    const client = networkClient(emulator, SUB, { apiVersion: ex.parameters['api-version'] });
    await client.packetCaptures.beginCreateAndWait(
      'rg1',
      'nw1',
      'pc1',
      createParameters(example('NetworkWatcherPacketCaptureCreate')),
      FAST_POLL,
    );
    const rec = recorder();
    const got = await client.packetCaptures.get('rg1', 'nw1', 'pc1', { onResponse: rec.onResponse });

    const expected = ex.responses['200']!.body as { properties: Record<string, unknown> };
    const actual = wire(rec.responses[0]) as { properties: Record<string, unknown>; etag: string };
    expect(shapeDifferences(actual, expected)).toEqual([]);
    expect({ ...actual, etag: 'x', properties: { ...actual.properties, provisioningState: 'x' } }).toEqual({
      ...expected,
      etag: 'x',
      properties: { ...expected.properties, provisioningState: 'x' },
    });
    expect(got.target).toBe(VM1);
  });

  it('PacketCaptures_List answers both example captures', async () => {
    const ex = example('NetworkWatcherPacketCapturesList');
    registerCaptureWorld();
    const client = networkClient(emulator, SUB, { apiVersion: ex.parameters['api-version'] });
    const expected = ex.responses['200']!.body as {
      value: Array<{ name: string; properties: PacketCapture }>;
    };
    for (const pc of expected.value) {
      const { provisioningState: _p, ...properties } = pc.properties as PacketCapture & {
        provisioningState?: string;
      };
      await client.packetCaptures.beginCreateAndWait('rg1', 'nw1', pc.name, properties, FAST_POLL);
    }
    const rec = recorder();
    const names = [];
    for await (const pc of client.packetCaptures.list('rg1', 'nw1', { onResponse: rec.onResponse }))
      names.push(pc.name);

    expect(names).toEqual(['pc1', 'pc2']);
    expect(shapeDifferences(wire(rec.responses[0]), expected)).toEqual([]);
  });

  it('PacketCaptures_GetStatus answers 202 + Location, then the example status once stopped', async () => {
    const ex = example('NetworkWatcherPacketCaptureQueryStatus');
    registerCaptureWorld();
    const client = networkClient(emulator, SUB, { apiVersion: ex.parameters['api-version'] });
    await client.packetCaptures.beginCreateAndWait(
      'rg1',
      'nw1',
      'pc1',
      createParameters(example('NetworkWatcherPacketCaptureCreate')),
      FAST_POLL,
    );
    await emulator.advanceClock(200); // past timeLimitInSeconds (100)
    const rec = recorder();
    const status = await client.packetCaptures.beginGetStatusAndWait('rg1', 'nw1', 'pc1', {
      ...FAST_POLL,
      onResponse: rec.onResponse,
    });

    expect(rec.responses[0]!.status).toBe(202);
    expect(rec.responses[0]!.headers.get('location')).toMatch(
      new RegExp(
        `^${emulator.url}/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Network/networkWatchers/nw1/operationResults/`,
      ),
    );
    expect(shapeDifferences(wire(rec.responses[0]), ex.responses['202']!.body)).toEqual([]);
    const final = rec.responses.at(-1)!;
    expect(final.status).toBe(200);
    expect(shapeDifferences(wire(final), ex.responses['200']!.body)).toEqual([]);
    expect(status).toMatchObject({
      name: 'pc1',
      packetCaptureStatus: 'Stopped',
      stopReason: 'TimeExceeded',
      packetCaptureError: [],
    });
  });

  it('PacketCaptures_Stop answers 202 + Location and the poller completes', async () => {
    const ex = example('NetworkWatcherPacketCaptureStop');
    registerCaptureWorld();
    const client = networkClient(emulator, SUB, { apiVersion: ex.parameters['api-version'] });
    await client.packetCaptures.beginCreateAndWait(
      'rg1',
      'nw1',
      'pc1',
      createParameters(example('NetworkWatcherPacketCaptureCreate')),
      FAST_POLL,
    );
    const rec = recorder();
    await client.packetCaptures.beginStopAndWait('rg1', 'nw1', 'pc1', {
      ...FAST_POLL,
      onResponse: rec.onResponse,
    });

    expect(rec.responses[0]!.status).toBe(202);
    expect(rec.responses[0]!.headers.get('location')).toContain('/operationResults/');
    expect(rec.responses.at(-1)!.status).toBe(200);
    expect(emulator.captures()[0]).toMatchObject({ status: 'Stopped', stopReason: 'Manual' });
  });

  it('PacketCaptures_Delete answers 202 + Location, the poller completes and the capture is gone', async () => {
    const ex = example('NetworkWatcherPacketCaptureDelete');
    registerCaptureWorld();
    const client = networkClient(emulator, SUB, { apiVersion: ex.parameters['api-version'] });
    await client.packetCaptures.beginCreateAndWait(
      'rg1',
      'nw1',
      'pc1',
      createParameters(example('NetworkWatcherPacketCaptureCreate')),
      FAST_POLL,
    );
    const rec = recorder();
    await client.packetCaptures.beginDeleteAndWait('rg1', 'nw1', 'pc1', {
      ...FAST_POLL,
      onResponse: rec.onResponse,
    });

    expect(rec.responses[0]!.status).toBe(202);
    expect(rec.responses[0]!.headers.get('location')).toContain('/operationResults/');
    expect(rec.responses.at(-1)!.status).toBe(204);
    await expect(client.packetCaptures.get('rg1', 'nw1', 'pc1')).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
  });

  it('PacketCaptures_Delete of a capture that does not exist answers 204', async () => {
    registerCaptureWorld();
    const client = networkClient(emulator, SUB);
    const rec = recorder();
    await client.packetCaptures.beginDeleteAndWait('rg1', 'nw1', 'nothing', {
      ...FAST_POLL,
      onResponse: rec.onResponse,
    });
    expect(rec.responses.map((r) => r.status)).toEqual([204]);
  });
});
