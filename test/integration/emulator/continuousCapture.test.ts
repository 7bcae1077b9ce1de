import type { NetworkManagementClient, PacketCapture } from '@azure/arm-network';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { CAPTURE_CONTAINER, DEFAULT_RETRY_AFTER_SECONDS, type Emulator } from '../../emulator/index.js';
import { bearer, networkClient, rawRequest, startTestEmulator } from './emulatorFixture.js';

/**
 * Continuous captures (`continuousCapture` + `captureSettings`, PacketCaptureParameters from api-version 2023-11-01;
 * shared/reference/network-watcher/networkWatcher.packetCapture-excerpt.json): a ring of files, each uploaded once
 * full, the oldest deleted past `fileCount`. Blob names, upload timing and `continuousCapture: false` are emulator
 * assumptions (settings), so each test names the one it relies on. Time scale 1: only advanceClock moves time.
 */
const SUB = '99999999-0000-0000-0000-000000000000';
const VM = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/ring-01`;
const STORAGE_ID = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Storage/storageAccounts/store1`;
const NW = { rg: 'NetworkWatcherRG', name: 'NetworkWatcher_westeurope' };
const PC = `/subscriptions/${SUB}/resourceGroups/${NW.rg}/providers/Microsoft.Network/networkWatchers/${NW.name}/packetCaptures`;

let emulator: Emulator;
let client: NetworkManagementClient;
let container: ContainerClient;
beforeAll(async () => {
  emulator = await startTestEmulator({
    timeScale: 1,
    blobConnectionString: inject('azuriteConnectionString'),
  });
  client = networkClient(emulator, SUB, { maxRetries: 0 });
  container = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString')).getContainerClient(
    CAPTURE_CONTAINER,
  );
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.configure({
    timeScale: 1,
    ringBlobLayout: 'captureFolder',
    ringDeleteWhen: 'newFileStarts',
    ringUploadDelaySeconds: 10,
    continuousFalse: 'singleFile',
    ringSessionEnd: 'sessionTimeLimit',
  });
  emulator.registerVm({ id: VM, location: 'westeurope' });
});

const ring = (
  settings: PacketCapture['captureSettings'],
  overrides: Partial<PacketCapture> = {},
): PacketCapture => ({
  target: VM,
  storageLocation: { storageId: STORAGE_ID },
  continuousCapture: true,
  captureSettings: settings,
  ...overrides,
});

/** The blobs under the folder of a capture's storagePath (what the app lists: it never relies on the names). */
async function blobsBeside(storagePath: string): Promise<Array<{ name: string; body: Buffer }>> {
  const path = blobNameOf(storagePath);
  const prefix = path.slice(0, path.lastIndexOf('/') + 1);
  const out: Array<{ name: string; body: Buffer }> = [];
  for await (const blob of container.listBlobsFlat({ prefix })) {
    out.push({ name: blob.name, body: await container.getBlockBlobClient(blob.name).downloadToBuffer() });
  }
  return out;
}

/** The blob name in a blob URL (Azurite's path-style URLs put the account first). */
function blobNameOf(url: string): string {
  const path = decodeURIComponent(new URL(url).pathname);
  return path.slice(path.indexOf(`/${CAPTURE_CONTAINER}/`) + CAPTURE_CONTAINER.length + 2);
}

function firstPacketMs(file: Buffer): number {
  return file.readUInt32LE(24) * 1000 + Math.floor(file.readUInt32LE(28) / 1000);
}

async function create(name: string, parameters: PacketCapture): Promise<string> {
  await client.packetCaptures.beginCreate(NW.rg, NW.name, name, parameters);
  await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS);
  const got = await client.packetCaptures.get(NW.rg, NW.name, name);
  return got.storageLocation!.storagePath!;
}

const view = (name: string) => emulator.captures().find((c) => c.name === name)!;

