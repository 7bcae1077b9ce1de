import { describe, expect, it, onTestFinished } from 'vitest';
import type { CaptureNotification } from '../../../src/notify/captureNotification.js';
import {
  SUB,
  firedMetricAlert,
  startAppHarness,
  vmId,
  type AppHarness,
  type StartAppHarnessOptions,
} from '../../support/appHarness.js';
import { startRecordingReceiver } from '../poller/recordingReceiver.js';

/**
 * The lifecycle against the emulator's realistic Azure (issue 9): Retry-After 10 s on every long-running
 * operation (operations that last it, 409 AnotherOperationInProgress meanwhile), files uploaded after the stop,
 * captures made by people, agents installed under other names. Each test failed on d4d00f0.
 */

const REGION = 'westeurope';
const WATCHER_ID = `${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_${REGION}`;

async function realistic(options: StartAppHarnessOptions = {}): Promise<AppHarness> {
  const h = await startAppHarness({
    ...options,
    settings: { ALLOWED_SCOPES: '*', CAPTURE_TIME_LIMIT_SECONDS: '60', ...options.settings },
    emulator: { retryAfterSeconds: 10, uploadDelaySeconds: 20, ...options.emulator },
  });
  onTestFinished(() => h.stop());
  return h;
}

const messages = (h: AppHarness) => h.receiver.notifications() as CaptureNotification[];

/** Ticks every 30 emulated seconds (the default schedule) until `done` or `maxTicks`. */
async function tickUntil(h: AppHarness, done: () => boolean, maxTicks = 20): Promise<number> {
  for (let i = 0; i < maxTicks; i++) {
    if (done()) return i;
    await h.emulator.advanceClock(30);
    await h.tick();
  }
  return maxTicks;
}

