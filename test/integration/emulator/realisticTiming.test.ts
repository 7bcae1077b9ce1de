import type { NetworkManagementClient, PacketCapture } from '@azure/arm-network';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  CAPTURE_CONTAINER,
  CAPTURE_START_SECONDS,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_UPLOAD_DELAY_SECONDS,
  type Emulator,
} from '../../emulator/index.js';
import { bearer, FAST_POLL, networkClient, rawRequest, startTestEmulator } from './emulatorFixture.js';

/**
 * What makes the emulator slow the way Azure is: Retry-After on every long-running operation, operations that stay
 * in progress that long, refusals while one runs (AnotherOperationInProgress), files that reach storage after the
 * stop, and failed creates that stay visible. Time scale 1: nothing moves unless a test advances the clock.
 */
const SUB = '88888888-0000-0000-0000-000000000000';
const VM = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-01`;
const STORAGE_ID = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Storage/storageAccounts/store1`;
const NW = { rg: 'NetworkWatcherRG', name: 'NetworkWatcher_westeurope' };
const PC = `/subscriptions/${SUB}/resourceGroups/${NW.rg}/providers/Microsoft.Network/networkWatchers/${NW.name}/packetCaptures`;
const V = 'api-version=2025-05-01';

let emulator: Emulator;
let client: NetworkManagementClient;
let auth: Record<string, string>;
beforeAll(async () => {
  emulator = await startTestEmulator({
    timeScale: 1,
    blobConnectionString: inject('azuriteConnectionString'),
  });
  client = networkClient(emulator, SUB, { maxRetries: 0 });
  auth = await bearer(emulator);
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.configure({
    timeScale: 1,
    retryAfterSeconds: 10,
    uploadDelaySeconds: 10,
    missingAgent: 'captureError',
  });
  emulator.registerVm({ id: VM, location: 'westeurope' });
});

const params = (overrides: Partial<PacketCapture> = {}): PacketCapture => ({
  target: VM,
  storageLocation: { storageId: STORAGE_ID },
  timeLimitInSeconds: 60,
  ...overrides,
});

/** Creates a capture and lets its create operation end. */
async function running(name: string): Promise<void> {
  await client.packetCaptures.beginCreate(NW.rg, NW.name, name, params());
  await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
}

function put(name: string) {
  return rawRequest(emulator, `${PC}/${name}?${V}`, {
    method: 'PUT',
    headers: auth,
    body: { properties: params() },
  });
}

/** GET on an operation URL the emulator answered (absolute, with its api-version). */
function follow(url: string) {
  return rawRequest(emulator, url.slice(emulator.url.length), { headers: auth });
}

describe('Retry-After', () => {
  it('answers the realistic 10 s by default on the create, stop, delete and queryStatus answers', async () => {
    const created = await put('pc');
    expect(created).toMatchObject({ status: 201, headers: { 'retry-after': '10' } });
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
    for (const [method, suffix] of [
      ['POST', '/queryStatus'],
      ['POST', '/stop'],
    ] as const) {
      const answer = await rawRequest(emulator, `${PC}/pc${suffix}?${V}`, { method, headers: auth });
      expect(answer).toMatchObject({ status: 202, headers: { 'retry-after': '10' } });
    }
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
    const deleted = await rawRequest(emulator, `${PC}/pc?${V}`, { method: 'DELETE', headers: auth });
    expect(deleted).toMatchObject({ status: 202, headers: { 'retry-after': '10' } });
    // The operation URL answers it again while the operation runs.
    const polled = await follow(deleted.headers.location as string);
    expect(polled).toMatchObject({ status: 202, headers: { 'retry-after': '10' } });
  });

  it('scales the header like the clock (emulated seconds to wall-clock seconds, rounded)', async () => {
    emulator.configure({ retryAfterSeconds: 30, timeScale: 4 });
    expect((await put('pc')).headers['retry-after']).toBe('8'); // 30 / 4 = 7.5
    emulator.configure({ timeScale: 1000 });
    expect((await put('pc2')).headers['retry-after']).toBe('0');
  });

  it('is honoured by the SDK poller: it polls the stop no sooner than Retry-After says', async () => {
    await running('pc');
    emulator.configure({ timeScale: 10 }); // 10 emulated seconds = 1 s: Retry-After: 1
    await client.packetCaptures.beginStopAndWait(NW.rg, NW.name, 'pc', FAST_POLL);
    const polls = emulator.requests().filter((r) => r.method === 'GET' && /operationResults/.test(r.path));
    // The SDK's first polls come at its own interval; once it has read Retry-After: 1 it waits that second,
    // so the poll that finds the operation done comes at least a second after the 202 before it.
    const done = polls.findIndex((p) => p.status === 200);
    expect(done).toBeGreaterThanOrEqual(1);
    expect(polls[done - 1]!.status).toBe(202);
    expect(polls[done]!.startedAt - polls[done - 1]!.endedAt).toBeGreaterThanOrEqual(990);
  });
});