describe('a continuous capture', () => {
  it('rotates a ring of files: full files are uploaded, the oldest deleted beyond fileCount', async () => {
    const storagePath = await create(
      'ring-a',
      ring({ fileCount: 3, fileSizeInBytes: 20_000, sessionTimeLimitInSeconds: 3600 }),
    );
    expect(storagePath.endsWith('/ring-a/')).toBe(true); // captureFolder layout (assumption)
    await emulator.advanceClock(600);

    const files = view('ring-a').ringFiles!;
    expect(files.length).toBeGreaterThan(4);
    const present = files.filter((f) => f.deletedAt === undefined);
    expect(present).toHaveLength(3);
    const blobs = await blobsBeside(storagePath);
    // In storage: exactly the files uploaded and not yet deleted (the open one, and a file closed less than
    // ringUploadDelaySeconds ago, are not there yet), never more than fileCount.
    const uploaded = files.filter((f) => f.uploadedAt !== undefined && f.deletedAt === undefined);
    expect(blobs.map((b) => b.name).sort()).toEqual(uploaded.map((f) => f.blobPath).sort());
    expect(blobs.length).toBeLessThanOrEqual(3);
    expect(files.filter((f) => f.uploadedAt !== undefined).length).toBeGreaterThan(2);
    for (const blob of blobs) {
      expect(blob.body.readUInt32LE(0)).toBe(0xa1b2c3d4);
      expect(blob.body.length).toBeLessThanOrEqual(20_000);
    }
    const deleted = files.filter((f) => f.deletedAt !== undefined).map((f) => f.blobPath);
    expect(blobs.map((b) => b.name).some((n) => deleted.includes(n))).toBe(false);
    // Files follow each other in time.
    const starts = files.map((f) => f.startMs);
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    const status = await client.packetCaptures.beginGetStatusAndWait(NW.rg, NW.name, 'ring-a', {
      updateIntervalInMs: 5,
    });
    expect(status.packetCaptureStatus).toBe('Running');
  });

  it('uploads a full file ringUploadDelaySeconds after it filled, not before', async () => {
    emulator.configure({ ringUploadDelaySeconds: 120 });
    const storagePath = await create('ring-b', ring({ fileCount: 50, fileSizeInBytes: 20_000 }));
    await emulator.advanceClock(240);
    const files = view('ring-b').ringFiles!;
    const closed = files.filter((f) => f.closedAt !== undefined);
    expect(closed.length).toBeGreaterThan(1);
    const now = emulator.now();
    for (const f of closed) {
      if (f.closedAt! + 120_000 > now) expect(f.uploadedAt).toBeUndefined();
      else expect(f.uploadedAt).toBeGreaterThanOrEqual(f.closedAt! + 120_000);
    }
    const names = (await blobsBeside(storagePath)).map((b) => b.name);
    expect(names).toEqual(closed.filter((f) => f.uploadedAt !== undefined).map((f) => f.blobPath));
  });

  it('with newFileUploaded, deletes only once the file past fileCount is in storage', async () => {
    emulator.configure({ ringDeleteWhen: 'newFileUploaded', ringUploadDelaySeconds: 30 });
    const storagePath = await create('ring-c', ring({ fileCount: 2, fileSizeInBytes: 20_000 }));
    await emulator.advanceClock(400);
    const blobs = await blobsBeside(storagePath);
    expect(blobs).toHaveLength(2);
    expect(view('ring-c').ringFiles!.filter((f) => f.deletedAt === undefined).length).toBeGreaterThan(2);
  });

  it('stops at sessionTimeLimitInSeconds with TimeExceeded and uploads its last file', async () => {
    const storagePath = await create(
      'ring-d',
      ring({ fileCount: 100, fileSizeInBytes: 1_000_000, sessionTimeLimitInSeconds: 120 }),
    );
    await emulator.advanceClock(200);
    const status = await client.packetCaptures.beginGetStatusAndWait(NW.rg, NW.name, 'ring-d', {
      updateIntervalInMs: 5,
    });
    expect(status).toMatchObject({ packetCaptureStatus: 'Stopped', stopReason: 'TimeExceeded' });
    const blobs = await blobsBeside(storagePath);
    expect(blobs).toHaveLength(1);
    expect(firstPacketMs(blobs[0]!.body)).toBeGreaterThanOrEqual(view('ring-d').createdAt);
  });

  it('a manual stop uploads the open file with the packets so far', async () => {
    const storagePath = await create('ring-e', ring({ fileCount: 5, fileSizeInBytes: 10_000_000 }));
    await emulator.advanceClock(90);
    const stopAt = emulator.now();
    // The stop takes effect at once (README); waiting for its operation would sleep its Retry-After.
    await client.packetCaptures.beginStop(NW.rg, NW.name, 'ring-e');
    await emulator.advanceClock(30);
    const [blob] = await blobsBeside(storagePath);
    expect(view('ring-e').stopReason).toBe('Manual');
    const last = blob!.body;
    let at = 24;
    let lastMs = 0;
    while (at + 16 <= last.length) {
      lastMs = last.readUInt32LE(at) * 1000 + Math.floor(last.readUInt32LE(at + 4) / 1000);
      at += 16 + last.readUInt32LE(at + 8);
    }
    expect(lastMs).toBeLessThanOrEqual(stopAt);
  });

  it('with the firstFileSiblings layout, storagePath is the first file and the others sit beside it', async () => {
    emulator.configure({ ringBlobLayout: 'firstFileSiblings', ringUploadDelaySeconds: 0 });
    const storagePath = await create('ring-f', ring({ fileCount: 100, fileSizeInBytes: 20_000 }));
    expect(storagePath).toMatch(/packetcapture_\d\d_\d\d_\d\d_\d{3}\.cap$/);
    await emulator.advanceClock(300);
    const names = (await blobsBeside(storagePath)).map((b) => b.name);
    expect(names.length).toBeGreaterThan(2);
    expect(names).toContain(blobNameOf(storagePath));
  });
});

