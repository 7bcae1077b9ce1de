import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { KEPT_CONTAINER } from '../../../src/captures/keepRingFiles.js';
import { NO_RING_NOTE } from '../../../src/captures/keepPreAlert.js';
import type { RingDirectory } from '../../../src/captures/pollTypes.js';
import { ringCaptureParameters } from '../../../src/captures/ringCaptureParameters.js';
import type { CaptureNotification } from '../../../src/notify/captureNotification.js';
import { REPORT_CONTAINER } from '../../../src/report/CaptureReports.js';
import { firedMetricAlert, SUB_ID, vmId, type AppHarness } from '../../support/appHarness.js';
import { networkClient } from '../emulator/emulatorFixture.js';
import { recordOf, REGION, startPollerHarness, webhookMessages } from '../poller/pollerSupport.js';

/**
 * Keeping an alert's pre-alert ring files through the real pipeline: the webhook (real HttpRequest) records the
 * alert's window, the poller (real timer invocation) keeps the files of a ring made on the emulator through the real
 * network client, Azurite holds them, and the message and the report show before and after. The ring directory is
 * an in-test object over our RingDirectory interface (the ledger-backed one is the rings' own work). Time scale 1:
 * only advanceClock moves time.
 */

/** Talks to the VM from the alert window's start on: in the "before" and the "after". */
const BEFORE_PEER = '203.0.113.9';
/** Starts talking only after the alert fired: a conversation of the "after" alone. */
const AFTER_PEER = '198.51.100.77';
const TICK_SECONDS = 15;

let h: AppHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** A ring directory knowing one VM's ring, counting every question per VM (lower-cased ids). */
function ringDirectory(
  vm: string,
  storagePath: () => string,
): RingDirectory & { asked: Map<string, number> } {
  const asked = new Map<string, number>();
  return {
    asked,
    ringPathsOf(vmId: string) {
      asked.set(vmId.toLowerCase(), (asked.get(vmId.toLowerCase()) ?? 0) + 1);
      return Promise.resolve(vmId.toLowerCase() === vm.toLowerCase() ? [storagePath()] : []);
    },
  };
}

/**
 * A ring VM with its ring running since now (emulated), and the alert times: the window starts 2 min from now, the
 * alert fires 5 min later; {@link BEFORE_PEER} from the window start, {@link AFTER_PEER} from 10 s after the fire.
 */
async function ringVm(harness: AppHarness): Promise<{
  vm: string;
  storagePath: () => string;
  windowStartMs: number;
  firedMs: number;
}> {
  const vm = vmId(`ring-${randomUUID().slice(0, 8)}`);
  harness.emulator.registerVm({ id: vm, location: REGION });
  const client = networkClient(harness.emulator, SUB_ID, { maxRetries: 0 });
  const name = `alertcap-ring-${randomUUID().slice(0, 8)}-1`;
  const config = harness.ctx.config;
  await client.packetCaptures.beginCreate(
    'NetworkWatcherRG',
    `NetworkWatcher_${REGION}`,
    name,
    ringCaptureParameters(vm, config.ring, [], config.captureStorageAccountId),
  );
  let storagePath = '';
  storagePath = (await client.packetCaptures.get('NetworkWatcherRG', `NetworkWatcher_${REGION}`, name))
    .storageLocation!.storagePath!;
  const windowStartMs = harness.emulator.now() + 120_000;
  const firedMs = windowStartMs + 300_000;
  harness.emulator.addTrafficEvent({
    vmId: vm,
    at: new Date(windowStartMs).toISOString(),
    remoteIp: BEFORE_PEER,
    packetsPerSecond: 2,
  });
  harness.emulator.addTrafficEvent({
    vmId: vm,
    at: new Date(firedMs + 10_000).toISOString(),
    remoteIp: AFTER_PEER,
    remotePort: 41000,
    packetsPerSecond: 5,
  });
  return { vm, storagePath: () => storagePath, windowStartMs, firedMs };
}

/** The alert on `vm`, fired at `firedMs` with its evaluation window from `windowStartMs` (common schema). */
function alertOn(vm: string, windowStartMs: number, firedMs: number) {
  const alert = firedMetricAlert(vm, { firedAt: new Date(firedMs).toISOString() });
  alert.data.alertContext.condition.windowStartTime = new Date(windowStartMs).toISOString();
  alert.data.alertContext.condition.windowEndTime = new Date(firedMs).toISOString();
  return alert;
}

/** Ticks (15 emulated s apart) until the alert's message arrived; at most `maxTicks`. */
async function tickUntilNotified(
  harness: AppHarness,
  alertId: string,
  maxTicks = 80,
  onTick?: () => Promise<void>,
): Promise<CaptureNotification> {
  for (let i = 0; i < maxTicks; i++) {
    await harness.emulator.advanceClock(TICK_SECONDS);
    await harness.tick();
    await onTick?.();
    const message = webhookMessages(harness).find((m) => m.alert.id === alertId);
    if (message) return message;
  }
  throw new Error(`no message for ${alertId} after ${maxTicks} ticks`);
}