describe('operations take retryAfterSeconds', () => {
  it('the create operation is InProgress until then, Succeeded after', async () => {
    const created = await put('pc');
    const op = created.headers['azure-asyncoperation'] as string;
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS - 1);
    expect((await follow(op)).body).toMatchObject({ status: 'InProgress' });
    expect((await client.packetCaptures.get(NW.rg, NW.name, 'pc')).provisioningState).toBe('Updating');
    await emulator.advanceClock(1);
    expect((await follow(op)).body).toMatchObject({ status: 'Succeeded' });
    expect((await client.packetCaptures.get(NW.rg, NW.name, 'pc')).provisioningState).toBe('Succeeded');
  });

  it('a stop is accepted at once and its operation ends retryAfterSeconds later', async () => {
    await running('pc');
    const stop = await rawRequest(emulator, `${PC}/pc/stop?${V}`, { method: 'POST', headers: auth });
    expect(stop.status).toBe(202);
    expect(emulator.captures()[0]).toMatchObject({ status: 'Stopped', stopReason: 'Manual' });
    expect((await follow(stop.headers.location as string)).status).toBe(202);
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
    expect((await follow(stop.headers.location as string)).status).toBe(200);
  });

  it('a deleted capture stays listed as Deleting until its operation ends, then is gone', async () => {
    await running('pc');
    const deleting = await client.packetCaptures.beginDelete(NW.rg, NW.name, 'pc', FAST_POLL);
    expect((await client.packetCaptures.get(NW.rg, NW.name, 'pc')).provisioningState).toBe('Deleting');
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
    await deleting.pollUntilDone();
    await expect(client.packetCaptures.get(NW.rg, NW.name, 'pc')).rejects.toMatchObject({ statusCode: 404 });
    expect((await put('pc')).status).toBe(201);
  });
});