describe('continuousCapture false and absent', () => {
  it('singleFile (default): one file at storagePath, as a classic capture', async () => {
    const storagePath = await create(
      'cf-a',
      ring({ fileCount: 2, fileSizeInBytes: 20_000 }, { continuousCapture: false, timeLimitInSeconds: 120 }),
    );
    await emulator.advanceClock(200);
    expect(view('cf-a').ringFiles).toBeUndefined();
    expect(view('cf-a').stopReason).toBe('TimeExceeded');
    expect((await blobsBeside(storagePath)).map((b) => b.name)).toContain(blobNameOf(storagePath));
  });

  it('stopAtFileCount: the session stops once fileCount files are full', async () => {
    emulator.configure({ continuousFalse: 'stopAtFileCount', ringUploadDelaySeconds: 0 });
    const storagePath = await create(
      'cf-b',
      ring({ fileCount: 2, fileSizeInBytes: 20_000 }, { continuousCapture: false }),
    );
    await emulator.advanceClock(600);
    expect(view('cf-b')).toMatchObject({ status: 'Stopped', stopReason: 'TotalBytesExceeded' });
    expect(await blobsBeside(storagePath)).toHaveLength(2);
  });

  it('before api-version 2023-11-01 the fields do not exist: a classic capture', async () => {
    const auth = await bearer(emulator);
    const answer = await rawRequest(emulator, `${PC}/old-a?api-version=2023-09-01`, {
      method: 'PUT',
      headers: auth,
      body: {
        properties: {
          target: VM,
          storageLocation: { storageId: STORAGE_ID },
          continuousCapture: true,
          captureSettings: { fileCount: 2 },
        },
      },
    });
    expect(answer.status).toBe(201);
    expect(
      (answer.body as { properties: Record<string, unknown> }).properties.continuousCapture,
    ).toBeUndefined();
  });
});