describe('on realistic Azure', () => {
  it('done-when: ten stopped captures of people, an agent named networkWatcherAgent, late file: started, one capture.completed with a summary', async () => {
    const h = await realistic({
      settings: { CAPTURE_SESSION_BUDGET: '10' },
      emulator: { fileNameSkewMs: 1500 },
    });
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: REGION, agentExtensionName: 'networkWatcherAgent' });
    for (let i = 0; i < 10; i++) {
      h.emulator.plantCapture({
        watcherId: WATCHER_ID,
        name: `portal-capture-${i}`,
        target: vmId(`other-${i}`),
        status: 'Stopped',
      });
    }

    const answer = await h.post(firedMetricAlert(vm));
    expect(answer.status).toBe(202);
    expect(answer.body.outcome).toBe('started');
    const reported = h.emulator.captures().find((c) => c.name === answer.body.captureName)?.storagePath;
    expect(reported).toBeDefined();

    await tickUntil(h, () => messages(h).length > 0);
    await h.emulator.advanceClock(60);
    await h.tick(); // nothing more is sent
    const sent = messages(h);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      type: 'capture.completed',
      capture: { name: answer.body.captureName, status: 'Stopped', stopReason: 'TimeExceeded' },
    });
    expect(sent[0]?.summary?.packets).toBeGreaterThan(0);
    // The file was found under its folder although its name differs from the storagePath ARM reported.
    expect(sent[0]?.capture.storagePath).toMatch(/packetcapture_\d\d_\d\d_\d\d_\d{3}\.cap$/);
    expect(sent[0]?.capture.storagePath).not.toBe(reported?.split('?')[0]);
    // The people's captures were read, never stopped or deleted.
    const touched = h.emulator
      .requests()
      .filter(
        (r) =>
          r.path.includes('/packetCaptures/portal-capture-') &&
          (r.method === 'DELETE' || r.path.endsWith('/stop')),
      );
    expect(touched).toEqual([]);
  });

  it('scenario 3: reports a transitioning or failed agent in plain words, whatever its name', async () => {
    const h = await realistic();
    h.emulator.registerVm({
      id: vmId('busy-01'),
      location: REGION,
      agentExtensionName: 'Microsoft.Azure.NetworkWatcher',
      agentState: 'Transitioning',
    });
    h.emulator.registerVm({
      id: vmId('broken-01'),
      location: REGION,
      agentExtensionName: 'networkWatcherAgent',
      agentState: 'Failed',
    });

    const busy = await h.post(firedMetricAlert(vmId('busy-01')));
    const broken = await h.post(firedMetricAlert(vmId('broken-01')));

    expect(busy.body).toMatchObject({ outcome: 'pending' });
    expect(busy.body.reason).toContain(
      'the Network Watcher agent on busy-01 (extension Microsoft.Azure.NetworkWatcher) is still being installed or updated',
    );
    expect(broken.body).toMatchObject({ outcome: 'failed' });
    expect(broken.body.reason).toContain(
      'the Network Watcher agent on broken-01 (extension networkWatcherAgent) is in a failed state',
    );
    // No second agent is installed next to one under another name.
    expect(
      h.emulator.requests().filter((r) => r.method === 'PUT' && r.path.includes('/extensions/')),
    ).toEqual([]);
  });

  it('scenario 4: a finished capture frees its slot at once, while its notification keeps failing', async () => {
    const down = await startRecordingReceiver({ failFirst: 1000 });
    onTestFinished(() => down.stop());
    const h = await realistic({ settings: { CAPTURE_SESSION_BUDGET: '1', NOTIFY_WEBHOOK_URL: down.url } });
    h.emulator.registerVm({ id: vmId('app-01'), location: REGION });
    h.emulator.registerVm({ id: vmId('app-02'), location: REGION });
    const first = await h.post(firedMetricAlert(vmId('app-01')));
    const second = await h.post(firedMetricAlert(vmId('app-02')));
    expect(first.body.outcome).toBe('started');
    expect(second.body.outcome).toBe('pending');

    await tickUntil(h, () => h.emulator.captures().some((c) => c.name === second.body.captureName));

    expect(h.emulator.captures().some((c) => c.name === second.body.captureName)).toBe(true);
    // ...while the first capture's notification has never gone through.
    expect(down.requests().length).toBeGreaterThan(0);
    expect((await h.ctx.ledger.get(first.body.alertId as string))?.notifiedAt).toBeUndefined();
  });

  it('scenario 5: stop-on-resolve answers stopped once ARM accepted the stop, and no tick waits for an operation', async () => {
    const h = await realistic({ settings: { STOP_ON_RESOLVE: 'true' } });
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: REGION });
    const alert = firedMetricAlert(vm);
    const started = await h.post(alert);
    await h.emulator.advanceClock(15); // its create operation (10 s) is over; it runs
    await h.tick();

    const resolved = await h.post(
      firedMetricAlert(vm, { alertId: started.body.alertId, monitorCondition: 'Resolved' }),
    );
    expect(resolved.body).toMatchObject({ outcome: 'stopped', captureName: started.body.captureName });

    // The next tick asks for the status; ARM answers 202 with Retry-After 10: the tick does not wait for it.
    const before = h.emulator.requests().length;
    await h.tick();
    const duringTick = h.emulator.requests().slice(before);
    expect(duringTick.map((r) => `${r.method} ${r.path.split('/').slice(-2).join('/')}`)).toEqual([
      `POST ${started.body.captureName}/queryStatus`,
    ]);
    expect((await h.ctx.ledger.get(started.body.alertId as string))?.statusOperationUrl).toBeDefined();

    await tickUntil(h, () => messages(h).length > 0);
    expect(messages(h)).toHaveLength(1);
    expect(messages(h)[0]).toMatchObject({ type: 'capture.completed', capture: { stopReason: 'Manual' } });
  });

  it('poll when it matters: at most 4 ARM requests after the PUT over a 300 s capture that ends normally', async () => {
    const h = await realistic({
      settings: { CAPTURE_TIME_LIMIT_SECONDS: '300' },
      emulator: { uploadDelaySeconds: 0 },
    });
    const vm = vmId('web-01');
    h.emulator.registerVm({ id: vm, location: REGION });
    const started = await h.post(firedMetricAlert(vm));
    const afterPut = h.emulator.requests().length;

    const ticks = await tickUntil(h, () => messages(h).length > 0, 30);

    expect(ticks).toBeGreaterThan(10); // the poller ran all along (every 30 s)
    // The capture's own requests; the ring tags' listing (once per RING_DISCOVERY_SECONDS: the subscriptions of
    // a wide ALLOWED_SCOPES, then each one's tagged resources) is about other VMs.
    const made = h.emulator
      .requests()
      .slice(afterPut)
      .filter((r) => !/\/resources$/i.test(r.path) && !/^\/subscriptions$/i.test(r.path));
    expect(
      made.map((r) => r.method),
      JSON.stringify(made.map((r) => r.path)),
    ).toHaveLength(4);
    expect(messages(h)[0]).toMatchObject({
      type: 'capture.completed',
      capture: { name: started.body.captureName },
    });
  });

  it('scenario 8: a file that never arrives is waited for, then the message goes without a summary, saying why', async () => {
    const h = await realistic({
      settings: { CAPTURE_FILE_WAIT_SECONDS: '60' },
      emulator: { uploadDelaySeconds: 100_000 },
    });
    h.emulator.registerVm({ id: vmId('late-01'), location: REGION });
    await h.post(firedMetricAlert(vmId('late-01')));

    await tickUntil(h, () => messages(h).length > 0);

    expect(messages(h)).toHaveLength(1);
    expect(messages(h)[0]?.summary).toBeUndefined();
    expect(messages(h)[0]?.reason).toBe(
      'no summary: the capture file was not in storage 60 s after the capture ended',
    );
  });
});
