import { describe, expect, it } from 'vitest';
import { ringCaptureName, isOurCapture } from '../../../src/captures/captureName.js';
import { alertKeepWindow } from '../../../src/captures/alertKeepWindow.js';
import { chooseRingFiles } from '../../../src/captures/chooseRingFiles.js';
import { keptFolderFor } from '../../../src/captures/keepRingFiles.js';
import { readFirstPacketTime } from '../../../src/captures/readFirstPacketTime.js';
import { ringCaptureParameters, ringSessionSeconds } from '../../../src/captures/ringCaptureParameters.js';
import { loadConfig } from '../../../src/config.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const VM = `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-01`;

/** A pcap head: global header with `magic` and a first record header at `seconds`.`fraction`. */
function head(magic: number, seconds: number, fraction: number, little = true): Buffer {
  const b = Buffer.alloc(40);
  b.writeUInt32LE(magic, 0);
  if (little) {
    b.writeUInt32LE(seconds, 24);
    b.writeUInt32LE(fraction, 28);
  } else {
    b.writeUInt32BE(seconds, 24);
    b.writeUInt32BE(fraction, 28);
  }
  return b;
}

describe('readFirstPacketTime', () => {
  it('reads µs and ns files in either byte order', () => {
    expect(readFirstPacketTime(head(0xa1b2c3d4, 1_700_000_000, 250_000))).toBe(1_700_000_000_250);
    expect(readFirstPacketTime(head(0xd4c3b2a1, 1_700_000_000, 250_000, false))).toBe(1_700_000_000_250);
    expect(readFirstPacketTime(head(0xa1b23c4d, 1_700_000_000, 250_000_000))).toBe(1_700_000_000_250);
  });

  it('answers undefined for a file without a packet, a non-pcap file or a bad fraction', () => {
    expect(readFirstPacketTime(head(0xa1b2c3d4, 1, 0).subarray(0, 24))).toBeUndefined();
    expect(readFirstPacketTime(head(0x0a0d0d0a, 1, 0))).toBeUndefined();
    expect(readFirstPacketTime(head(0xa1b2c3d4, 1, 1_000_000))).toBeUndefined();
  });
});

describe('chooseRingFiles', () => {
  const files = [
    { name: 'c', firstPacketAtMs: 3000 },
    { name: 'a', firstPacketAtMs: 1000 },
    { name: 'b', firstPacketAtMs: 2000 },
    { name: 'd', firstPacketAtMs: 4000 },
  ];

  it('keeps every file holding a moment of the window, oldest first, whatever the names', () => {
    const choice = chooseRingFiles(files, { startMs: 2500, endMs: 3500 });
    expect(choice.chosen.map((f) => f.name)).toEqual(['b', 'c']);
    expect(choice).toMatchObject({ coversStart: true, complete: true });
  });

  it('is not complete while the window end is in the newest listed file (the next one is still written)', () => {
    const choice = chooseRingFiles(files, { startMs: 3500, endMs: 4500 });
    expect(choice.chosen.map((f) => f.name)).toEqual(['c', 'd']);
    expect(choice.complete).toBe(false);
  });

  it('says when rotation already deleted the window start', () => {
    const choice = chooseRingFiles(files, { startMs: 500, endMs: 1500 });
    expect(choice.chosen.map((f) => f.name)).toEqual(['a']);
    expect(choice.coversStart).toBe(false);
    expect(chooseRingFiles([], { startMs: 0, endMs: 1 })).toEqual({
      chosen: [],
      coversStart: false,
      complete: false,
    });
  });
});

describe('ring names, kept folders and PUT bodies', () => {
  it('names a ring {prefix}-ring-{vm}-{hash}-{generation}, one of ours', () => {
    const name = ringCaptureName('alertcap', { resourceId: VM, name: 'web-01' }, 3);
    expect(name).toMatch(/^alertcap-ring-web-01-[0-9a-f]{6}-3$/);
    expect(isOurCapture('alertcap', name)).toBe(true);
    expect(ringCaptureName('alertcap', { resourceId: VM, name: 'web-01' }, 4)).not.toBe(name);
  });

  it('keeps each alert in its own blob-safe folder', () => {
    const a = keptFolderFor(`${SUB}/providers/Microsoft.AlertsManagement/alerts/aaaa-1`);
    expect(a).toMatch(/^kept\/aaaa-1-[0-9a-f]{8}\/$/);
    expect(keptFolderFor('x/aaaa-1')).not.toBe(a);
    expect(keptFolderFor('a b?c')).toMatch(/^kept\/a-b-c-/);
  });

  it('asks for a continuous capture bounded by count × size', () => {
    const config = loadConfig({
      CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/capstore`,
      ALLOWED_SCOPES: SUB,
      LEDGER_STORAGE_ACCOUNT_NAME: 'appstore',
      RING_FILE_COUNT: '5',
      RING_BYTES_PER_PACKET: '128',
    });
    const body = ringCaptureParameters(
      VM,
      config.ring,
      [{ protocol: 'TCP' }],
      config.captureStorageAccountId,
    );
    expect(body).toMatchObject({
      target: VM,
      continuousCapture: true,
      bytesToCapturePerPacket: 128,
      timeLimitInSeconds: 18_000,
      totalBytesPerSession: 4_294_967_295,
      captureSettings: { fileCount: 5, fileSizeInBytes: 10_485_760, sessionTimeLimitInSeconds: 86_400 },
      filters: [{ protocol: 'TCP' }],
    });
    expect(ringSessionSeconds(config.ring)).toBe(18_000);
    expect(ringSessionSeconds({ sessionTimeLimitInSeconds: 3600 })).toBe(3600);
  });
});

describe('alertKeepWindow', () => {
  const ring = { windowMarginSeconds: 60, defaultLookbackSeconds: 600 };
  const fired = '2025-04-15T18:22:12.851Z';

  it('starts at windowStartTime minus the margin and ends when the alert fired', () => {
    expect(alertKeepWindow({ firedAt: fired, windowStartAt: '2025-04-15T18:17:12.851Z' }, ring)).toEqual({
      startMs: Date.parse('2025-04-15T18:16:12.851Z'),
      endMs: Date.parse(fired),
    });
  });

  it('without a window start (or one after the fired time), looks back the default', () => {
    const expected = { startMs: Date.parse('2025-04-15T18:11:12.851Z'), endMs: Date.parse(fired) };
    expect(alertKeepWindow({ firedAt: fired }, ring)).toEqual(expected);
    expect(alertKeepWindow({ firedAt: fired, windowStartAt: '2025-04-15T19:00:00.000Z' }, ring)).toEqual(
      expected,
    );
  });
});
