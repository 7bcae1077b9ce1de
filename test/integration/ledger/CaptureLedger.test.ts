import { beforeAll, describe, expect, it } from 'vitest';
import type { CaptureLedger } from '../../../src/ledger/CaptureLedger.js';
import { SUMMARY_JSON_MAX_CHARS, type CaptureRecord } from '../../../src/ledger/captureRecord.js';
import { freshLedger, newRecord, testClock, type TestClock } from './ledgerTestSupport.js';

let ledger: CaptureLedger;
let clock: TestClock;

beforeAll(async () => {
  clock = testClock();
  ledger = await freshLedger({ now: () => clock.now });
});

async function inserted(overrides: Parameters<typeof newRecord>[0] = {}): Promise<CaptureRecord> {
  const result = await ledger.insert(newRecord(overrides));
  if (!result.created) throw new Error('expected a new record');
  return result.record;
}

describe('CaptureLedger.ensureTable', () => {
  it('succeeds when the table already exists', async () => {
    await expect(ledger.ensureTable()).resolves.toBeUndefined();
  });
});

describe('CaptureLedger.insert', () => {
  it('creates a pending record with counters at 0 and the clock time', async () => {
    const init = newRecord();
    const result = await ledger.insert(init);
    expect(result.created).toBe(true);
    if (!result.created) return;
    expect(result.record).toMatchObject({
      ...init,
      state: 'pending',
      attempts: 0,
      notifyAttempts: 0,
      createdAt: clock.now.toISOString(),
      updatedAt: clock.now.toISOString(),
    });
    expect(result.record.etag).toBeTruthy();
    expect(await ledger.get(init.alertId)).toEqual(result.record);
  });

  it('returns the existing record, unchanged, for an alert id already recorded', async () => {
    const first = await inserted({ ruleName: 'first delivery' });
    const again = await ledger.insert(newRecord({ alertId: first.alertId, ruleName: 'second delivery' }));
    expect(again).toEqual({ created: false, existing: first });
    expect((await ledger.get(first.alertId))?.ruleName).toBe('first delivery');
  });

  it('creates exactly one record when the same alert arrives 10 times at once', async () => {
    const init = newRecord();
    const results = await Promise.all(Array.from({ length: 10 }, () => ledger.insert(init)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.filter((r) => !r.created)).toHaveLength(9);
  });

  it.each([
    ['slashes, hash and question mark', '/subscriptions/x/alerts/a#b?c=d\\e'],
    ['unicode', 'alerte-übermäßig-🔥-告警'],
    ['control characters', 'line1\nline2\ttab'],
    ['2 KB long', `/subscriptions/${'x'.repeat(2048)}`],
  ])('keys an alert id with %s', async (_label, alertId) => {
    const result = await ledger.insert(newRecord({ alertId }));
    expect(result.created).toBe(true);
    expect((await ledger.get(alertId))?.alertId).toBe(alertId);
    expect((await ledger.insert(newRecord({ alertId }))).created).toBe(false);
  });

  it('keeps alert ids that differ only in case apart', async () => {
    const lower = newRecord({ alertId: 'case-test-alert-a' });
    const upper = newRecord({ alertId: 'CASE-TEST-ALERT-A' });
    expect((await ledger.insert(lower)).created).toBe(true);
    expect((await ledger.insert(upper)).created).toBe(true);
  });
});

describe('CaptureLedger.get', () => {
  it('returns undefined for an unknown alert id', async () => {
    expect(await ledger.get('never-seen')).toBeUndefined();
  });
});

describe('CaptureLedger.transition', () => {
  it('applies the changes, sets updatedAt and returns a new etag', async () => {
    const record = await inserted();
    clock.advanceSeconds(5);
    const next = await ledger.transition(record, {
      state: 'running',
      attempts: 1,
      region: 'westeurope',
      captureErrors: ['AgentStopped'],
    });
    expect(next).toMatchObject({
      state: 'running',
      attempts: 1,
      region: 'westeurope',
      captureErrors: ['AgentStopped'],
      createdAt: record.createdAt,
      updatedAt: clock.now.toISOString(),
    });
    expect(next?.etag).not.toBe(record.etag);
    expect(await ledger.get(record.alertId)).toEqual(next);
  });

  it('clears a field given as undefined', async () => {
    const record = await inserted({ nextAttemptAt: '2025-03-01T08:05:00.000Z', lastError: 'throttled' });
    const next = await ledger.transition(record, { nextAttemptAt: undefined, lastError: undefined });
    const stored = await ledger.get(record.alertId);
    expect(next?.nextAttemptAt).toBeUndefined();
    expect(stored).not.toHaveProperty('nextAttemptAt');
    expect(stored).not.toHaveProperty('lastError');
  });

  it('returns undefined and changes nothing when the etag is stale', async () => {
    const record = await inserted();
    const moved = await ledger.transition(record, { state: 'starting' });
    expect(moved).toBeDefined();
    expect(await ledger.transition(record, { state: 'failed', reason: 'stale writer' })).toBeUndefined();
    expect(await ledger.get(record.alertId)).toEqual(moved);
  });

  it('lets exactly one of 10 concurrent transitions from the same etag win', async () => {
    const record = await inserted();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        ledger.transition(record, { state: 'starting', note: `writer ${i}` }),
      ),
    );
    const winners = results.filter((r): r is CaptureRecord => r !== undefined);
    expect(winners).toHaveLength(1);
    expect((await ledger.get(record.alertId))?.note).toBe(winners[0]?.note);
  });

  it('never changes alertId or createdAt', async () => {
    const record = await inserted();
    const changes = {
      alertId: 'hijacked',
      createdAt: '2000-01-01T00:00:00.000Z',
      state: 'starting',
    } as const;
    // Outside the type (a caller's bug): the ledger must still keep identity and creation time.
    const next = await ledger.transition(record, changes);
    expect(next?.alertId).toBe(record.alertId);
    expect(next?.createdAt).toBe(record.createdAt);
    expect(await ledger.get('hijacked')).toBeUndefined();
  });

  it('stores a 200 KB summary whole, split over several properties', async () => {
    const record = await inserted();
    // Emoji (surrogate pairs) right where the 32 000-unit parts would be cut: the split must not break them.
    const prefix = '{"c":"';
    const summaryJson = `${prefix}${'x'.repeat(31_999 - prefix.length)}🔥${'y'.repeat(31_998)}🔥${'z'.repeat(136_000)}"}`;
    expect(summaryJson.charCodeAt(31_999)).toBe(0xd83d); // a high surrogate right before the first cut
    const next = await ledger.transition(record, { state: 'finished', summaryJson });
    const stored = (await ledger.get(record.alertId))?.summaryJson;
    expect(next?.summaryJson === summaryJson).toBe(true);
    // Compared as booleans: a failing diff of 200 KB strings is unreadable.
    expect(stored === summaryJson).toBe(true);
  });

  it('replaces a summary too large to store with a valid JSON marker', async () => {
    const record = await inserted();
    const summaryJson = JSON.stringify({ blob: 'x'.repeat(SUMMARY_JSON_MAX_CHARS) });
    const next = await ledger.transition(record, { summaryJson });
    const stored = await ledger.get(record.alertId);
    expect(JSON.parse(stored?.summaryJson ?? '')).toEqual({
      truncated: true,
      originalLength: summaryJson.length,
    });
    expect(next?.summaryJson).toBe(stored?.summaryJson);
  });

  it('shortens a smaller summary back to one property, dropping the old parts', async () => {
    const record = await inserted();
    const big = await ledger.transition(record, { summaryJson: JSON.stringify({ a: 'y'.repeat(100_000) }) });
    const small = await ledger.transition(big!, { summaryJson: '{"packets":3}' });
    expect(small?.summaryJson).toBe('{"packets":3}');
    expect((await ledger.get(record.alertId))?.summaryJson).toBe('{"packets":3}');
  });

  it('cuts an over-long lastError instead of failing the write', async () => {
    const record = await inserted();
    const next = await ledger.transition(record, { lastError: 'boom '.repeat(10_000) });
    expect(next?.lastError?.length).toBeLessThanOrEqual(8_192);
    expect(next?.lastError?.endsWith('…')).toBe(true);
    expect((await ledger.get(record.alertId))?.lastError).toBe(next?.lastError);
  });
});