describe('409 AnotherOperationInProgress', () => {
  it('refuses a stop or a delete while a delete runs, quoting the operation URL', async () => {
    await running('pc');
    await client.packetCaptures.beginDelete(NW.rg, NW.name, 'pc');
    await expect(client.packetCaptures.beginStop(NW.rg, NW.name, 'pc')).rejects.toMatchObject({
      statusCode: 409,
      code: 'AnotherOperationInProgress',
      message: expect.stringMatching(
        /^Another operation on this or dependent resource is in progress\. To retrieve status of the operation use uri: https:\/\/127\.0\.0\.1:\d+\/subscriptions\/.+\/providers\/Microsoft\.Network\/locations\/westeurope\/operations\/[0-9a-f-]{36}\?api-version=/,
      ) as unknown,
    });
    await expect(client.packetCaptures.beginDelete(NW.rg, NW.name, 'pc')).rejects.toMatchObject({
      statusCode: 409,
      code: 'AnotherOperationInProgress',
    });
    // The name cannot be reused until the delete ends.
    expect((await put('pc')).body).toMatchObject({ error: { code: 'AnotherOperationInProgress' } });
  });

  it('refuses a delete while a stop runs, and accepts it once the stop ended', async () => {
    await running('pc');
    await client.packetCaptures.beginStop(NW.rg, NW.name, 'pc');
    await expect(client.packetCaptures.beginDelete(NW.rg, NW.name, 'pc')).rejects.toMatchObject({
      statusCode: 409,
      code: 'AnotherOperationInProgress',
    });
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
    await client.packetCaptures.beginDelete(NW.rg, NW.name, 'pc');
    expect(emulator.captures()[0]).toMatchObject({ provisioningState: 'Deleting' });
  });

  it('refuses a stop while the create operation runs', async () => {
    await client.packetCaptures.beginCreate(NW.rg, NW.name, 'pc', params());
    await emulator.advanceClock(CAPTURE_START_SECONDS);
    await expect(client.packetCaptures.beginStop(NW.rg, NW.name, 'pc')).rejects.toMatchObject({
      statusCode: 409,
      code: 'AnotherOperationInProgress',
    });
    expect(emulator.captures()[0]).toMatchObject({ status: 'Running' });
  });

  it('logs the refusal with its code', async () => {
    await running('pc');
    await client.packetCaptures.beginStop(NW.rg, NW.name, 'pc');
    await expect(client.packetCaptures.beginStop(NW.rg, NW.name, 'pc')).rejects.toThrow();
    expect(emulator.requests().filter((r) => r.errorCode === 'AnotherOperationInProgress')).toHaveLength(1);
  });
});

describe('the file reaches storage uploadDelaySeconds after the stop', () => {
  async function blobExists(storagePath: string): Promise<boolean> {
    const service = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
    const container = service.getContainerClient(CAPTURE_CONTAINER);
    return container.getBlobClient(storagePath.slice(container.url.length + 1)).exists();
  }

  it('is Stopped with a storagePath before the blob exists, and the blob appears at the delay', async () => {
    emulator.configure({ uploadDelaySeconds: 20 });
    await running('pc'); // 10 s after the PUT; it started at 2 s and stops at its 60 s limit, at 62 s
    await emulator.advanceClock(52);
    const stopped = emulator.captures()[0]!;
    expect(stopped).toMatchObject({ status: 'Stopped', stopReason: 'TimeExceeded' });
    expect(stopped.uploadedAt).toBeUndefined();
    const storagePath = (await client.packetCaptures.get(NW.rg, NW.name, 'pc')).storageLocation!.storagePath!;
    expect(await blobExists(storagePath)).toBe(false);
    await emulator.advanceClock(19);
    expect(await blobExists(storagePath)).toBe(false);
    const beforeUpload = emulator.now();
    await emulator.advanceClock(1);
    expect(await blobExists(storagePath)).toBe(true);
    expect(emulator.captures()[0]!.uploadedAt).toBeGreaterThanOrEqual(beforeUpload);
  });

  it('with fileNameSkewMs, writes the file under the same folder with another name than storagePath', async () => {
    emulator.configure({ fileNameSkewMs: 1_500 });
    try {
      await running('pc');
      await emulator.advanceClock(60 + DEFAULT_UPLOAD_DELAY_SECONDS);
      const capture = emulator.captures()[0]!;
      const reported = (await client.packetCaptures.get(NW.rg, NW.name, 'pc')).storageLocation!.storagePath!;
      expect(reported).toBe(capture.storagePath);
      expect(await blobExists(reported)).toBe(false);
      const folder = capture.uploadedBlobPath!.slice(0, capture.uploadedBlobPath!.lastIndexOf('/') + 1);
      expect(reported).toContain(`/${folder}`);
      expect(reported.endsWith(capture.uploadedBlobPath!)).toBe(false);
      const service = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
      const names = [];
      for await (const b of service.getContainerClient(CAPTURE_CONTAINER).listBlobsFlat({ prefix: folder })) {
        names.push(b.name);
      }
      expect(names).toContain(capture.uploadedBlobPath);
    } finally {
      emulator.configure({ fileNameSkewMs: 0 });
    }
  });

  it('still uploads the file when the capture resource is deleted before the upload', async () => {
    await running('pc');
    await emulator.advanceClock(60);
    const storagePath = emulator.captures()[0]!.storagePath!;
    await client.packetCaptures.beginDelete(NW.rg, NW.name, 'pc');
    await emulator.advanceClock(DEFAULT_UPLOAD_DELAY_SECONDS);
    expect(emulator.captures()).toEqual([]);
    expect(await blobExists(storagePath)).toBe(true);
  });
});

