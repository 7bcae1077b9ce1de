import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CaptureFiles } from '../../../src/captures/CaptureFiles.js';
import { KEPT_CONTAINER } from '../../../src/captures/keepRingFiles.js';
import { alertKeepWindow } from '../../../src/captures/alertKeepWindow.js';
import { ringCaptureParameters } from '../../../src/captures/ringCaptureParameters.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { emulatorCredential, type Emulator } from '../../emulator/index.js';
import { networkClient, startTestEmulator } from '../emulator/emulatorFixture.js';

/**
 * A ring on the emulator's scaled clock (continuous capture, README "Continuous captures"): the app keeps the files
 * covering an alert's window by listing the ring's folder and reading each file's first packet time, copies them to
 * kept/{alert}/, and the copies outlive rotation. Time scale 1: only advanceClock moves time.
 */
const SUB = '77777777-0000-0000-0000-000000000000';
const NW = { rg: 'NetworkWatcherRG', name: 'NetworkWatcher_westeurope' };

let emulator: Emulator;
let config: Config;
let container: BlobServiceClient;
beforeAll(async () => {
  emulator = await startTestEmulator({
    timeScale: 1,
    blobConnectionString: inject('azuriteConnectionString'),
  });
  config = loadConfig({
    CAPTURE_STORAGE_ACCOUNT_ID: `/subscriptions/${SUB}/resourceGroups/captures-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
    CAPTURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
    ALLOWED_SCOPES: `/subscriptions/${SUB}`,
    LEDGER_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
    RING_FILE_COUNT: '20',
    RING_FILE_SIZE_BYTES: '65536',
  });
  container = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
});
afterAll(() => emulator.stop());

const PEER = '203.0.113.9';

/** Times (ms) of the packets from {@link PEER} (Ethernet + IPv4 source address). */
function peerPacketTimes(file: Buffer): number[] {
  const out: number[] = [];
  for (let at = 24; at + 16 <= file.length; at += 16 + file.readUInt32LE(at + 8)) {
    if ([...file.subarray(at + 16 + 26, at + 16 + 30)].join('.') === PEER) {
      out.push(file.readUInt32LE(at) * 1000 + Math.floor(file.readUInt32LE(at + 4) / 1000));
    }
  }
  return out;
}

/** Every packet time (ms) of a classic µs pcap file. */
function packetTimes(file: Buffer): number[] {
  const out: number[] = [];
  for (let at = 24; at + 16 <= file.length; at += 16 + file.readUInt32LE(at + 8)) {
    out.push(file.readUInt32LE(at) * 1000 + Math.floor(file.readUInt32LE(at + 4) / 1000));
  }
  return out;
}

/** Every combination the app must work under: Azure's behaviour here is undocumented (test/emulator/README.md). */
const ASSUMPTIONS = [
  { ringBlobLayout: 'captureFolder', ringDeleteWhen: 'newFileStarts', ringUploadDelaySeconds: 10 },
  { ringBlobLayout: 'firstFileSiblings', ringDeleteWhen: 'newFileUploaded', ringUploadDelaySeconds: 0 },
  { ringBlobLayout: 'captureFolder', ringDeleteWhen: 'newFileUploaded', ringUploadDelaySeconds: 45 },
] as const;

describe.each(ASSUMPTIONS)('keeping the pre-alert files of a ring (%o)', (assumption) => {
  it('copies the files covering [window start − margin, fired] and they survive rotation', async () => {
    emulator.configure(assumption);
    // A VM of its own per case: with firstFileSiblings a ring shares the VM's dated folder.
    const VM = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/ring-${randomUUID().slice(0, 8)}`;
    emulator.registerVm({ id: VM, location: 'westeurope' });
    const ALERT_ID = `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/${randomUUID()}`;
    const client = networkClient(emulator, SUB, { maxRetries: 0 });
    const name = `alertcap-ring-${randomUUID().slice(0, 8)}-1`;
    await client.packetCaptures.beginCreate(
      NW.rg,
      NW.name,
      name,
      ringCaptureParameters(VM, config.ring, [], config.captureStorageAccountId),
    );
    // Traffic changes at t0 (a new peer); the alert's 5-minute window starts at t0 and it fires at t0 + 5 min.
    const t0 = emulator.now() + 280_000;
    emulator.addTrafficEvent({
      vmId: VM,
      at: new Date(t0).toISOString(),
      remoteIp: PEER,
      packetsPerSecond: 2,
    });
    await emulator.advanceClock(600);
    const storagePath = (await client.packetCaptures.get(NW.rg, NW.name, name)).storageLocation!.storagePath!;

    // It fired 20 s ago; margin 60 s.
    const firedAt = new Date(t0 + 300_000).toISOString();
    const window = alertKeepWindow({ firedAt, windowStartAt: new Date(t0).toISOString() }, config.ring);
    expect(window).toEqual({ startMs: t0 - 60_000, endMs: t0 + 300_000 });
    const files = new CaptureFiles(config, emulatorCredential(emulator));
    let kept = await files.keepRing([storagePath], ALERT_ID, window);
    // The fired moment is in the file still being written: the poller calls again each tick until complete.
    for (let tick = 0; !kept?.complete && tick < 40; tick++) {
      await emulator.advanceClock(15);
      kept = await files.keepRing([storagePath], ALERT_ID, window);
    }
    expect(kept).toMatchObject({ complete: true, coversStart: true });
    expect(kept!.kept.every((n) => n.startsWith(`kept/${ALERT_ID.split('/').pop()!}-`))).toBe(true);

    // Rotation goes on: every original file the window used is deleted.
    await emulator.advanceClock(1200);
    const ring = emulator.captures().find((c) => c.name === name)!.ringFiles!;
    const used = ring.filter((f) => f.startMs <= window.endMs && (f.closedAt ?? Infinity) >= window.startMs);
    expect(used.length).toBeGreaterThan(1);
    expect(used.every((f) => f.deletedAt !== undefined)).toBe(true);

    // The copies are still there and cover the window.
    const bodies = await Promise.all(
      kept!.kept.map((n) => container.getContainerClient(KEPT_CONTAINER).getBlobClient(n).downloadToBuffer()),
    );
    const times = bodies.flatMap(packetTimes);
    // "Before" starts before t0 and shows the change: the new peer appears only from t0 on.
    const peer = bodies.flatMap(peerPacketTimes);
    expect(Math.min(...times)).toBeLessThan(t0);
    expect(peer.length).toBeGreaterThan(100);
    expect(Math.min(...peer)).toBeGreaterThanOrEqual(t0);
    expect(Math.min(...times)).toBeLessThanOrEqual(window.startMs);
    expect(Math.max(...times)).toBeGreaterThanOrEqual(window.endMs);

    // One summary of the kept files: the "before" of the alert, naming the conversation that began at t0.
    const before = await files.summarizeKept(kept!.kept);
    expect(before?.partial).toBeFalsy();
    expect(before?.conversations.some((c) => c.a.startsWith(`${PEER}:`) || c.b.startsWith(`${PEER}:`))).toBe(
      true,
    );
    expect(before?.packets).toBe(times.length);

    // tshark reads them.
    const dir = await mkdtemp(join(tmpdir(), 'kept-'));
    try {
      const path = join(dir, 'first.cap');
      await writeFile(path, bodies[0]!);
      const { stdout } = await promisify(execFile)(
        'tshark',
        ['-r', path, '-c', '3', '-T', 'fields', '-e', 'frame.number'],
        {
          timeout: 20_000,
        },
      );
      expect(stdout.trim().split('\n')).toEqual(['1', '2', '3']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a window across a re-armed ring', () => {
  it('keeps the end of the old generation and the start of the new one, names unique per generation', async () => {
    emulator.configure(ASSUMPTIONS[0]);
    const VM = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/ring-${randomUUID().slice(0, 8)}`;
    emulator.registerVm({ id: VM, location: 'westeurope' });
    const ALERT_ID = `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/${randomUUID()}`;
    const client = networkClient(emulator, SUB, { maxRetries: 0 });
    const arm = async (name: string): Promise<string> => {
      await client.packetCaptures.beginCreate(
        NW.rg,
        NW.name,
        name,
        ringCaptureParameters(VM, config.ring, [], config.captureStorageAccountId),
      );
      return (await client.packetCaptures.get(NW.rg, NW.name, name)).storageLocation!.storagePath!;
    };
    const base = `alertcap-ring-${randomUUID().slice(0, 8)}`;
    const oldPath = await arm(`${base}-1`);
    await emulator.advanceClock(300);
    // Re-armed: the new generation starts, then the old one is stopped (they overlap briefly).
    const newPath = await arm(`${base}-2`);
    await emulator.advanceClock(5);
    await client.packetCaptures.beginStopAndWait(NW.rg, NW.name, `${base}-1`);
    const rearmedAt = emulator.now();
    await emulator.advanceClock(300);

    const window = { startMs: rearmedAt - 120_000, endMs: rearmedAt + 120_000 };
    const files = new CaptureFiles(config, emulatorCredential(emulator));
    const kept = await files.keepRing([newPath, oldPath], ALERT_ID, window);
    expect(kept).toMatchObject({ complete: true, coversStart: true });
    // Two generations, each with its own name prefix; no name twice.
    const generations = new Set(kept!.kept.map((n) => n.split('/').pop()!.split('-')[0]));
    expect(generations.size).toBe(2);
    expect(new Set(kept!.kept).size).toBe(kept!.kept.length);
    // The new generation alone would not reach back to the window's start.
    const onlyNew = await files.keepRing([newPath], `${ALERT_ID}-new`, window);
    expect(onlyNew?.coversStart).toBe(false);
  });
});

describe('a ring path from ARM', () => {
  it('is refused outside the capture account, and nothing is kept', async () => {
    const files = new CaptureFiles(config, emulatorCredential(emulator));
    expect(
      await files.keepRing(['https://attacker.example/network-watcher-logs/x/'], 'alert-1', {
        startMs: 0,
        endMs: 1,
      }),
    ).toBeUndefined();
  });
});
