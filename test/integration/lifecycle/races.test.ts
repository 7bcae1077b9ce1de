import { RestError } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { pollCaptures } from '../../../src/captures/pollCaptures.js';
import { attemptCaptureName } from '../../../src/captures/captureName.js';
import { handleAlert } from '../../../src/webhook/handleAlert.js';
import { disableRing } from '../../../src/rings/disableRing.js';
import { SUB_ID, firedMetricAlert, vmId } from '../../support/alertPayloads.js';
import { fakeApp } from './fakeDeps.js';

/**
 * The races of issue 9, each made deterministic by holding one ARM call of the in-memory gateway until the test
 * releases it. Each failed on d4d00f0 (one deterministic name per VM, cleanup and resume by name).
 */

const REGION = 'westeurope';

describe('fencing by attempt', () => {
  it('scenario 1: a slow DELETE of a finished capture never lands on the next alert capture of that VM', async () => {
    const app = await fakeApp();
    const vm = vmId('web-01');
    app.gateway.addVm(vm, REGION);
    const first = await handleAlert(firedMetricAlert(vm), app.deps);
    expect(first.body.outcome).toBe('started');
    const firstName = first.body.captureName as string;
    app.gateway.setStatus(firstName, 'Stopped', 'TimeExceeded');
    app.advance(61); // past its time limit: the poller asks for its status

    // The poller records the end and deletes the finished capture; its DELETE is slow (an SDK retry after a 429).
    const slowDelete = app.gateway.hold('deleteCapture', firstName);
    const tick = pollCaptures(app.deps);
    await slowDelete.reached;
    // Meanwhile a new alert on the same VM starts its capture.
    app.advance(1);
    const second = await handleAlert(firedMetricAlert(vm), app.deps);
    expect(second.body.outcome).toBe('started');
    const secondName = second.body.captureName as string;
    app.gateway.setStatus(secondName, 'Running');
    // The old DELETE lands now.
    slowDelete.release();
    await tick;

    expect(app.gateway.capture(firstName)).toBeUndefined();
    expect(app.gateway.capture(secondName)).toMatchObject({ status: 'Running' });
    const deleted = app.gateway.calls.filter((c) => c.method === 'deleteCapture').map((c) => c.name);
    expect(deleted).toEqual([firstName]);

    // The second capture ends normally: finished with its own capture, never "disappeared".
    app.advance(120);
    app.gateway.setStatus(secondName, 'Stopped', 'TimeExceeded');
    await pollCaptures(app.deps);
    const record = await app.ledger.get(second.body.alertId);
    expect(record).toMatchObject({ state: 'notified', captureStatus: 'Stopped', stopReason: 'TimeExceeded' });
    expect(record?.reason).toBeUndefined();
  });

  it('scenario 2: a resumed record adopts the stopped capture of its own PUT and reports it, never deletes it', async () => {
    const app = await fakeApp();
    const vm = vmId('db-01');
    app.gateway.addVm(vm, REGION);
    // The webhook instance dies right after ARM accepted its PUT: its answer never comes back.
    const alert = firedMetricAlert(vm);
    const name = attemptCaptureName(
      'alertcap',
      { kind: 'vm', vmId: vm, subscriptionId: SUB_ID, resourceGroup: 'app-rg', vmName: 'db-01' },
      alert.data.essentials.alertId,
    );
    const lostAnswer = app.gateway.hold('createCapture', name);
    void handleAlert(alert, app.deps);
    await lostAnswer.reached;
    // ARM accepted the PUT (the capture exists) but its answer never reaches the dead instance (never released):
    // the record stays `starting`.
    app.gateway.plant(REGION, name, vm, 'Running');
    const stale = await app.ledger.get(alert.data.essentials.alertId);
    expect(stale?.state).toBe('starting');

    // A 60 s capture stops within the 120 s before the poller takes over.
    app.gateway.setStatus(name, 'Stopped', 'TimeExceeded');
    app.advance(180);
    await pollCaptures(app.deps); // resumes: adopts its own capture
    await pollCaptures(app.deps); // follows it: records the end, releases it

    const record = await app.ledger.get(alert.data.essentials.alertId);
    expect(record).toMatchObject({ state: 'notified', captureStatus: 'Stopped', stopReason: 'TimeExceeded' });
    expect(record?.storagePath).toBeDefined();
    // Exactly one PUT: the evidence was never deleted and captured again.
    expect(app.gateway.calls.filter((c) => c.method === 'createCapture')).toHaveLength(1);
    expect(app.gateway.calls.filter((c) => c.method === 'deleteCapture').map((c) => c.name)).toEqual([name]);
  });

  it('never stops or deletes a capture without our prefix, and counts a stopped one of a person as free', async () => {
    const app = await fakeApp({ CAPTURE_SESSION_BUDGET: '1' });
    const vm = vmId('web-02');
    app.gateway.addVm(vm, REGION);
    app.gateway.plant(REGION, 'jane-debug', vmId('jump-01'), 'Stopped');

    const answer = await handleAlert(firedMetricAlert(vm), app.deps);
    app.gateway.setStatus(answer.body.captureName as string, 'Stopped', 'TimeExceeded');
    app.advance(120);
    await pollCaptures(app.deps);

    expect(answer.body.outcome).toBe('started');
    expect(app.gateway.capture('jane-debug')).toMatchObject({ status: 'Stopped' });
    const touching = app.gateway.calls.filter(
      (c) => c.name === 'jane-debug' && (c.method === 'stopCapture' || c.method === 'deleteCapture'),
    );
    expect(touching).toEqual([]);
  });
});