describe('bad continuous-capture input', () => {
  it('refuses captureSettings out of the spec bounds, naming the field', async () => {
    const auth = await bearer(emulator);
    const answer = await rawRequest(emulator, `${PC}/bad-a?api-version=2025-05-01`, {
      method: 'PUT',
      headers: auth,
      body: {
        properties: {
          target: VM,
          storageLocation: { storageId: STORAGE_ID },
          continuousCapture: true,
          captureSettings: { fileCount: 10_001 },
        },
      },
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('properties.captureSettings.fileCount');
    expect(emulator.captures()).toHaveLength(0);
  });

  it('refuses a filePath with continuousCapture (the spec says localPath)', async () => {
    const auth = await bearer(emulator);
    const answer = await rawRequest(emulator, `${PC}/bad-b?api-version=2025-05-01`, {
      method: 'PUT',
      headers: auth,
      body: {
        properties: {
          target: VM,
          storageLocation: { filePath: '/var/captures/a.cap' },
          continuousCapture: true,
        },
      },
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('properties.storageLocation.filePath');
  });

  it('POST /_emulator/config refuses an unknown ring assumption value and changes nothing', async () => {
    const answer = await rawRequest(emulator, '/_emulator/config', {
      method: 'POST',
      body: { ringUploadDelaySeconds: 5, ringBlobLayout: 'flat' },
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('ringBlobLayout');
    const ok = await rawRequest(emulator, '/_emulator/config', {
      method: 'POST',
      body: { ringDeleteWhen: 'newFileUploaded' },
    });
    expect(ok.body).toMatchObject({
      ringUploadDelaySeconds: 10,
      ringDeleteWhen: 'newFileUploaded',
      ringBlobLayout: 'captureFolder',
    });
  });
});

describe('a known traffic change (POST /_emulator/traffic-events)', () => {
  /** Source addresses of the packets of a classic pcap file (Ethernet + IPv4). */
  function sources(file: Buffer): Array<{ timeMs: number; src: string }> {
    const out: Array<{ timeMs: number; src: string }> = [];
    for (let at = 24; at + 16 <= file.length; at += 16 + file.readUInt32LE(at + 8)) {
      const timeMs = file.readUInt32LE(at) * 1000 + Math.floor(file.readUInt32LE(at + 4) / 1000);
      const ip = file.subarray(at + 16 + 14 + 12, at + 16 + 14 + 16);
      out.push({ timeMs, src: [...ip].join('.') });
    }
    return out;
  }

  it('puts a conversation that exists only from t0 into the ring files after t0', async () => {
    emulator.configure({ ringUploadDelaySeconds: 0 });
    const storagePath = await create('ring-t0', ring({ fileCount: 100, fileSizeInBytes: 40_000 }));
    const t0 = emulator.now() + 180_000;
    const answer = await rawRequest(emulator, '/_emulator/traffic-events', {
      method: 'POST',
      body: { vmId: VM, at: new Date(t0).toISOString(), remoteIp: '198.51.100.7', packetsPerSecond: 5 },
    });
    expect(answer.status).toBe(201);
    await emulator.advanceClock(400);
    const packets = (await blobsBeside(storagePath)).flatMap((b) => sources(b.body));
    const fromPeer = packets.filter((p) => p.src === '198.51.100.7');
    expect(packets.some((p) => p.timeMs < t0)).toBe(true);
    expect(fromPeer.length).toBeGreaterThan(100);
    expect(Math.min(...fromPeer.map((p) => p.timeMs))).toBeGreaterThanOrEqual(t0);
  });

  it('refuses an event on an unknown VM or with a bad address, naming the field', async () => {
    const unknown = await rawRequest(emulator, '/_emulator/traffic-events', {
      method: 'POST',
      body: { vmId: `${VM}-x`, at: new Date().toISOString(), remoteIp: '198.51.100.7' },
    });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('vmId');
    const bad = await rawRequest(emulator, '/_emulator/traffic-events', {
      method: 'POST',
      body: { vmId: VM, at: new Date().toISOString(), remoteIp: '198.51.100', packetsPerSecond: 5 },
    });
    expect(JSON.stringify(bad.body)).toContain('remoteIp');
    const many = await rawRequest(emulator, '/_emulator/traffic-events', {
      method: 'POST',
      body: { vmId: VM, at: new Date().toISOString(), remoteIp: '198.51.100.7', packetsPerSecond: 5000 },
    });
    expect(JSON.stringify(many.body)).toContain('packetsPerSecond');
  });
});
