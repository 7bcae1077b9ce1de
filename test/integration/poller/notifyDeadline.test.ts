import { describe, expect, it, onTestFinished } from 'vitest';
import { notifyRecord } from '../../../src/captures/notifyRecord.js';
import { pollCaptures } from '../../../src/captures/pollCaptures.js';
import { emptyPollReport } from '../../../src/captures/pollTypes.js';
import type { PollDeps } from '../../../src/captures/pollTypes.js';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import {
  PAST_TIME_LIMIT_SECONDS,
  alertStartsCapture,
  recordOf,
  startPollerHarness,
  webhookMessages,
} from './pollerSupport.js';
import { startRecordingReceiver } from './recordingReceiver.js';

/** A storage call that never answers: it settles only when its caller's deadline aborts it. */
function stalled(calls: AbortSignal[]) {
  return (
    _record: CaptureRecord,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<string | undefined> => {
    const signal = options.abortSignal;
    if (signal) calls.push(signal);
    return new Promise((_resolve, reject) => {
      if (signal?.aborted) reject(signal.reason as Error);
      signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  };
}

/** Fails when `promise` is still pending after `ms` (a watchdog, so a hang fails the test instead of timing it out). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Review defect B: the report and the links were made without the record's deadline, so a stalled capture account
 * held the singleton poller (and the message) forever.
 */
describe('capture poller: a stalled report or link never holds the message up', () => {
  it("ends the tick within the record's deadline and delivers the message without the report", async () => {
    const RECORD_LIMIT_SECONDS = 5;
    const h = await startPollerHarness({
      settings: {
        POLL_RECORD_TIME_LIMIT_SECONDS: String(RECORD_LIMIT_SECONDS),
        NOTIFY_INCLUDE_SAS_LINK: 'true',
      },
    });
    const { alertId } = await alertStartsCapture(h);
    await h.tick();
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);

    const reportCalls: AbortSignal[] = [];
    const linkCalls: AbortSignal[] = [];
    const files = h.ctx.files!;
    const deps: PollDeps = {
      ...h.ctx,
      // The summary reads the real file in Azurite; the link and the report stall as a hung account would.
      files: { summarize: files.summarize.bind(files), link: stalled(linkCalls) },
      reports: { ensure: stalled(reportCalls), link: stalled(reportCalls) },
    };
    const report = await within(pollCaptures(deps), 3 * RECORD_LIMIT_SECONDS * 1000, 'the tick');

    expect(report, JSON.stringify(await recordOf(h, alertId))).toMatchObject({ notified: 1, errors: 0 });
    const [message] = webhookMessages(h);
    expect(message?.type).toBe('capture.completed');
    expect(message?.summary?.packets).toBeGreaterThan(0);
    // Nothing false: no report or link that was never made.
    expect(message?.capture.reportUrl).toBeUndefined();
    expect(message?.capture.reportLink).toBeUndefined();
    expect(message?.capture.link).toBeUndefined();
    expect((await recordOf(h, alertId)).state).toBe('notified');
    // Both stalled calls were given a deadline, and it ran out.
    expect(linkCalls).toHaveLength(1);
    expect(reportCalls).toHaveLength(1);
    expect([...linkCalls, ...reportCalls].every((s) => s.aborted)).toBe(true);
  });

  it("sends the message without trying the report or the link when the record's deadline is too near", async () => {
    const endpoint = await startRecordingReceiver({ failFirst: 1 });
    onTestFinished(() => endpoint.stop());
    const h = await startPollerHarness({
      settings: { NOTIFY_WEBHOOK_URL: `${endpoint.url}/oncall`, NOTIFY_INCLUDE_SAS_LINK: 'true' },
    });
    const { alertId } = await alertStartsCapture(h);
    await h.tick();
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    const files = h.ctx.files!;
    let extrasAsked = 0;
    const counted = (_record: CaptureRecord, options: { abortSignal?: AbortSignal } = {}) => {
      extrasAsked++;
      return stalled([])(_record, options);
    };
    const deps: PollDeps = {
      ...h.ctx,
      files: { summarize: files.summarize.bind(files), link: () => Promise.resolve(undefined) },
      reports: { ensure: () => Promise.resolve(undefined), link: () => Promise.resolve(undefined) },
    };
    // The first message meets a 500: the record stays finished, its summary made.
    await pollCaptures(deps);
    const record = await recordOf(h, alertId);
    expect(record.state).toBe('finished');

    // The next attempt starts with the record's deadline all but spent: no link or report is even asked for.
    const report = emptyPollReport();
    const work = {
      deps: {
        ...deps,
        files: { ...deps.files!, link: counted },
        reports: { ensure: counted, link: counted },
      },
      report,
      abortSignal: new AbortController().signal,
      deadlineInMs: performance.now(),
      now: Date.now(),
    };
    await within(notifyRecord(record, work), 5_000, 'the notify step');
    expect(extrasAsked).toBe(0);
    expect(report.notified).toBe(1);
    expect(endpoint.requests().map((r) => r.status)).toEqual([500, 200]);
    expect((await recordOf(h, alertId)).state).toBe('notified');
  });

  it("never records a summary cut by the record's deadline as a file that could not be read", async () => {
    const RECORD_LIMIT_SECONDS = 5;
    const h = await startPollerHarness({
      settings: { POLL_RECORD_TIME_LIMIT_SECONDS: String(RECORD_LIMIT_SECONDS) },
    });
    const { alertId } = await alertStartsCapture(h);
    await h.tick();
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    const summaries: AbortSignal[] = [];
    const deps: PollDeps = {
      ...h.ctx,
      files: {
        summarize: (record, options) => stalled(summaries)(record, options) as never,
        link: () => Promise.resolve(undefined),
      },
      reports: { ensure: () => Promise.resolve(undefined), link: () => Promise.resolve(undefined) },
    };
    const report = await within(pollCaptures(deps), 3 * RECORD_LIMIT_SECONDS * 1000, 'the tick');

    expect(summaries).toHaveLength(1);
    expect(report.notified).toBe(0);
    const record = await recordOf(h, alertId);
    expect(record.state).toBe('finished');
    expect(record.reason).toBeUndefined();
    expect(record.summaryJson).toBeUndefined();
    // A failed attempt, retried later (then the summary is made again).
    expect(record.notifyAttempts).toBe(1);
    expect(record.lastError).toMatch(/^notification failed/);
    expect(webhookMessages(h)).toHaveLength(0);
  });
});