describe('CaptureLedger.listActive', () => {
  it('returns the records that need work and nothing else, oldest first', async () => {
    const isolated = await freshLedger({ now: () => clock.now });
    const make = async (state: CaptureRecord['state'], notifiedAt?: string): Promise<string> => {
      clock.advanceSeconds(1);
      const result = await isolated.insert(newRecord({ state, notifiedAt, note: state }));
      if (!result.created) throw new Error('expected a new record');
      return result.record.alertId;
    };
    const active = [
      await make('pending'),
      await make('starting'),
      await make('running'),
      await make('finished'),
      await make('failed'),
    ];
    await make('failed', '2025-03-01T08:30:00.000Z');
    await make('notified', '2025-03-01T08:30:00.000Z');
    await make('ignored');
    await make('notifyFailed');

    const listed = await isolated.listActive();
    expect(listed.map((r) => r.alertId)).toEqual(active);
  });

  it('drops a record once it is notified', async () => {
    const isolated = await freshLedger({ now: () => clock.now });
    const result = await isolated.insert(newRecord({ state: 'failed', reason: 'agent missing' }));
    if (!result.created) throw new Error('expected a new record');
    expect(await isolated.listActive()).toHaveLength(1);
    await isolated.transition(result.record, { notifiedAt: clock.now.toISOString(), notifyAttempts: 1 });
    expect(await isolated.listActive()).toEqual([]);
  });

  it('returns an empty list for an empty ledger', async () => {
    const isolated = await freshLedger();
    expect(await isolated.listActive()).toEqual([]);
  });

  it('does not list budget or lease entities', async () => {
    const isolated = await freshLedger();
    await isolated.tryReserveSlot('sub', 'westeurope', 'alertcap-vm1', new Set(), 10);
    const record = await isolated.insert(newRecord());
    await isolated.acquireTargetLease('alertcap-vm1', record.created ? record.record.alertId : '');
    expect(await isolated.listActive()).toHaveLength(1);
  });
});

