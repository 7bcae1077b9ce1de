import { describe, expect, it, onTestFinished } from 'vitest';
import { firedMetricAlert } from '../../support/appHarness.js';
import {
  PAST_TIME_LIMIT_SECONDS,
  TIME_LIMIT_SECONDS,
  alertStartsCapture,
  recordOf,
  startPollerHarness,
  webhookMessages,
} from './pollerSupport.js';
import { startRecordingReceiver } from './recordingReceiver.js';

/** What the poller does when things go wrong after a capture started. */
describe('capture poller: recovery', () => {
  it('a capture whose notification keeps failing does not keep a new alert on that VM from being captured', async () => {
    const down = await startRecordingReceiver({ failFirst: 1000 });
    onTestFinished(() => down.stop());
    const h = await startPollerHarness({ settings: { NOTIFY_WEBHOOK_URL: down.url } });
    const first = await alertStartsCapture(h);
    await h.tick();
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    await h.tick();
    expect((await recordOf(h, first.alertId)).state).toBe('finished');
    expect(down.requests().length).toBeGreaterThan(0);

    const second = await h.post(firedMetricAlert(first.vmId));
    expect(second.status).toBe(202);
    expect(second.body.outcome).toBe('started');
    // Capture names are per attempt (README, "Fencing"): the new alert's capture runs on the same VM.
    const onVm = () =>
      h.emulator.captures().filter((c) => c.target.toLowerCase() === first.vmId.toLowerCase());
    const running = onVm().filter((c) => c.status !== 'Stopped');
    expect(running).toHaveLength(1);
    expect(running[0]?.name).toBe(second.body.captureName);

    // The first record's notification goes out later; nothing of it touches the second alert's capture.
    down.failNext(0);
    await h.emulator.advanceClock(5);
    h.advanceAppClock(65);
    await h.tick();
    expect((await recordOf(h, first.alertId)).state).toBe('notified');
    expect(onVm().map((c) => [c.name, c.status])).toEqual([[second.body.captureName, 'Running']]);
  });

  it('retries deleting the capture resource after notifying, without notifying again', async () => {
    const h = await startPollerHarness();
    const { alertId, captureName } = await alertStartsCapture(h);
    await h.tick();
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    h.emulator.addFault({ method: 'DELETE', pathPattern: '/packetCaptures/', kind: 'error500', count: 8 });
    await h.tick();
    expect(webhookMessages(h)).toHaveLength(1);
    const waiting = await recordOf(h, alertId);
    expect(waiting).toMatchObject({ state: 'finished', lastError: 'capture resource not deleted yet' });
    expect(waiting.notifiedAt).toBeDefined();
    expect(h.emulator.captures().some((c) => c.name === captureName)).toBe(true);

    h.emulator.clearFaults();
    h.advanceAppClock(301);
    await h.tick();
    await h.emulator.advanceClock(0); // the delete was accepted, not waited for
    expect(h.emulator.captures().some((c) => c.name === captureName)).toBe(false);
    expect((await recordOf(h, alertId)).state).toBe('notified');
    expect(webhookMessages(h)).toHaveLength(1);
  });

  it('fails, stops and notifies a capture still running well past its time limit', async () => {
    const h = await startPollerHarness({ settings: { STUCK_TIMEOUT_SECONDS: '60' } });
    const { alertId, captureName } = await alertStartsCapture(h);
    await h.emulator.advanceClock(5);
    await h.tick();
    expect(h.emulator.captures().find((c) => c.name === captureName)?.status).toBe('Running');

    // Network Watcher should have stopped it at its limit; the app's clock runs past limit + STUCK_TIMEOUT.
    h.advanceAppClock(TIME_LIMIT_SECONDS + 61);
    await h.tick();
    const [message] = webhookMessages(h);
    expect(message?.type).toBe('capture.failed');
    expect(message?.reason).toMatch(/still Running 60 s after its time limit/);
    expect((await recordOf(h, alertId)).state).toBe('failed');
    const stops = h.emulator
      .requests()
      .filter((r) => r.method === 'POST' && r.path.endsWith(`/${captureName}/stop`));
    expect(stops.length).toBeGreaterThan(0);
    await h.emulator.advanceClock(0); // the delete was accepted, not waited for
    expect(h.emulator.captures().some((c) => c.name === captureName)).toBe(false);
  });
});
