import { NetworkManagementClient } from '@azure/arm-network';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/index.js';
import { rawRequest, startTestEmulator } from './emulatorFixture.js';

// This file owns its process env: the credentials read IDENTITY_ENDPOINT / IDENTITY_HEADER when constructed.
const SUB = '44444444-0000-0000-0000-000000000000';
let emulator: Emulator;
const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };

beforeAll(async () => {
  emulator = await startTestEmulator();
  emulator.registerVm({
    id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`,
    location: 'eastus',
  });
  process.env.IDENTITY_ENDPOINT = emulator.identityEndpoint;
  process.env.IDENTITY_HEADER = emulator.identityHeader;
});
afterAll(async () => {
  if (saved.endpoint === undefined) delete process.env.IDENTITY_ENDPOINT;
  else process.env.IDENTITY_ENDPOINT = saved.endpoint;
  if (saved.header === undefined) delete process.env.IDENTITY_HEADER;
  else process.env.IDENTITY_HEADER = saved.header;
  await emulator.stop();
});

describe('App Service managed identity endpoint', () => {
  it('gives ManagedIdentityCredential a token the ARM routes accept', async () => {
    const credential = new ManagedIdentityCredential();
    const token = await credential.getToken(`${emulator.url}/.default`);
    expect(token.token.split('.')).toHaveLength(3);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3600_000);

    const client = new NetworkManagementClient(credential, SUB, { endpoint: emulator.url });
    const names = [];
    for await (const w of client.networkWatchers.listAll()) names.push(w.name);
    expect(names).toEqual(['NetworkWatcher_eastus']);
  });

  it('gives DefaultAzureCredential a token through the same path it takes in Azure', async () => {
    const client = new NetworkManagementClient(new DefaultAzureCredential(), SUB, { endpoint: emulator.url });
    const watcher = await client.networkWatchers.get('NetworkWatcherRG', 'NetworkWatcher_eastus');
    expect(watcher.location).toBe('eastus');
  });

  it('answers the App Service token shape, with expires_on as epoch seconds in a string', async () => {
    const answer = await rawRequest(
      emulator,
      '/msi/token?api-version=2019-08-01&resource=https://management.azure.com',
      {
        headers: { 'X-IDENTITY-HEADER': emulator.identityHeader },
      },
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      access_token: expect.any(String) as unknown,
      expires_on: expect.stringMatching(/^\d{10}$/) as unknown,
      resource: 'https://management.azure.com',
      token_type: 'Bearer',
      client_id: emulator.clientId,
    });
  });

  it('answers 401 to a wrong X-IDENTITY-HEADER', async () => {
    const answer = await rawRequest(emulator, '/msi/token?api-version=2019-08-01&resource=x', {
      headers: { 'X-IDENTITY-HEADER': 'wrong' },
    });
    expect(answer.status).toBe(401);
  });

  it('answers 400 without X-IDENTITY-HEADER', async () => {
    const answer = await rawRequest(emulator, '/msi/token?api-version=2019-08-01&resource=x');
    expect(answer.status).toBe(400);
  });

  it('answers 400 to another api-version', async () => {
    const answer = await rawRequest(emulator, '/msi/token?api-version=2017-09-01&resource=x', {
      headers: { 'X-IDENTITY-HEADER': emulator.identityHeader },
    });
    expect(answer.status).toBe(400);
  });

  it('answers 400 without a resource', async () => {
    const answer = await rawRequest(emulator, '/msi/token?api-version=2019-08-01', {
      headers: { 'X-IDENTITY-HEADER': emulator.identityHeader },
    });
    expect(answer.status).toBe(400);
  });
});
