import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppContext } from '../../../src/appContext.js';
import type { GatewayCallOptions } from '../../../src/azure/captureGateway.js';
import { RESOLVE_CALL_TIME_LIMIT_IN_MS, resolveCapture } from '../../../src/cli/resolveCapture.js';

const SUB_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Review defect C: the verbs (stop, delete, show, download, wait, report) called resolveCapture without options,
 * so its ARM listings had no deadline and a stalled ARM hung the CLI. An in-memory app whose ledger knows nothing
 * and whose gateway's listing never answers unless its caller aborts (a hung connection).
 */
function stalledApp(signals: AbortSignal[]): AppContext {
  const stalled = (_arg: unknown, options: GatewayCallOptions = {}) =>
    new Promise<never>((_resolve, reject) => {
      const signal = options.abortSignal;
      if (!signal) return;
      signals.push(signal);
      if (signal.aborted) reject(signal.reason as Error);
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  return {
    config: { allowedScopes: [`/subscriptions/${SUB_ID}`] },
    ledger: { get: () => Promise.resolve(undefined), findByCaptureName: () => Promise.resolve(undefined) },
    gateway: { listWatchers: stalled, listCaptures: stalled },
  } as unknown as AppContext;
}

describe('resolveCapture deadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives up on a stalled ARM listing after its own deadline when the verb passes none', async () => {
    const signals: AbortSignal[] = [];
    const found = resolveCapture(stalledApp(signals), 'alertcap-web-01-x');
    const outcome = found.then(
      () => 'resolved',
      (e: unknown) => (e as DOMException).name,
    );
    await vi.advanceTimersByTimeAsync(RESOLVE_CALL_TIME_LIMIT_IN_MS - 1);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(outcome).resolves.toBe('TimeoutError');
  });

  it("stops at the caller's deadline when it comes first", async () => {
    const signals: AbortSignal[] = [];
    const caller = new AbortController();
    const found = resolveCapture(stalledApp(signals), 'alertcap-web-01-x', [], {
      abortSignal: caller.signal,
    });
    const outcome = found.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    caller.abort(new Error('verb deadline'));
    await expect(outcome).resolves.toMatchObject({ message: 'verb deadline' });
  });
});
