import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { pollCaptures } from '../../../src/captures/pollCaptures.js';
import type { Logger } from '../../../src/logger.js';
import { firedMetricAlert, startAppHarness, vmId } from '../../support/appHarness.js';
import { startStallingProxy } from '../../support/stallingProxy.js';

/** Scenario 11: Table storage stalls (connections open, no answer). Failed on d4d00f0: no answer at all. */

/** Fails the test instead of hanging when `work` gives no answer within `seconds` (a guard, not a measurement). */
function answersWithin<T>(seconds: number, work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${seconds} s`)), seconds * 1000).unref(),
    ),
  ]);
}

describe('a stalled ledger', () => {
  it('the webhook answers 503 with Retry-After within its budget; a poller tick ends with one log line', async () => {
    const azurite = inject('azuriteConnectionString');
    const tableEndpoint = /TableEndpoint=http:\/\/127\.0\.0\.1:(\d+)/.exec(azurite);
    const proxy = await startStallingProxy(Number(tableEndpoint?.[1]));
    onTestFinished(() => proxy.stop());
    const h = await startAppHarness({
      settings: {
        FAST_PATH_TIMEOUT_SECONDS: '2',
        LEDGER_STORAGE_CONNECTION_STRING: azurite.replace(
          /TableEndpoint=http:\/\/127\.0\.0\.1:\d+/,
          `TableEndpoint=http://127.0.0.1:${proxy.port}`,
        ),
      },
    });
    onTestFinished(() => h.stop());
    h.emulator.registerVm({ id: vmId('web-01'), location: 'eastus' });
    h.emulator.registerVm({ id: vmId('web-02'), location: 'eastus' });
    expect((await h.post(firedMetricAlert(vmId('web-01')))).body.outcome).toBe('started');

    proxy.stall();
    const answer = await answersWithin(8, h.post(firedMetricAlert(vmId('web-02'))));

    expect(answer.status).toBe(503);
    expect(answer.headers['Retry-After']).toBe('30');
    expect(answer.body.error?.code).toBe('LedgerUnavailable');

    const lines: string[] = [];
    const logger: Logger = { info: () => {}, warn: () => {}, error: (m) => lines.push(m) };
    const report = await answersWithin(8, pollCaptures({ ...h.ctx, logger }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^poller: tick skipped, Capture ledger unavailable: (listActive|removeExpired) failed: Timeout/,
    );
    expect(report.errors).toBe(1);
    proxy.resume();
  });
});
