import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/index.js';
import { bearer, FAST_POLL, networkClient, rawRequest, startTestEmulator } from './emulatorFixture.js';

const SUB = '33333333-0000-0000-0000-000000000000';
const VM = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`;
const STORAGE_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/store1`;
const NW = { rg: 'NetworkWatcherRG', name: 'NetworkWatcher_eastus' };
const LIST_ALL = /\/providers\/Microsoft\.Network\/networkWatchers$/i;

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startTestEmulator({ pageSize: 2 });
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.registerVm({ id: VM, location: 'eastus' });
});

async function listAllNames(client = networkClient(emulator, SUB)): Promise<string[]> {
  const names: string[] = [];
  for await (const w of client.networkWatchers.listAll()) names.push(w.name!);
  return names;
}

function listAllStatuses(): number[] {
  return emulator
    .requests()
    .filter((r) => LIST_ALL.test(r.path))
    .map((r) => r.status);
}

describe('fault injection as the SDK sees it', () => {
  it('throttle: the SDK waits Retry-After and retries, the call succeeds and the log shows the 429', async () => {
    emulator.addFault({ pathPattern: LIST_ALL.source, kind: 'throttle', count: 1, retryAfterSeconds: 0 });
    expect(await listAllNames()).toEqual(['NetworkWatcher_eastus']);
    expect(listAllStatuses()).toEqual([429, 200]);
    expect(emulator.requests()[0]).toMatchObject({ errorCode: 'TooManyRequests' });
  });

  it('throttle: the 429 carries Retry-After and is surfaced once the SDK runs out of retries', async () => {
    emulator.addFault({ pathPattern: LIST_ALL.source, kind: 'throttle', retryAfterSeconds: 0 });
    await expect(listAllNames(networkClient(emulator, SUB, { maxRetries: 1 }))).rejects.toMatchObject({
      statusCode: 429,
      code: 'TooManyRequests',
    });
  });

  it('error500: retried by the SDK, the call succeeds after one failure', async () => {
    emulator.addFault({ pathPattern: LIST_ALL.source, kind: 'error500', count: 1 });
    expect(await listAllNames()).toEqual(['NetworkWatcher_eastus']);
    expect(listAllStatuses()).toEqual([500, 200]);
  });

  it('error500: surfaced with its ARM code when it persists', async () => {
    emulator.addFault({ pathPattern: LIST_ALL.source, kind: 'error500' });
    await expect(listAllNames(networkClient(emulator, SUB, { maxRetries: 1 }))).rejects.toMatchObject({
      statusCode: 500,
      code: 'InternalServerError',
    });
    expect(listAllStatuses()).toEqual([500, 500]);
  });

  it('error503: retried by the SDK, the call succeeds after one failure', async () => {
    emulator.addFault({ pathPattern: LIST_ALL.source, kind: 'error503', count: 1 });
    expect(await listAllNames()).toEqual(['NetworkWatcher_eastus']);
    expect(listAllStatuses()).toEqual([503, 200]);
  });

  it('reset: the SDK retries the dropped connection and the log shows status 0', async () => {
    emulator.addFault({ pathPattern: LIST_ALL.source, kind: 'reset', count: 1 });
    expect(await listAllNames()).toEqual(['NetworkWatcher_eastus']);
    expect(listAllStatuses()).toEqual([0, 200]);
  });

  it('reset: surfaced as a connection error when it persists', async () => {
    emulator.addFault({ pathPattern: LIST_ALL.source, kind: 'reset' });
    await expect(listAllNames(networkClient(emulator, SUB, { maxRetries: 0 }))).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|socket hang up/i) as unknown,
    });
  });

  it('slow: answers normally after the delay', async () => {
    emulator.addFault({ pathPattern: LIST_ALL.source, kind: 'slow', delayInMs: 150, count: 1 });
    const started = Date.now();
    expect(await listAllNames()).toEqual(['NetworkWatcher_eastus']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    const [entry] = emulator.requests();
    expect(entry!.endedAt - entry!.startedAt).toBeGreaterThanOrEqual(150);
  });

  it('latencyInMs is added to every ARM request', async () => {
    emulator.configure({ latencyInMs: 80 });
    try {
      await listAllNames();
      const [entry] = emulator.requests();
      expect(entry!.endedAt - entry!.startedAt).toBeGreaterThanOrEqual(80);
    } finally {
      emulator.configure({ latencyInMs: 0 });
    }
  });

  it('operationFailed: the PUT is accepted, the create poller rejects and the capture ends Failed', async () => {
    emulator.addFault({ method: 'PUT', pathPattern: '/packetCaptures/', kind: 'operationFailed', count: 1 });
    const client = networkClient(emulator, SUB);
    await expect(
      client.packetCaptures.beginCreateAndWait(
        NW.rg,
        NW.name,
        'pc',
        { target: VM, storageLocation: { storageId: STORAGE_ID }, timeLimitInSeconds: 60 },
        FAST_POLL,
      ),
    ).rejects.toThrow(/InternalServerError/);
    expect(emulator.captures()[0]).toMatchObject({
      provisioningState: 'Failed',
      status: 'Error',
      errors: ['InternalError'],
    });
    // The next PUT of another name is not affected (count 1).
    await expect(
      client.packetCaptures.beginCreateAndWait(
        NW.rg,
        NW.name,
        'pc2',
        { target: VM, storageLocation: { storageId: STORAGE_ID }, timeLimitInSeconds: 60 },
        FAST_POLL,
      ),
    ).resolves.toMatchObject({ provisioningState: 'Succeeded' });
  });

  it('a rule with a method only fires for that method', async () => {
    emulator.addFault({ method: 'DELETE', pathPattern: '.*', kind: 'error500' });
    expect(await listAllNames()).toEqual(['NetworkWatcher_eastus']);
  });

  it('clearFaults removes every rule', async () => {
    emulator.addFault({ pathPattern: '.*', kind: 'error500' });
    emulator.clearFaults();
    expect(await listAllNames()).toEqual(['NetworkWatcher_eastus']);
  });

  it('addFault refuses a rule of an unknown kind, naming the field', () => {
    expect(() => emulator.addFault({ pathPattern: '.*', kind: 'explode' as never })).toThrow(/kind/);
  });
});

