import { describe, expect, it } from 'vitest';
import { summarizeStream } from '../../../src/pcap/summarizeStream.js';
import { Readable } from 'node:stream';
import { firedMetricAlert, vmId } from '../../support/appHarness.js';
import {
  PAST_TIME_LIMIT_SECONDS,
  REGION,
  alertStartsCapture,
  downloadCaptureFile,
  pcapTotals,
  recordOf,
  startPollerHarness,
  webhookMessages,
} from './pollerSupport.js';

describe('capture poller: a capture from webhook to notification', () => {
  it('follows a capture to its time limit, notifies once with the file summary, deletes the capture resource and keeps the file', async () => {
    const h = await startPollerHarness();
    const { alertId, captureName, vmId: vm } = await alertStartsCapture(h);

    await h.tick();
    expect((await recordOf(h, alertId)).state).toBe('running');
    expect(webhookMessages(h)).toEqual([]);

    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    const stopped = h.emulator.captures().find((c) => c.name === captureName);
    expect(stopped).toMatchObject({ status: 'Stopped', stopReason: 'TimeExceeded' });
    await h.tick();

    const messages = webhookMessages(h);
    expect(messages).toHaveLength(1);
    const message = messages[0]!;
    expect(message.type).toBe('capture.completed');
    expect(message.capture).toMatchObject({
      name: captureName,
      target: vm.toLowerCase(),
      region: REGION,
      status: 'Stopped',
      stopReason: 'TimeExceeded',
      errors: [],
    });
    expect(message.alert).toEqual({
      id: alertId,
      rule: 'vm-network-out-high',
      severity: 'Sev2',
      firedAt: '2026-11-21T02:00:00.000Z',
    });
    expect(message.reason).toBeUndefined();
    const storagePath = message.capture.storagePath ?? '';
    expect(storagePath).toBe(stopped?.storagePath?.split('?')[0]);
    expect(storagePath).not.toContain('?');

    // The file is still in storage, and the summary describes exactly that file.
    const file = await downloadCaptureFile(storagePath);
    const totals = pcapTotals(file);
    expect(totals.packets).toBe(stopped?.packets);
    expect(totals.packets).toBeGreaterThan(0);
    const summary = message.summary!;
    expect(summary).toMatchObject({ packets: totals.packets, bytes: totals.bytes, fileBytes: file.length });
    expect(message.capture.sizeBytes).toBe(file.length);
    expect(summary.protocols.reduce((n, p) => n + p.packets, 0)).toBe(totals.packets);
    expect(summary.conversations.length).toBeGreaterThan(0);
    expect(summary.conversations.length).toBeLessThanOrEqual(10);
    const fromFile = await summarizeStream(Readable.from(file));
    expect(summary.protocols).toEqual(fromFile.protocols);
    expect(summary.conversations).toEqual(fromFile.conversations.slice(0, 10));

    // The capture resource is gone (it no longer holds a budget slot); the record is done.
    await h.emulator.advanceClock(0);
    expect(h.emulator.captures().map((c) => c.name)).not.toContain(captureName);
    expect((await recordOf(h, alertId)).state).toBe('notified');
  });

  it('notifies capture.failed with the errors and a plain reason when the capture ends in Error', async () => {
    const h = await startPollerHarness();
    // The PUT is accepted, then its operation fails: the capture shows status Error (InternalError).
    h.emulator.addFault({
      method: 'PUT',
      pathPattern: '/packetCaptures/',
      kind: 'operationFailed',
      count: 1,
    });
    const { alertId, captureName } = await alertStartsCapture(h);
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    expect(h.emulator.captures().find((c) => c.name === captureName)?.status).toBe('Error');

    await h.tick();

    const messages = webhookMessages(h);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      type: 'capture.failed',
      capture: { name: captureName, status: 'Error', errors: ['InternalError'] },
      reason: 'the capture failed: internal error in Network Watcher',
    });
    const record = await recordOf(h, alertId);
    expect(record.state).toBe('failed');
    expect(record.notifiedAt).toBeDefined();
    await h.emulator.advanceClock(0);
    expect(h.emulator.captures().map((c) => c.name)).not.toContain(captureName);
  });

  it('fails and notifies a capture that stays NotStarted past STUCK_TIMEOUT_SECONDS, and stops it', async () => {
    // The emulator keeps new captures NotStarted for an hour; its stop and delete operations run as usual.
    const h = await startPollerHarness({
      settings: { STUCK_TIMEOUT_SECONDS: '60' },
      emulator: { captureStartSeconds: 3600 },
    });
    const { alertId, captureName } = await alertStartsCapture(h);
    await h.tick();
    expect(webhookMessages(h)).toEqual([]);

    h.advanceAppClock(61);
    await h.tick();

    const messages = webhookMessages(h);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      type: 'capture.failed',
      capture: { name: captureName, status: 'NotStarted' },
      reason: 'the capture stayed NotStarted for more than 60 s',
    });
    const record = await recordOf(h, alertId);
    expect(record).toMatchObject({ state: 'failed', captureStatus: 'NotStarted' });
    expect(record.notifiedAt).toBeDefined();
    // Stopped, so it cannot start late and write a file nobody hears about; then deleted.
    const calls = h.emulator.requests().filter((r) => r.path.toLowerCase().includes(captureName));
    expect(calls.some((r) => r.method === 'POST' && r.path.endsWith('/stop'))).toBe(true);
    // Its create operation is still running (this emulator keeps it NotStarted for an hour), so ARM answers 409
    // AnotherOperationInProgress to the stop and the delete, as Azure does; the delete is retried on later ticks.
    await h.emulator.advanceClock(3600);
    await h.tick();
    await h.emulator.advanceClock(0);
    expect(h.emulator.captures().map((c) => c.name)).not.toContain(captureName);
    expect(webhookMessages(h)).toHaveLength(1);
  });

  it('fails and notifies a record still pending past PENDING_TIMEOUT_SECONDS, with its last error', async () => {
    const h = await startPollerHarness({
      settings: { PENDING_TIMEOUT_SECONDS: '60', AUTO_INSTALL_AGENT: 'true' },
      emulator: { agentInstallSeconds: 3600 },
    });
    const vm = vmId('db-01');
    h.emulator.registerVm({ id: vm, location: REGION, agentInstalled: false });
    const answer = await h.post(firedMetricAlert(vm));
    expect(answer.body).toMatchObject({ outcome: 'pending' });
    const alertId = answer.body.alertId ?? '';

    await h.tick(); // Its retry time has not come: nothing happens.
    expect((await recordOf(h, alertId)).state).toBe('pending');
    expect(webhookMessages(h)).toEqual([]);

    h.advanceAppClock(61);
    await h.tick();

    const messages = webhookMessages(h);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      type: 'capture.failed',
      capture: { target: vm.toLowerCase() },
      reason: 'no capture could be started within 60 s: installing the Network Watcher agent on db-01',
    });
    const record = await recordOf(h, alertId);
    expect(record.state).toBe('failed');
    expect(record.notifiedAt).toBeDefined();
    expect(h.emulator.captures()).toEqual([]);
  });

  it('stops the capture when the alert resolves (STOP_ON_RESOLVE) and notifies capture.completed with the manual stop', async () => {
    const h = await startPollerHarness({ settings: { STOP_ON_RESOLVE: 'true' } });
    const { alertId, captureName, vmId: vm } = await alertStartsCapture(h);
    await h.emulator.advanceClock(10); // Running, 8 s of traffic.
    await h.tick();
    expect((await recordOf(h, alertId)).state).toBe('running');

    const resolved = await h.post(firedMetricAlert(vm, { alertId, monitorCondition: 'Resolved' }));
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ outcome: 'stopped', captureName });
    const stopped = h.emulator.captures().find((c) => c.name === captureName);
    expect(stopped).toMatchObject({ status: 'Stopped', stopReason: 'Manual' });

    await h.tick();

    const messages = webhookMessages(h);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      type: 'capture.completed',
      capture: { name: captureName, status: 'Stopped', stopReason: 'Manual' },
      summary: { packets: stopped?.packets },
    });
    expect((await recordOf(h, alertId)).state).toBe('notified');
  });
});