describe('CaptureLedger.listDue and an alert keeping its ring files', () => {
  it('is due at the earlier of nextAttemptAt and keepDueAt, and at nextAttemptAt again once keeping ended', async () => {
    const isolated = await freshLedger({ now: () => clock.now });
    const at = (seconds: number) => new Date(clock.now.getTime() + seconds * 1000);
    const result = await isolated.insert(
      newRecord({ nextAttemptAt: at(600).toISOString(), keepDueAt: at(15).toISOString() }),
    );
    if (!result.created) throw new Error('expected a new record');
    const due = async (seconds: number) => (await isolated.listDue(at(seconds))).records.length;
    expect(await due(10)).toBe(0);
    expect(await due(15)).toBe(1);

    // Kept once, due again on the next tick: still before nextAttemptAt.
    const later = await isolated.transition(result.record, { keepDueAt: at(30).toISOString() });
    expect(await due(20)).toBe(0);
    expect(await due(30)).toBe(1);
    // Keeping ended: only the capture's own time counts.
    await isolated.transition(later!, { keepDueAt: undefined, keepComplete: true });
    expect(await due(300)).toBe(0);
    expect(await due(600)).toBe(1);
  });

  it('stores and reads back what was kept', async () => {
    const record = await inserted({
      keepWindowStart: '2025-03-01T07:54:00.000Z',
      keepWindowEnd: '2025-03-01T08:00:00.000Z',
      keptFiles: ['kept/a-1/0a1b2c-1.cap', 'kept/a-1/0a1b2c-2.cap'],
      keptFrom: '2025-03-01T07:53:10.000Z',
      keptCoversStart: false,
      keepComplete: true,
      keepNote: 'kept what was there: https://x.blob.core.windows.net/c/b?sv=1&sig=SECRET',
      beforeSummaryJson: '{"packets":3}',
    });
    const read = await ledger.get(record.alertId);
    expect(read).toMatchObject({
      keptFiles: ['kept/a-1/0a1b2c-1.cap', 'kept/a-1/0a1b2c-2.cap'],
      keptCoversStart: false,
      keepComplete: true,
      beforeSummaryJson: '{"packets":3}',
    });
    expect(read?.keepNote).not.toContain('SECRET');
  });
});