function talksWith(peer: string) {
  return (c: { a: string; b: string }) => c.a.startsWith(`${peer}:`) || c.b.startsWith(`${peer}:`);
}

async function downloadReport(reportUrl: string): Promise<string> {
  const container = BlobServiceClient.fromConnectionString(
    inject('azuriteConnectionString'),
  ).getContainerClient(REPORT_CONTAINER);
  expect(reportUrl.startsWith(`${container.url}/`), reportUrl).toBe(true);
  const blob = container.getBlobClient(decodeURIComponent(reportUrl.slice(container.url.length + 1)));
  return (await blob.downloadToBuffer()).toString('utf8');
}

const RING_SETTINGS = { RING_FILE_COUNT: '20', RING_FILE_SIZE_BYTES: '65536' };

describe('an alert on a ring VM, through the webhook and the poller', () => {
  it('keeps the files covering its window, they survive rotation, and message and report show before and after', async () => {
    h = await startPollerHarness({ settings: RING_SETTINGS });
    const ring = await ringVm(h);
    const rings = ringDirectory(ring.vm, ring.storagePath);
    h.ctx.rings = rings;
    // A VM without a ring alerts at the same time: it costs one question and nothing else.
    const plainVm = vmId(`plain-${randomUUID().slice(0, 8)}`);
    h.emulator.registerVm({ id: plainVm, location: REGION });

    await h.emulator.advanceClock((ring.firedMs - h.emulator.now()) / 1000);
    const alert = alertOn(ring.vm, ring.windowStartMs, ring.firedMs);
    const plainAlert = alertOn(plainVm, ring.windowStartMs, ring.firedMs);
    expect((await h.post(alert)).body.outcome).toBe('started');
    expect((await h.post(plainAlert)).body.outcome).toBe('started');
    const alertId = alert.data.essentials.alertId;
    const recorded = await recordOf(h, alertId);
    expect(recorded).toMatchObject({
      keepWindowStart: new Date(ring.windowStartMs - 60_000).toISOString(),
      keepWindowEnd: new Date(ring.firedMs).toISOString(),
    });
    expect(recorded.keepDueAt).toBeDefined();

    const message = await tickUntilNotified(h, alertId);
    const plainMessage = await tickUntilNotified(h, plainAlert.data.essentials.alertId, 20);

    // The kept files cover the window; the message says from when and what changed.
    const before = message.before!;
    expect(before).toMatchObject({ coversStart: true, complete: true });
    expect(before.keptFileCount).toBeGreaterThan(1);
    expect(Date.parse(before.keptFrom!)).toBeLessThanOrEqual(ring.windowStartMs - 60_000);
    expect(before.startsBeforeWindowSeconds).toBeGreaterThanOrEqual(0);
    expect(before.summary?.conversations.some(talksWith(BEFORE_PEER))).toBe(true);
    expect(before.summary?.conversations.some(talksWith(AFTER_PEER))).toBe(false);
    // The last kept file runs on past the fired time: what comes after it is the capture's, not the before's.
    expect(Date.parse(before.summary!.endTime!)).toBeLessThanOrEqual(ring.firedMs);
    expect(message.summary?.conversations.some(talksWith(AFTER_PEER))).toBe(true);
    expect(message.change?.newConversations.some(talksWith(AFTER_PEER))).toBe(true);
    expect(message.change?.newConversations.some(talksWith(BEFORE_PEER))).toBe(false);
    expect(message.change?.newTalkers.map((t) => t.address)).toContain(AFTER_PEER);
    expect(JSON.stringify(message)).not.toMatch(/[?&]sig=/);

    // The non-ring VM: one question, no before, the record says why.
    expect(rings.asked.get(plainVm.toLowerCase())).toBe(1);
    expect(plainMessage.before).toBeUndefined();
    expect(await recordOf(h, plainAlert.data.essentials.alertId)).toMatchObject({ keepNote: NO_RING_NOTE });
    expect((await recordOf(h, plainAlert.data.essentials.alertId)).keepDueAt).toBeUndefined();

    // The report: a "Before and after" section naming the conversation only after, the before embedded once.
    const html = await downloadReport(message.capture.reportUrl!);
    expect(html).toContain('id="before-after"');
    expect(html.match(/id="capture-before"/g)).toHaveLength(1);
    const section = /<section id="before-after"[\s\S]*?<\/section>/.exec(html)![0];
    expect(section).toMatch(
      new RegExp(`class="new-conversations">[\\s\\S]*${AFTER_PEER.replaceAll('.', '\\.')}`),
    );
    const embedded = JSON.parse(/id="capture-before">([^<]*)</.exec(html)![1]!) as { packets: number };
    expect(embedded.packets).toBe(before.summary!.packets);

    // Rotation deletes every original the window used; the kept copies stay.
    await h.emulator.advanceClock(1500);
    const ringFiles = h.emulator.captures().find((c) => c.ringFiles !== undefined)!.ringFiles!;
    const used = ringFiles.filter(
      (f) => f.startMs <= ring.firedMs && (f.closedAt ?? Infinity) >= ring.windowStartMs - 60_000,
    );
    expect(used.length).toBeGreaterThan(1);
    expect(used.every((f) => f.deletedAt !== undefined)).toBe(true);
    const kept = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString')).getContainerClient(
      KEPT_CONTAINER,
    );
    for (const name of before.keptFiles) expect(await kept.getBlobClient(name).exists()).toBe(true);
  });

  it('under a full budget keeps its pre-alert files while its capture waits, and a capture that never starts still reports them', async () => {
    h = await startPollerHarness({
      settings: { ...RING_SETTINGS, CAPTURE_SESSION_BUDGET: '1', PENDING_TIMEOUT_SECONDS: '30' },
    });
    const ring = await ringVm(h);
    h.ctx.rings = ringDirectory(ring.vm, ring.storagePath);
    await h.emulator.advanceClock((ring.firedMs - h.emulator.now()) / 1000);
    // Another VM's capture holds the region's only slot.
    const busy = vmId(`busy-${randomUUID().slice(0, 8)}`);
    h.emulator.registerVm({ id: busy, location: REGION });
    expect((await h.post(firedMetricAlert(busy))).body.outcome).toBe('started');

    const alert = alertOn(ring.vm, ring.windowStartMs, ring.firedMs);
    const alertId = alert.data.essentials.alertId;
    expect((await h.post(alert)).body.outcome).toBe('pending');

    let keptWhilePending = 0;
    const message = await tickUntilNotified(h, alertId, 80, async () => {
      const record = await recordOf(h!, alertId);
      if (record.state === 'pending')
        keptWhilePending = Math.max(keptWhilePending, record.keptFiles?.length ?? 0);
    });

    expect(keptWhilePending).toBeGreaterThan(0);
    expect(message.type).toBe('capture.failed');
    expect(message.reason).toContain('no capture could be started');
    expect(message.before).toMatchObject({ coversStart: true, complete: true });
    expect(message.before?.summary?.conversations.some(talksWith(BEFORE_PEER))).toBe(true);
    expect(message.change).toBeUndefined();
    // A report of the kept files alone, saying there is no capture after.
    const html = await downloadReport(message.capture.reportUrl!);
    expect(html).toContain('id="before-after"');
    expect(html).toContain('no capture after the alert');
    expect(html).toContain(BEFORE_PEER);
  });

  it("keeps the window of a second alert on the VM too, though it is answered alreadyCapturing (the first alert's capture runs)", async () => {
    h = await startPollerHarness({ settings: RING_SETTINGS });
    const ring = await ringVm(h);
    h.ctx.rings = ringDirectory(ring.vm, ring.storagePath);
    await h.emulator.advanceClock((ring.firedMs - h.emulator.now()) / 1000);
    const first = alertOn(ring.vm, ring.windowStartMs, ring.firedMs);
    expect((await h.post(first)).body.outcome).toBe('started');
    // Another rule fires on the same incident a minute later, with its own window.
    await h.emulator.advanceClock(60);
    const second = alertOn(ring.vm, ring.windowStartMs + 60_000, ring.firedMs + 60_000);
    expect((await h.post(second)).body.outcome).toBe('alreadyCapturing');
    const secondId = second.data.essentials.alertId;

    let record = await recordOf(h, secondId);
    for (let tick = 0; record.keepDueAt !== undefined && tick < 40; tick++) {
      await h.emulator.advanceClock(TICK_SECONDS);
      await h.tick();
      record = await recordOf(h, secondId);
    }
    expect(record).toMatchObject({ state: 'ignored', keepComplete: true, keptCoversStart: true });
    expect(Date.parse(record.keptFrom!)).toBeLessThanOrEqual(ring.windowStartMs);
    const kept = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString')).getContainerClient(
      KEPT_CONTAINER,
    );
    for (const name of record.keptFiles ?? []) expect(await kept.getBlobClient(name).exists()).toBe(true);
    expect(record.keptFiles?.length).toBeGreaterThan(1);
  });

  it('past RING_KEEP_WAIT_SECONDS reports what was kept, saying the last file was still being written', async () => {
    h = await startPollerHarness({ settings: { ...RING_SETTINGS, RING_KEEP_WAIT_SECONDS: '0' } });
    const ring = await ringVm(h);
    h.ctx.rings = ringDirectory(ring.vm, ring.storagePath);
    await h.emulator.advanceClock((ring.firedMs - h.emulator.now()) / 1000);
    const alert = alertOn(ring.vm, ring.windowStartMs, ring.firedMs);
    expect((await h.post(alert)).body.outcome).toBe('started');

    const message = await tickUntilNotified(h, alert.data.essentials.alertId);

    expect(message.before).toMatchObject({ complete: false, coversStart: true });
    expect(message.before?.keptFileCount).toBeGreaterThan(0);
    expect(message.before?.note).toContain(
      "the file holding the alert's last minutes was still being written",
    );
  });
});
