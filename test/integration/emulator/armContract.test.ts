import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_AFTER_SECONDS,
  emulatorCredential,
  NETWORK_API_VERSIONS,
  type Emulator,
} from '../../emulator/index.js';
import { bearer, FAST_POLL, networkClient, rawRequest, startTestEmulator } from './emulatorFixture.js';

const SUB = '22222222-0000-0000-0000-000000000000';
const VM = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`;
const WATCHERS = `/subscriptions/${SUB}/providers/Microsoft.Network/networkWatchers`;
const PC = `/subscriptions/${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_eastus/packetCaptures`;
const STORAGE_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/store1`;
const V = 'api-version=2025-05-01';

let emulator: Emulator;
let auth: Record<string, string>;
beforeAll(async () => {
  emulator = await startTestEmulator();
  auth = await bearer(emulator);
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.registerVm({ id: VM, location: 'eastus' });
});

function putCapture(name: string, body: unknown) {
  return rawRequest(emulator, `${PC}/${name}?${V}`, { method: 'PUT', headers: auth, body });
}

const validBody = {
  properties: { target: VM, storageLocation: { storageId: STORAGE_ID }, timeLimitInSeconds: 60 },
};

describe('authentication', () => {
  it('answers 401 AuthenticationFailed with a Bearer challenge when there is no token', async () => {
    const answer = await rawRequest(emulator, `${WATCHERS}?${V}`);
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      error: { code: 'AuthenticationFailed', message: expect.any(String) as unknown },
    });
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('answers 401 to a token another emulator issued', async () => {
    const other = await startTestEmulator();
    try {
      const answer = await rawRequest(emulator, `${WATCHERS}?${V}`, { headers: await bearer(other) });
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ error: { code: 'InvalidAuthenticationToken' } });
    } finally {
      await other.stop();
    }
  });

  it('answers 401 to a forged token', async () => {
    const [header, payload] = auth.authorization!.slice('Bearer '.length).split('.');
    const answer = await rawRequest(emulator, `${WATCHERS}?${V}`, {
      headers: { authorization: `Bearer ${header}.${payload}.forged` },
    });
    expect(answer.status).toBe(401);
  });

  it('answers 401 InvalidAuthenticationTokenAudience to a token for another resource, as ARM does', async () => {
    const token = await emulatorCredential(emulator).getToken('https://storage.azure.com/.default');
    const answer = await rawRequest(emulator, `${WATCHERS}?${V}`, {
      headers: { authorization: `Bearer ${token!.token}` },
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({
      error: {
        code: 'InvalidAuthenticationTokenAudience',
        message: expect.stringContaining(
          "obtained for wrong audience or resource 'https://storage.azure.com'",
        ) as unknown,
      },
    });
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it("accepts a token for ARM's own audience (management.azure.com) as well as the emulator's URL", async () => {
    for (const scope of ['https://management.azure.com/.default', `${emulator.url}/.default`]) {
      const token = await emulatorCredential(emulator).getToken(scope);
      const answer = await rawRequest(emulator, `${WATCHERS}?${V}`, {
        headers: { authorization: `Bearer ${token!.token}` },
      });
      expect(answer.status).toBe(200);
    }
  });

  it('refuses the SDK whose credential scope is another resource', async () => {
    const { NetworkManagementClient } = await import('@azure/arm-network');
    const wrong = new NetworkManagementClient(emulatorCredential(emulator), SUB, {
      endpoint: emulator.url,
      credentialScopes: ['https://vault.azure.net/.default'],
    });
    await expect(wrong.networkWatchers.listAll().next()).rejects.toMatchObject({
      statusCode: 401,
      code: 'InvalidAuthenticationTokenAudience',
    });
  });

  it('surfaces the 401 to the SDK as a RestError', async () => {
    const client = networkClient(emulator, SUB);
    // A credential whose token this emulator never issued.
    const foreign = {
      getToken: () => Promise.resolve({ token: 'not-a-token', expiresOnTimestamp: Date.now() + 3600_000 }),
    };
    const { NetworkManagementClient } = await import('@azure/arm-network');
    const bad = new NetworkManagementClient(foreign, SUB, { endpoint: emulator.url });
    await expect(bad.networkWatchers.listAll().next()).rejects.toMatchObject({ statusCode: 401 });
    await expect(client.networkWatchers.listAll().next()).resolves.toMatchObject({ done: false });
  });
});

describe('api-version', () => {
  it('answers 400 InvalidApiVersionParameter for an unknown version', async () => {
    const answer = await rawRequest(emulator, `${WATCHERS}?api-version=2099-01-01`, { headers: auth });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'InvalidApiVersionParameter' } });
    expect((answer.body as { error: { message: string } }).error.message).toContain("'2099-01-01'");
  });

  it('answers 400 MissingApiVersionParameter without one', async () => {
    const answer = await rawRequest(emulator, WATCHERS, { headers: auth });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
  });

  it.each(['2025-05-01', '2025-07-01', '2025-09-01', '2026-01-01', '2026-03-01'])(
    'accepts %s',
    async (version) => {
      expect(NETWORK_API_VERSIONS).toContain(version);
      const answer = await rawRequest(emulator, `${WATCHERS}?api-version=${version}`, { headers: auth });
      expect(answer.status).toBe(200);
    },
  );
});

