import type { NetworkManagementClient, PacketCapture } from '@azure/arm-network';
import { BlobServiceClient } from '@azure/storage-blob';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  CAPTURE_CONTAINER,
  CAPTURE_START_SECONDS,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_UPLOAD_DELAY_SECONDS,
  type Emulator,
} from '../../emulator/index.js';
import { FAST_POLL, networkClient, startTestEmulator } from './emulatorFixture.js';

const SUB = '11111111-2222-3333-4444-555555555555';
const VM = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-01`;
const STORAGE_ID = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Storage/storageAccounts/capturestore`;
const WATCHER = { rg: 'NetworkWatcherRG', name: 'NetworkWatcher_westeurope' };

let emulator: Emulator;
let client: NetworkManagementClient;
const workDir = mkdtempSync(path.join(tmpdir(), 'nw-capture-test-'));

beforeAll(async () => {
  // timeScale 1: the emulated clock moves only when a test advances it, so every state is observable.
  emulator = await startTestEmulator({
    timeScale: 1,
    blobConnectionString: inject('azuriteConnectionString'),
  });
  client = networkClient(emulator, SUB);
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.registerVm({ id: VM, location: 'westeurope', osType: 'Linux' });
});

function params(overrides: Partial<PacketCapture> = {}): PacketCapture {
  return {
    target: VM,
    storageLocation: { storageId: STORAGE_ID },
    timeLimitInSeconds: 60,
    bytesToCapturePerPacket: 0,
    totalBytesPerSession: 50_000_000,
    ...overrides,
  };
}

async function create(name: string, overrides: Partial<PacketCapture> = {}): Promise<void> {
  // Only the PUT: the test drives the clock itself.
  await client.packetCaptures.beginCreate(WATCHER.rg, WATCHER.name, name, params(overrides));
}

function status(name: string) {
  return client.packetCaptures.beginGetStatusAndWait(WATCHER.rg, WATCHER.name, name, FAST_POLL);
}

async function download(storagePath: string): Promise<string> {
  const service = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
  const prefix = `${service.getContainerClient(CAPTURE_CONTAINER).url}/`;
  expect(storagePath.startsWith(prefix)).toBe(true);
  const data = await service
    .getContainerClient(CAPTURE_CONTAINER)
    .getBlobClient(storagePath.slice(prefix.length))
    .downloadToBuffer();
  const file = path.join(workDir, `${Math.random().toString(36).slice(2)}.cap`);
  writeFileSync(file, data);
  return file;
}

/** tshark's complaints about a capture file (its "running as root" notice is about the machine, not the file). */
function tsharkWarnings(file: string): string {
  const run = spawnSync('tshark', ['-r', file], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  return run.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^Running as user "root"/.test(l))
    .join('\n');
}

