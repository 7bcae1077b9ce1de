import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { captureNameFor } from '../../../src/captures/captureName.js';
import { emulatorCredential } from '../../emulator/index.js';
import { SUB_ID, firedMetricAlert, vmId } from '../../support/appHarness.js';
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

describe('a planted capture whose storagePath points at another host (issue 10)', () => {
  it('is followed, never read from that host, and notified as capture.failed saying why', async () => {
    const h = await startPollerHarness();
    const foreign = await startForeignHost();
    const vmName = 'web-planted';
    const vm = vmId(vmName);
    h.emulator.registerVm({ id: vm, location: REGION });
    // Someone with packet-capture write creates a capture under our (computable) name on the VM, with a storage
    // path of their own; the PUT is the ARM call anyone with that right can make.
    const captureName = captureNameFor('alertcap', { resourceId: vm, name: vmName });
    const watcher = `/subscriptions/${SUB_ID}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_${REGION}`;
    const token = await emulatorCredential(h.emulator).getToken('https://management.azure.com/.default');
    const planted = await fetch(
      `${h.emulator.url}${watcher}/packetCaptures/${captureName}?api-version=2025-05-01`,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${token?.token ?? ''}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          properties: {
            target: vm,
            timeLimitInSeconds: 60,
            storageLocation: {
              storageId: h.settings.CAPTURE_STORAGE_ACCOUNT_ID,
              storagePath: `${foreign.url}/devstoreaccount1/network-watcher-logs/planted.cap?sig=x`,
            },
          },
        }),
      },
    );
    expect(planted.status).toBe(201);

    // Azure echoes the storagePath its caller set (spec example PacketCaptureCreate); the emulator replaces it with
    // its own blob URL once it uploads the file. This wrapper over the real gateway keeps what the attacker set,
    // as Azure would (an in-memory stand-in for one call of our interface, not a mock of the SDK).
    const plantedPath = `${foreign.url}/devstoreaccount1/network-watcher-logs/planted.cap`;
    const real = h.ctx.gateway;
    const gateway = Object.create(real) as typeof real;
    gateway.getCapture = async (...args: Parameters<typeof real.getCapture>) => {
      const capture = await real.getCapture(...args);
      return (
        capture && { ...capture, storageLocation: { ...capture.storageLocation, storagePath: plantedPath } }
      );
    };
    h.ctx.gateway = gateway;

    // The alert finds "our" capture running on its target and follows it.
    const answer = await h.post(firedMetricAlert(vm));
    expect(answer.body.outcome).toBe('alreadyCapturing');
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