describe('paging', () => {
  function registerFiveRegions(): void {
    for (const region of ['westus', 'northeurope', 'westeurope', 'uksouth']) {
      emulator.registerVm({ id: VM.replace(/vm1$/, `vm-${region}`), location: region });
    }
  }

  it('answers the SDK (2025-05-01, no nextLink in that spec) with every watcher in one response', async () => {
    registerFiveRegions();
    const names = await listAllNames();
    expect(names).toHaveLength(5);
    expect(listAllStatuses()).toEqual([200]);
  });

  it('pages with an absolute nextLink and a skip token from 2025-07-01 on, and following it yields every watcher', async () => {
    registerFiveRegions();
    const auth = await bearer(emulator);
    const names: string[] = [];
    let next: string | undefined =
      `/subscriptions/${SUB}/providers/Microsoft.Network/networkWatchers?api-version=2026-03-01`;
    let pages = 0;
    while (next) {
      const answer = await rawRequest(emulator, next, { headers: auth });
      expect(answer.status).toBe(200);
      const body = answer.body as { value: Array<{ name: string }>; nextLink?: string };
      expect(body.value.length).toBeLessThanOrEqual(2);
      names.push(...body.value.map((w) => w.name));
      if (body.nextLink) {
        expect(body.nextLink).toMatch(
          new RegExp(
            `^${emulator.url}/subscriptions/${SUB}/providers/Microsoft\\.Network/networkWatchers\\?.*skipToken=`,
          ),
        );
      }
      next = body.nextLink?.slice(emulator.url.length);
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(new Set(names).size).toBe(5);
  });

  it('pages packet capture lists the same way', async () => {
    const client = networkClient(emulator, SUB);
    for (const name of ['a', 'b', 'c']) {
      await client.packetCaptures.beginCreate(NW.rg, NW.name, name, {
        target: VM,
        storageLocation: { storageId: STORAGE_ID },
        timeLimitInSeconds: 60,
      });
    }
    const names: string[] = [];
    for await (const pc of client.packetCaptures.list(NW.rg, NW.name)) names.push(pc.name!);
    expect(names).toEqual(['a', 'b', 'c']);

    const answer = await rawRequest(
      emulator,
      `/subscriptions/${SUB}/resourceGroups/${NW.rg}/providers/Microsoft.Network/networkWatchers/${NW.name}/packetCaptures?api-version=2026-01-01`,
      { headers: await bearer(emulator) },
    );
    const body = answer.body as { value: unknown[]; nextLink?: string };
    expect(body.value).toHaveLength(2);
    expect(body.nextLink).toContain('skipToken=2');
  });
});