/** Packets tcpdump finds in a capture file that match a BPF filter (tcpdump starts far faster than tshark). */
function tcpdumpCount(file: string, filter: string): number {
  const run = spawnSync('tcpdump', ['-r', file, '-nn', filter], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  return run.stdout.split('\n').filter((l) => l !== '').length;
}

/** The libpcap record headers of a file: capture time and captured length of each packet. */
function pcapRecords(file: string): Array<{ timeMs: number; capturedBytes: number }> {
  const data = readFileSync(file);
  const records = [];
  for (let at = 24; at + 16 <= data.length;) {
    const capturedBytes = data.readUInt32LE(at + 8);
    records.push({ timeMs: data.readUInt32LE(at) * 1000 + data.readUInt32LE(at + 4) / 1000, capturedBytes });
    at += 16 + capturedBytes;
  }
  return records;
}

describe('capture lifecycle on the emulated clock', () => {
  it('is NotStarted right after the PUT', async () => {
    await create('pc');
    expect(await status('pc')).toMatchObject({ packetCaptureStatus: 'NotStarted', packetCaptureError: [] });
  });

  it('runs after the start delay, with captureStartTime set', async () => {
    const before = emulator.now();
    await create('pc');
    await emulator.advanceClock(CAPTURE_START_SECONDS);
    const s = await status('pc');
    expect(s.packetCaptureStatus).toBe('Running');
    expect(s.captureStartTime!.getTime()).toBeGreaterThanOrEqual(before);
    // The resource stays Updating until its create operation ends, retryAfterSeconds after the PUT.
    expect((await client.packetCaptures.get(WATCHER.rg, WATCHER.name, 'pc')).provisioningState).toBe(
      'Updating',
    );
    await emulator.advanceClock(DEFAULT_RETRY_AFTER_SECONDS - CAPTURE_START_SECONDS);
    const got = await client.packetCaptures.get(WATCHER.rg, WATCHER.name, 'pc');
    expect(got.provisioningState).toBe('Succeeded');
  });

  it('stops with TimeExceeded at its time limit and its file lands in Azurite at the Network Watcher path', async () => {
    await create('pc');
    await emulator.advanceClock(CAPTURE_START_SECONDS + 59);
    expect((await status('pc')).packetCaptureStatus).toBe('Running');
    await emulator.advanceClock(1);
    await emulator.advanceClock(DEFAULT_UPLOAD_DELAY_SECONDS); // the agent uploads after the stop

    const s = await status('pc');
    expect(s).toMatchObject({ packetCaptureStatus: 'Stopped', stopReason: 'TimeExceeded' });
    const start = s.captureStartTime!;
    const p = (n: number, w = 2): string => String(n).padStart(w, '0');
    const expectedPath =
      `subscriptions/${SUB}/resourcegroups/app-rg/providers/microsoft.compute/virtualmachines/web-01/` +
      `${start.getUTCFullYear()}/${p(start.getUTCMonth() + 1)}/${p(start.getUTCDate())}/` +
      `packetcapture_${p(start.getUTCHours())}_${p(start.getUTCMinutes())}_${p(start.getUTCSeconds())}_${p(start.getUTCMilliseconds(), 3)}.cap`;
    const got = await client.packetCaptures.get(WATCHER.rg, WATCHER.name, 'pc');
    expect(got.storageLocation!.storagePath).toMatch(
      new RegExp(`/${CAPTURE_CONTAINER}/${expectedPath.replace(/[.]/g, '\\.')}$`),
    );

    const file = await download(got.storageLocation!.storagePath!);
    expect(tsharkWarnings(file)).toBe('');
    const times = pcapRecords(file).map((r) => r.timeMs);
    expect(times.length).toBeGreaterThan(0);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(start.getTime());
    expect(Math.max(...times)).toBeLessThanOrEqual(start.getTime() + 60_000);
  });

  it('keeps only TCP packets with a TCP-only filter', async () => {
    await create('pc', { filters: [{ protocol: 'TCP' }] });
    await emulator.advanceClock(CAPTURE_START_SECONDS + 60 + DEFAULT_UPLOAD_DELAY_SECONDS);
    const got = await client.packetCaptures.get(WATCHER.rg, WATCHER.name, 'pc');
    const file = await download(got.storageLocation!.storagePath!);

    expect(tcpdumpCount(file, 'tcp')).toBeGreaterThan(0);
    expect(tcpdumpCount(file, 'not tcp')).toBe(0);
  });

  it('truncates packets to bytesToCapturePerPacket', async () => {
    await create('pc', { bytesToCapturePerPacket: 64 });
    await emulator.advanceClock(CAPTURE_START_SECONDS + 60 + DEFAULT_UPLOAD_DELAY_SECONDS);
    const got = await client.packetCaptures.get(WATCHER.rg, WATCHER.name, 'pc');
    const file = await download(got.storageLocation!.storagePath!);

    const captured = pcapRecords(file).map((r) => r.capturedBytes);
    expect(captured.length).toBeGreaterThan(0);
    expect(Math.max(...captured)).toBeLessThanOrEqual(64);
  });

  it('stops early when the file reaches totalBytesPerSession', async () => {
    await create('pc', { totalBytesPerSession: 4_000, timeLimitInSeconds: 300 });
    await emulator.advanceClock(CAPTURE_START_SECONDS + 300 + DEFAULT_UPLOAD_DELAY_SECONDS);

    const s = await status('pc');
    expect(s).toMatchObject({ packetCaptureStatus: 'Stopped', stopReason: 'TotalBytesExceeded' });
    const capture = emulator.captures()[0]!;
    const file = await download(capture.storagePath!);
    expect(statSync(file).size).toBeLessThanOrEqual(4_000);
    expect(tsharkWarnings(file)).toBe('');
  });

  it('stops on request with stopReason Manual, and the file ends at the stop', async () => {
    await create('pc', { timeLimitInSeconds: 600 });
    await emulator.advanceClock(CAPTURE_START_SECONDS + 30);
    const stoppedAt = emulator.now();
    // The POST stops the capture; the operation's polling is covered by the spec examples.
    await client.packetCaptures.beginStop(WATCHER.rg, WATCHER.name, 'pc');
    await emulator.advanceClock(DEFAULT_UPLOAD_DELAY_SECONDS); // the agent uploads after the stop

    expect(await status('pc')).toMatchObject({ packetCaptureStatus: 'Stopped', stopReason: 'Manual' });
    const file = await download(emulator.captures()[0]!.storagePath!);
    const times = pcapRecords(file).map((r) => r.timeMs);
    expect(times.length).toBeGreaterThan(0);
    expect(Math.max(...times)).toBeLessThanOrEqual(stoppedAt + 1);
  });

  it('ends in Error with AgentStopped on a VM without the Network Watcher agent', async () => {
    const bare = VM.replace(/web-01$/, 'bare-01');
    emulator.registerVm({ id: bare, location: 'westeurope', agentInstalled: false });
    await create('pc', { target: bare });
    await emulator.advanceClock(CAPTURE_START_SECONDS);

    expect(await status('pc')).toMatchObject({
      packetCaptureStatus: 'Error',
      packetCaptureError: ['AgentStopped'],
    });
    expect(emulator.captures()[0]!.packets).toBeUndefined();
  });

  it('uploads nothing but still reports a storagePath without a blob connection string', async () => {
    const bare = await startTestEmulator({ timeScale: 1 });
    try {
      bare.registerVm({ id: VM, location: 'westeurope' });
      const c = networkClient(bare, SUB);
      await c.packetCaptures.beginCreate(WATCHER.rg, WATCHER.name, 'pc', params());
      await bare.advanceClock(CAPTURE_START_SECONDS + 60);
      const got = await c.packetCaptures.get(WATCHER.rg, WATCHER.name, 'pc');
      expect(got.storageLocation!.storagePath).toMatch(
        /^https:\/\/capturestore\.blob\.core\.windows\.net\/network-watcher-logs\/subscriptions\/.+\.cap$/,
      );
      expect(bare.captures()[0]).toMatchObject({ status: 'Stopped', stopReason: 'TimeExceeded' });
    } finally {
      await bare.stop();
    }
  });
});
