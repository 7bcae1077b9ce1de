import { BlobServiceClient } from '@azure/storage-blob';
import { expect, inject, onTestFinished } from 'vitest';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import type { CaptureNotification } from '../../../src/notify/captureNotification.js';
import { CAPTURE_CONTAINER, CAPTURE_START_SECONDS } from '../../emulator/index.js';
import {
  firedMetricAlert,
  startAppHarness,
  vmId,
  type AppHarness,
  type StartAppHarnessOptions,
} from '../../support/appHarness.js';

/** The capture length the poller tests run with (emulated seconds). */
export const TIME_LIMIT_SECONDS = 60;

/** Emulated seconds that take a capture started now past its time limit. */
export const PAST_TIME_LIMIT_SECONDS = CAPTURE_START_SECONDS + TIME_LIMIT_SECONDS + 1;

/** The region every poller-test VM lives in. */
export const REGION = 'eastus';

/** Starts an app harness for one test (stopped when the test ends), with short captures. */
export async function startPollerHarness(options: StartAppHarnessOptions = {}): Promise<AppHarness> {
  const h = await startAppHarness({
    ...options,
    settings: { CAPTURE_TIME_LIMIT_SECONDS: String(TIME_LIMIT_SECONDS), ...options.settings },
  });
  onTestFinished(() => h.stop());
  return h;
}

/** What the webhook answered for a capture it started. */
export interface StartedCapture {
  alertId: string;
  captureName: string;
  vmId: string;
}

/** Registers a VM (agent installed) and posts a Fired alert on it; the webhook must answer 202 `started`. */
export async function alertStartsCapture(h: AppHarness, vmName = 'web-01'): Promise<StartedCapture> {
  const vm = vmId(vmName);
  h.emulator.registerVm({ id: vm, location: REGION });
  const answer = await h.post(firedMetricAlert(vm));
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  expect(answer.body.outcome).toBe('started');
  return { alertId: answer.body.alertId ?? '', captureName: answer.body.captureName ?? '', vmId: vm };
}

/** The ledger record of an alert (it must exist). */
export async function recordOf(h: AppHarness, alertId: string): Promise<CaptureRecord> {
  const record = await h.ctx.ledger.get(alertId);
  if (!record) throw new Error(`no ledger record for ${alertId}`);
  return record;
}

/** The notifications the harness receiver got, as the generic webhook body. */
export function webhookMessages(h: AppHarness): CaptureNotification[] {
  return h.receiver.notifications() as CaptureNotification[];
}

/** Downloads a capture file from the run's Azurite by its blob URL (`{endpoint}/{account}/{container}/{name}`). */
export async function downloadCaptureFile(storagePath: string): Promise<Buffer> {
  const service = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
  const container = service.getContainerClient(CAPTURE_CONTAINER);
  const prefix = `${container.url}/`;
  expect(storagePath.startsWith(prefix), `${storagePath} is not in ${prefix}`).toBe(true);
  return container.getBlobClient(decodeURIComponent(storagePath.slice(prefix.length))).downloadToBuffer();
}

/** Packets and bytes on the wire of a classic pcap file, read from its record headers. */
export function pcapTotals(file: Buffer): { packets: number; bytes: number } {
  const magic = file.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!littleEndian && file.readUInt32BE(0) !== 0xa1b2c3d4 && file.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  }
  const u32 = (at: number) => (littleEndian ? file.readUInt32LE(at) : file.readUInt32BE(at));
  let packets = 0;
  let bytes = 0;
  for (let at = 24; at + 16 <= file.length;) {
    const included = u32(at + 8);
    bytes += u32(at + 12);
    packets++;
    at += 16 + included;
  }
  return { packets, bytes };
}