describe('refusals and failed creates', () => {
  it('scenario 6: a 409 AnotherOperationInProgress on the delete keeps the release pending and is retried', async () => {
    const app = await fakeApp();
    const vm = vmId('web-03');
    app.gateway.addVm(vm, REGION);
    const answer = await handleAlert(firedMetricAlert(vm), app.deps);
    const name = answer.body.captureName as string;
    app.gateway.setStatus(name, 'Stopped', 'TimeExceeded');
    app.gateway.failNext(
      'deleteCapture',
      new RestError('Another operation on this or dependent resource is in progress.', {
        statusCode: 409,
        code: 'AnotherOperationInProgress',
      }),
    );
    app.advance(120);
    await pollCaptures(app.deps);
    const waiting = await app.ledger.get(answer.body.alertId);
    expect(waiting).toMatchObject({ state: 'finished', lastError: 'capture resource not deleted yet' });
    expect(waiting?.notifiedAt).toBeDefined();
    // A new alert on that VM meanwhile is not held back (the finished capture holds no slot, no lease).
    const next = await handleAlert(firedMetricAlert(vm), app.deps);
    expect(next.body.outcome).toBe('started');

    app.advance(301);
    await pollCaptures(app.deps);
    expect((await app.ledger.get(answer.body.alertId))?.state).toBe('notified');
    expect(app.gateway.capture(name)).toBeUndefined();
  });

  it('scenario 6: a 409 on the PUT leaves the alert pending, never failed', async () => {
    const app = await fakeApp();
    const vm = vmId('web-04');
    app.gateway.addVm(vm, REGION);
    app.gateway.failNext(
      'createCapture',
      new RestError('Another operation on this or dependent resource is in progress.', {
        statusCode: 409,
        code: 'AnotherOperationInProgress',
      }),
    );
    const answer = await handleAlert(firedMetricAlert(vm), app.deps);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ outcome: 'pending' });
    expect(answer.body.reason).toContain('AnotherOperationInProgress');
    app.advance(60);
    await pollCaptures(app.deps);
    expect((await app.ledger.get(answer.body.alertId))?.state).toBe('running');
  });

  it('scenario 7: a create whose operation failed is failed on the next tick with Azure code and message', async () => {
    const app = await fakeApp();
    const vm = vmId('web-05');
    app.gateway.addVm(vm, REGION);
    const answer = await handleAlert(firedMetricAlert(vm), app.deps);
    const name = answer.body.captureName as string;
    // Provisioning failed; the session itself never left NotStarted (so a status query alone shows nothing).
    app.gateway.failCreate(
      name,
      'PacketCaptureSessionFailed',
      'The target VM did not respond to the capture request.',
    );
    app.advance(30);
    await pollCaptures(app.deps);

    const record = await app.ledger.get(answer.body.alertId);
    expect(record?.state).toBe('failed');
    expect(record?.reason).toBe(
      'Network Watcher could not create the capture: PacketCaptureSessionFailed: The target VM did not respond to the capture request.',
    );
    expect(record?.notifiedAt).toBeDefined();
    expect(app.gateway.capture(name)).toBeUndefined(); // released at once
  });
});

describe('a ring disabled while its PUT is in flight', () => {
  it('leaves no capture behind: the PUT that lands after its record ended deletes what it made', async () => {
    const app = await fakeApp();
    const vm = vmId('ring-racer');
    app.gateway.addVm(vm, REGION);
    const ringWanted = () =>
      Promise.resolve({ vms: [{ vmId: vm, vmName: 'ring-racer', subscriptionId: SUB_ID }], complete: true });
    // The tick arms the ring and puts it; ARM takes its time to answer.
    const slowPut = app.gateway.hold('createCapture');
    const tick = pollCaptures({ ...app.deps, ringWanted });
    await slowPut.reached;

    // Meanwhile a person disables the ring: its record ends, and its delete finds nothing yet.
    const disabled = await disableRing(vm, app.deps);
    expect(disabled.removed).toBe(true);
    slowPut.release();
    await tick;

    // The PUT landed after the delete: the putter deleted it, so no ring runs on with nobody to end it.
    expect(app.gateway.list().filter((c) => c.target === vm)).toEqual([]);
    const ringName = app.gateway.calls.find((c) => c.method === 'createCapture')?.name;
    expect(app.gateway.calls.filter((c) => c.method === 'deleteCapture').map((c) => c.name)).toEqual([
      ringName,
      ringName,
    ]);
  });
});

describe('deadlines', () => {
  it('scenario 5: a record whose ARM call hangs gives up at its own deadline; the others are driven meanwhile', async () => {
    const app = await fakeApp({ POLL_RECORD_TIME_LIMIT_SECONDS: '5' });
    app.gateway.addVm(vmId('slow-01'), REGION);
    app.gateway.addVm(vmId('fast-01'), REGION);
    const slow = await handleAlert(firedMetricAlert(vmId('slow-01')), app.deps);
    const fast = await handleAlert(firedMetricAlert(vmId('fast-01')), app.deps);
    await pollCaptures(app.deps); // reads the create operations
    for (const a of [slow, fast])
      app.gateway.setStatus(a.body.captureName as string, 'Stopped', 'TimeExceeded');
    app.advance(61);
    const hung = app.gateway.hold('queryStatus', slow.body.captureName);

    const report = await pollCaptures(app.deps);

    expect(report.errors).toBe(0);
    expect((await app.ledger.get(fast.body.alertId))?.state).toBe('notified');
    const waiting = await app.ledger.get(slow.body.alertId);
    expect(waiting?.state).toBe('running');
    expect(waiting?.lastError).toMatch(/^status not read: .*aborted/);
    hung.release();
  }, 20_000);
});