describe('CaptureLedger.listByTarget', () => {
  it('finds the active records of a target whatever the case, newest first', async () => {
    const vmName = `vm-case-${Date.now()}`;
    clock.advanceSeconds(1);
    const older = await inserted({ vmName });
    clock.advanceSeconds(1);
    const newer = await inserted({ vmName });
    await inserted({ vmName: `${vmName}-other` });
    const listed = await ledger.listByTarget(older.target.toUpperCase());
    expect(listed.map((r) => r.alertId)).toEqual([newer.alertId, older.alertId]);
  });

  it('leaves out inactive records unless asked', async () => {
    const vmName = `vm-inactive-${Date.now()}`;
    const done = await inserted({ vmName, state: 'notified', notifiedAt: clock.now.toISOString() });
    expect(await ledger.listByTarget(done.target)).toEqual([]);
    expect((await ledger.listByTarget(done.target, { includeInactive: true })).map((r) => r.alertId)).toEqual(
      [done.alertId],
    );
  });

  it('handles a target with a quote in it', async () => {
    const record = await inserted({
      target: "/subscriptions/x/resourceGroups/o'brien/providers/Microsoft.Compute/virtualMachines/vm",
    });
    expect((await ledger.listByTarget(record.target)).map((r) => r.alertId)).toEqual([record.alertId]);
  });
});

describe('CaptureLedger target lease', () => {
  it('gives the target to the first alert and names it to the second', async () => {
    const captureName = `alertcap-lease-${Date.now()}`;
    const first = await inserted();
    const second = await inserted();
    expect(await ledger.acquireTargetLease(captureName, first.alertId)).toEqual({ acquired: true });
    const denied = await ledger.acquireTargetLease(captureName, second.alertId);
    expect(denied).toEqual({ acquired: false, holder: first });
    expect(await ledger.getTargetLeaseHolder(captureName.toUpperCase())).toEqual(first);
  });

  it('is idempotent for the holder', async () => {
    const captureName = `alertcap-idem-${Date.now()}`;
    const first = await inserted();
    expect(await ledger.acquireTargetLease(captureName, first.alertId)).toEqual({ acquired: true });
    expect(await ledger.acquireTargetLease(captureName, first.alertId)).toEqual({ acquired: true });
  });

  it('passes to a new alert once the holder is notified or failed', async () => {
    const captureName = `alertcap-pass-${Date.now()}`;
    const first = await inserted();
    await ledger.acquireTargetLease(captureName, first.alertId);
    await ledger.transition(first, { state: 'failed', reason: 'agent missing' });
    const second = await inserted();
    expect(await ledger.acquireTargetLease(captureName, second.alertId)).toEqual({ acquired: true });
    expect((await ledger.getTargetLeaseHolder(captureName))?.alertId).toBe(second.alertId);
  });

  it('grants one of 10 concurrent alerts on one target', async () => {
    const captureName = `alertcap-race-${Date.now()}`;
    const records = await Promise.all(Array.from({ length: 10 }, () => inserted()));
    const results = await Promise.all(records.map((r) => ledger.acquireTargetLease(captureName, r.alertId)));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });

  it('has no holder for a target never leased', async () => {
    expect(await ledger.getTargetLeaseHolder('alertcap-nobody')).toBeUndefined();
  });
});
