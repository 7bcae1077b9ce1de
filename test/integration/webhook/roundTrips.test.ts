import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '../../emulator/types.js';
import { firedMetricAlert, startAppHarness, vmId, type AppHarness } from '../../support/appHarness.js';
import { countRounds, isCapturePut, recordOf, resetApp } from './webhookTestSupport.js';

/**
 * Sequential ARM round trips from the webhook's receipt to the capture PUT (the PUT included), measured on the
 * emulator's request log with 50 ms of latency per request: requests that overlap count as one round.
 * DESIGN.md: ≤ 3 cold, ≤ 2 with warm caches.
 */

const LATENCY_IN_MS = 50;

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness();
  resetApp(h);
  h.emulator.configure({ latencyInMs: LATENCY_IN_MS });
  for (const name of ['web-01', 'web-02']) h.emulator.registerVm({ id: vmId(name), location: 'eastus' });
});
afterAll(() => h.stop());

/** Posts an alert on `vm` and returns the ARM requests it made, up to and including its capture PUT. */
async function requestsUpToPut(vm: string): Promise<RequestLogEntry[]> {
  const before = h.emulator.requests().length;
  const res = await h.post(firedMetricAlert(vm));
  expect(res.body.outcome).toBe('started');
  const made = h.emulator.requests().slice(before);
  const put = made.find((r) => isCapturePut(r));
  expect(put).toBeDefined();
  return made.filter((r) => r.startedAt <= (put as RequestLogEntry).startedAt);
}

// The tests build on each other's caches, in order, as one function instance would.
describe('sequential ARM round trips before a capture starts', () => {
  it('first alert (cold caches): at most 3', async () => {
    const requests = await requestsUpToPut(vmId('web-01'));

    expect(countRounds(requests)).toBeLessThanOrEqual(3);
  });

  it('another VM in a region already seen: at most 3', async () => {
    const requests = await requestsUpToPut(vmId('web-02'));

    expect(countRounds(requests)).toBeLessThanOrEqual(3);
    // The subscription's watcher list came from the cache.
    expect(requests.filter((r) => /\/networkWatchers$/i.test(r.path))).toEqual([]);
  });

  it('a VM seen before, after its capture was deleted (warm caches): at most 2', async () => {
    // web-01's capture ends and the poller notifies and deletes it, freeing the VM for a new alert.
    await h.emulator.advanceClock(65);
    const first = h.emulator.captures().find((c) => c.target.toLowerCase() === vmId('web-01').toLowerCase());
    expect(first?.status).toBe('Stopped');
    const records = await h.ctx.ledger.listActive();
    const web01 = records.find((r) => r.target.toLowerCase() === vmId('web-01').toLowerCase());
    for (let i = 0; i < 3 && h.emulator.captures().some((c) => c.name === first?.name); i++) {
      await h.tick();
      await h.emulator.advanceClock(0); // the delete is accepted, not waited for
    }
    expect(h.emulator.captures().some((c) => c.name === first?.name)).toBe(false);
    expect((await recordOf(h, web01?.alertId as string)).state).toBe('notified');

    const requests = await requestsUpToPut(vmId('web-01'));

    expect(countRounds(requests)).toBeLessThanOrEqual(2);
  });
});
