import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { firedMetricAlert, vmId } from '../../support/appHarness.js';
import {
  PAST_TIME_LIMIT_SECONDS,
  REGION,
  recordOf,
  startPollerHarness,
  webhookMessages,
} from '../poller/pollerSupport.js';

/** A host that must never be asked anything: counts what reaches it. */
async function startForeignHost(): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(200).end('not a capture');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

describe('a capture whose storagePath points at another host (issue 10)', () => {
  it('is followed, never read from that host, and notified as capture.failed saying why', async () => {
    const h = await startPollerHarness();
    const foreign = await startForeignHost();
    const vmName = 'web-planted';
    const vm = vmId(vmName);
    h.emulator.registerVm({ id: vm, location: REGION });
    // A capture whose storage path points at another host: ARM reports the path its caller set (spec example
    // PacketCaptureCreate echoes it), and the property is writable by anyone with packet-capture write. This
    // wrapper over the real gateway reports such a path for the capture the app made (an in-memory stand-in for
    // two calls of our interface, not a mock of the SDK); the emulator itself always reports its own blob URL.
    const plantedPath = `${foreign.url}/devstoreaccount1/network-watcher-logs/planted.cap`;
    const real = h.ctx.gateway;
    const gateway = Object.create(real) as typeof real;
    gateway.createCapture = async (...args: Parameters<typeof real.createCapture>) => ({
      ...(await real.createCapture(...args)),
      storagePath: plantedPath,
    });
    gateway.getCapture = async (...args: Parameters<typeof real.getCapture>) => {
      const capture = await real.getCapture(...args);
      return (
        capture && { ...capture, storageLocation: { ...capture.storageLocation, storagePath: plantedPath } }
      );
    };
    h.ctx.gateway = gateway;

    const answer = await h.post(firedMetricAlert(vm));
    expect(answer.body.outcome).toBe('started');
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    await h.tick();

    expect(foreign.requests()).toBe(0);
    const messages = webhookMessages(h);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.type).toBe('capture.failed');
    expect(messages[0]?.reason).toContain('capture file outside the capture account');
    const record = await recordOf(h, answer.body.alertId ?? '');
    expect(record.state).toBe('failed');
    expect(record.summaryJson).toBeUndefined();
  });
});