describe('failed creates stay, as Azure leaves them', () => {
  it('operationFailed: the operation ends Failed with an ARM error and the capture stays, provisioningState Failed', async () => {
    emulator.addFault({ method: 'PUT', pathPattern: '/packetCaptures/', kind: 'operationFailed', count: 1 });
    const created = await put('pc');
    expect(created.status).toBe(201);
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
    expect((await follow(created.headers['azure-asyncoperation'] as string)).body).toMatchObject({
      status: 'Failed',
      error: { code: 'InternalServerError', message: expect.stringContaining("'pc'") as unknown },
    });
    const listed = [];
    for await (const c of client.packetCaptures.list(NW.rg, NW.name)) listed.push(c);
    expect(listed).toMatchObject([{ name: 'pc', provisioningState: 'Failed' }]);
    const status = await client.packetCaptures.beginGetStatusAndWait(NW.rg, NW.name, 'pc', FAST_POLL);
    expect(status).toMatchObject({ packetCaptureStatus: 'Error', packetCaptureError: ['InternalError'] });
    // It holds its slot and its name until someone deletes it.
    expect((await put('pc')).body).toMatchObject({ error: { code: 'PacketCaptureAlreadyExists' } });
  });

  it('the SDK create poller rejects with the operation error', async () => {
    emulator.configure({ timeScale: 1000 });
    emulator.addFault({ method: 'PUT', pathPattern: '/packetCaptures/', kind: 'operationFailed', count: 1 });
    await expect(
      client.packetCaptures.beginCreateAndWait(NW.rg, NW.name, 'pc', params(), FAST_POLL),
    ).rejects.toThrow(/internal error/);
    expect(emulator.captures()).toMatchObject([{ provisioningState: 'Failed', status: 'Error' }]);
  });

  it("missingAgent 'createFails': a capture on a VM without a ready agent fails its create operation", async () => {
    emulator.configure({ missingAgent: 'createFails' });
    const bare = VM.replace(/web-01$/, 'bare-01');
    emulator.registerVm({ id: bare, location: 'westeurope', agentState: 'Transitioning' });
    const created = await rawRequest(emulator, `${PC}/pc?${V}`, {
      method: 'PUT',
      headers: auth,
      body: { properties: params({ target: bare }) },
    });
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
    expect((await follow(created.headers['azure-asyncoperation'] as string)).body).toMatchObject({
      status: 'Failed',
      error: { code: 'NetworkWatcherAgentNotReady' },
    });
    expect(emulator.captures()[0]).toMatchObject({ provisioningState: 'Failed', errors: ['AgentStopped'] });
  });
});

describe('POST /_emulator/config', () => {
  const config = (body: unknown) => rawRequest(emulator, '/_emulator/config', { method: 'POST', body });

  it('takes retryAfterSeconds and uploadDelaySeconds and answers the settings', async () => {
    const answer = await config({ retryAfterSeconds: 3, uploadDelaySeconds: 25 });
    expect(answer).toMatchObject({ status: 200, body: { retryAfterSeconds: 3, uploadDelaySeconds: 25 } });
    expect((await put('pc')).headers['retry-after']).toBe('3');
  });

  it('refuses an unknown field or a bad value, naming it, and changes nothing', async () => {
    const unknown = await config({ retryAfter: 5 });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('retryAfter');
    const bad = await config({ retryAfterSeconds: 2, uploadDelaySeconds: -1 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('uploadDelaySeconds');
    const bad2 = await config({ missingAgent: 'sometimes' });
    expect(JSON.stringify(bad2.body)).toContain('missingAgent');
    expect((await put('pc')).headers['retry-after']).toBe('10');
  });
});