describe('routes', () => {
  it('answers 404 NotFound for an unknown route', async () => {
    const answer = await rawRequest(emulator, `/subscriptions/${SUB}/providers/Microsoft.Nope/things?${V}`, {
      headers: auth,
    });
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ error: { code: 'NotFound' } });
  });

  it('matches paths case-insensitively, as ARM does', async () => {
    const answer = await rawRequest(emulator, `${WATCHERS.toLowerCase()}?${V}`, { headers: auth });
    expect(answer.status).toBe(200);
    expect((answer.body as { value: unknown[] }).value).toHaveLength(1);
  });

  it('answers 404 ResourceNotFound for a watcher that does not exist', async () => {
    const answer = await rawRequest(
      emulator,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/networkWatchers/none?${V}`,
      { headers: auth },
    );
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ error: { code: 'ResourceNotFound' } });
  });
});

describe('packet capture PUT validation', () => {
  it('accepts a minimal body and fills the spec defaults', async () => {
    const answer = await putCapture('pc', {
      properties: { target: VM, storageLocation: { storageId: STORAGE_ID } },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      properties: {
        bytesToCapturePerPacket: 0,
        totalBytesPerSession: 1_073_741_824,
        timeLimitInSeconds: 18_000,
        filters: [],
      },
    });
  });

  it('names properties.target when it is missing', async () => {
    const answer = await putCapture('pc', { properties: { storageLocation: { storageId: STORAGE_ID } } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'InvalidRequestFormat' } });
    expect(JSON.stringify(answer.body)).toContain('properties.target');
  });

  it('names properties.storageLocation.storageId when it is not a storage account id', async () => {
    const answer = await putCapture('pc', {
      properties: { target: VM, storageLocation: { storageId: 'nope' } },
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('properties.storageLocation.storageId');
  });

  it('names properties.storageLocation when it has neither storageId nor a file path', async () => {
    const answer = await putCapture('pc', { properties: { target: VM, storageLocation: {} } });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('properties.storageLocation');
  });

  it('names a field of the wrong type', async () => {
    const answer = await putCapture('pc', {
      properties: { ...validBody.properties, timeLimitInSeconds: '60' },
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('properties.timeLimitInSeconds');
  });

  it('refuses a time limit above the spec maximum of 18000 s', async () => {
    const answer = await putCapture('pc', {
      properties: { ...validBody.properties, timeLimitInSeconds: 18_001 },
    });
    expect(answer.status).toBe(400);
  });

  it('names a filter with an unknown protocol', async () => {
    const answer = await putCapture('pc', {
      properties: { ...validBody.properties, filters: [{ protocol: 'ICMP' }] },
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('properties.filters[0].protocol');
  });

  it('answers 400 InvalidRequestContent to a body that is not JSON', async () => {
    const answer = await rawRequest(emulator, `${PC}/pc?${V}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: undefined,
    });
    expect(answer.status).toBe(400);
  });

  it('answers 404 ResourceNotFound for a target VM that is not registered', async () => {
    const answer = await putCapture('pc', {
      properties: { ...validBody.properties, target: VM.replace(/vm1$/, 'ghost') },
    });
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ error: { code: 'ResourceNotFound' } });
  });

  it('answers 400 for a target in another region than the watcher', async () => {
    const far = VM.replace(/vm1$/, 'far');
    emulator.registerVm({ id: far, location: 'westus' });
    const answer = await putCapture('pc', { properties: { ...validBody.properties, target: far } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'InvalidTargetResourceLocation' } });
  });

  it('answers 409 PacketCaptureAlreadyExists to a PUT of a name that exists', async () => {
    expect((await putCapture('pc', validBody)).status).toBe(201);
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS); // the create operation has ended
    const again = await putCapture('pc', validBody);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'PacketCaptureAlreadyExists' } });
  });

  it('answers 409 AnotherOperationInProgress to a PUT of a name whose create is still in progress', async () => {
    emulator.configure({ timeScale: 1 }); // the 10 s create operation must not end meanwhile
    try {
      expect((await putCapture('pc', validBody)).status).toBe(201);
      const again = await putCapture('pc', validBody);
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ error: { code: 'AnotherOperationInProgress' } });
    } finally {
      emulator.configure({ timeScale: 1000 });
    }
  });
});

