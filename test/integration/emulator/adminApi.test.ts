import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/index.js';
import { bearer, rawRequest, startTestEmulator } from './emulatorFixture.js';

const SUB = '66666666-0000-0000-0000-000000000000';
const VM = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`;
const WATCHERS = `/subscriptions/${SUB}/providers/Microsoft.Network/networkWatchers?api-version=2025-05-01`;

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startTestEmulator({ timeScale: 1 });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

function admin(route: string, method = 'GET', body?: unknown) {
  return rawRequest(emulator, `/_emulator/${route}`, { method, ...(body === undefined ? {} : { body }) });
}

describe('admin API', () => {
  it('registers a VM and its region default watcher in NetworkWatcherRG', async () => {
    expect((await admin('vms', 'POST', { id: VM, location: 'West Europe', osType: 'Linux' })).status).toBe(
      201,
    );
    const answer = await rawRequest(emulator, WATCHERS, { headers: await bearer(emulator) });
    expect(answer.body).toMatchObject({
      value: [
        {
          id: `/subscriptions/${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope`,
          location: 'westeurope',
        },
      ],
    });
  });

  it('refuses a VM without a VM resource id, naming the field', async () => {
    const answer = await admin('vms', 'POST', { id: 'vm1', location: 'eastus' });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('id must be');
  });

  it('refuses a VM without a location, naming the field', async () => {
    const answer = await admin('vms', 'POST', { id: VM });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('location');
  });

  it('adds a watcher', async () => {
    const id = `/subscriptions/${SUB}/resourceGroups/ops/providers/Microsoft.Network/networkWatchers/custom`;
    expect((await admin('watchers', 'POST', { id, location: 'eastus' })).status).toBe(201);
    const answer = await rawRequest(emulator, WATCHERS, { headers: await bearer(emulator) });
    expect(answer.body).toMatchObject({ value: [{ id, name: 'custom' }] });
  });

  it('installs faults from an array and clears them', async () => {
    expect(
      (await admin('faults', 'POST', [{ pathPattern: 'networkWatchers$', kind: 'error503', count: 1 }]))
        .status,
    ).toBe(201);
    const auth = await bearer(emulator);
    expect((await rawRequest(emulator, WATCHERS, { headers: auth })).status).toBe(503);
    await admin('faults', 'POST', { pathPattern: 'networkWatchers$', kind: 'error500' });
    expect((await admin('faults', 'DELETE')).status).toBe(200);
    expect((await rawRequest(emulator, WATCHERS, { headers: auth })).status).toBe(200);
  });

  it('refuses a fault with a bad probability, naming the field', async () => {
    const answer = await admin('faults', 'POST', { pathPattern: '.*', kind: 'throttle', probability: 2 });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('probability');
  });

  it('logs every ARM request with method, path, status and times', async () => {
    await rawRequest(emulator, WATCHERS);
    const answer = await admin('requests');
    expect(answer.body).toEqual([
      {
        method: 'GET',
        path: `/subscriptions/${SUB}/providers/Microsoft.Network/networkWatchers`,
        status: 401,
        startedAt: expect.any(Number) as unknown,
        endedAt: expect.any(Number) as unknown,
        errorCode: 'AuthenticationFailed',
      },
    ]);
  });

  it('advances the clock so a capture reaches its time limit, and lists it', async () => {
    await admin('vms', 'POST', { id: VM, location: 'eastus' });
    const pc = `/subscriptions/${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_eastus/packetCaptures/pc?api-version=2025-05-01`;
    await rawRequest(emulator, pc, {
      method: 'PUT',
      headers: await bearer(emulator),
      body: {
        properties: {
          target: VM,
          storageLocation: {
            storageId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/store1`,
          },
          timeLimitInSeconds: 30,
        },
      },
    });
    expect((await admin('clock', 'POST', { advanceSeconds: 40 })).status).toBe(200);
    expect((await admin('captures')).body).toMatchObject([
      { name: 'pc', status: 'Stopped', stopReason: 'TimeExceeded' },
    ]);
  });

  it('refuses a clock move without advanceSeconds', async () => {
    expect((await admin('clock', 'POST', { seconds: 5 })).status).toBe(400);
  });

  it('changes the session limit through config', async () => {
    const answer = await admin('config', 'POST', { sessionLimit: 3, latencyMs: 0 });
    expect(answer.body).toMatchObject({ sessionLimit: 3, latencyInMs: 0 });
  });

  it('refuses a config with a negative value', async () => {
    expect((await admin('config', 'POST', { timeScale: -1 })).status).toBe(400);
  });

  it('forgets everything on reset', async () => {
    await admin('vms', 'POST', { id: VM, location: 'eastus' });
    expect((await admin('reset', 'POST')).status).toBe(200);
    const answer = await rawRequest(emulator, WATCHERS, { headers: await bearer(emulator) });
    expect(answer.body).toEqual({ value: [] });
  });

  it('answers 404 to an unknown admin route', async () => {
    expect((await admin('nothing')).status).toBe(404);
  });
});

describe('CLI', () => {
  it('prints url, caFile and the identity endpoint as JSON, serves, and stops on SIGTERM', async () => {
    const tsx = path.join(
      path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')),
      'dist/cli.mjs',
    );
    const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../emulator/main.ts');
    const child = spawn(
      process.execPath,
      [
        tsx,
        main,
        '--time-scale',
        '10',
        '--ring-blob-layout',
        'firstFileSiblings',
        '--ring-upload-delay-seconds',
        '3',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          NW_EMULATOR_RING_SESSION_END: 'shorterOfBoth',
          NW_EMULATOR_TAG_VALUE_MATCH: 'caseInsensitive',
        },
      },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`CLI exited with ${code}`)));
    });
    const printed = JSON.parse(line) as {
      url: string;
      caFile: string;
      identityEndpoint: string;
      identityHeader: string;
    };
    expect(printed.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(printed.identityEndpoint).toBe(`${printed.url}/msi/token`);
    const caPem = readFileSync(printed.caFile, 'utf8');
    const cli = { url: printed.url, caPem } as Emulator;
    expect((await rawRequest(cli, '/_emulator/captures')).body).toEqual([]);
    // The assumption flags and variables reached the settings (an empty config change answers them all).
    expect((await rawRequest(cli, '/_emulator/config', { method: 'POST', body: {} })).body).toMatchObject({
      ringBlobLayout: 'firstFileSiblings',
      ringUploadDelaySeconds: 3,
      ringSessionEnd: 'shorterOfBoth',
      ringDeleteWhen: 'newFileStarts',
      tagValueMatch: 'caseInsensitive',
    });

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a bad assumption value, naming the flag and the allowed values, with exit code 2', async () => {
    const tsx = path.join(
      path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')),
      'dist/cli.mjs',
    );
    const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../emulator/main.ts');
    const child = spawn(process.execPath, [tsx, main, '--ring-delete-when', 'never'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain(
      '--ring-delete-when (NW_EMULATOR_RING_DELETE_WHEN) must be newFileStarts or newFileUploaded, found "never"',
    );
  });
});