describe('session limit', () => {
  it('refuses a PUT past the per-region limit with 409 PacketCaptureSessionLimitReached and counts it', async () => {
    emulator.configure({ sessionLimit: 2 });
    expect((await putCapture('a', validBody)).status).toBe(201);
    expect((await putCapture('b', validBody)).status).toBe(201);
    const refused = await putCapture('c', validBody);

    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: 'PacketCaptureSessionLimitReached' } });
    expect(emulator.limitRefusals()).toBe(1);
    expect(
      emulator.requests().filter((r) => r.errorCode === 'PacketCaptureSessionLimitReached'),
    ).toHaveLength(1);
  });

  it('counts finished captures until they are deleted', async () => {
    emulator.configure({ sessionLimit: 1 });
    const client = networkClient(emulator, SUB);
    await client.packetCaptures.beginCreateAndWait(
      'NetworkWatcherRG',
      'NetworkWatcher_eastus',
      'a',
      { target: VM, storageLocation: { storageId: STORAGE_ID }, timeLimitInSeconds: 10 },
      FAST_POLL,
    );
    await emulator.advanceClock(20);
    expect((await putCapture('b', validBody)).status).toBe(409);
    await client.packetCaptures.beginDeleteAndWait(
      'NetworkWatcherRG',
      'NetworkWatcher_eastus',
      'a',
      FAST_POLL,
    );
    expect((await putCapture('b', validBody)).status).toBe(201);
  });

  it('counts only the region of the watcher', async () => {
    emulator.configure({ sessionLimit: 1 });
    const west = VM.replace(/vm1$/, 'west');
    emulator.registerVm({ id: west, location: 'westus' });
    expect((await putCapture('a', validBody)).status).toBe(201);
    const westPc = PC.replace('NetworkWatcher_eastus', 'NetworkWatcher_westus');
    const answer = await rawRequest(emulator, `${westPc}/a?${V}`, {
      method: 'PUT',
      headers: auth,
      body: { properties: { target: west, storageLocation: { storageId: STORAGE_ID } } },
    });
    expect(answer.status).toBe(201);
    expect(emulator.limitRefusals()).toBe(0);
  });
});
