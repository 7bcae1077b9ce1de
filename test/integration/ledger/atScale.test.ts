import { TableClient, type TableTransaction } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { describe, expect, inject, it } from 'vitest';
import { CaptureLedger } from '../../../src/ledger/CaptureLedger.js';
import { toCaptureEntity } from '../../../src/ledger/captureRecord.js';
import { freshTableName, newRecord, testClock } from './ledgerTestSupport.js';

/**
 * Scenario 9: the ledger at scale. On d4d00f0 every tick filtered the whole record partition on the non-key
 * `active` property (its cost grew with the lifetime number of alerts) and records were kept forever.
 */

/** A ledger whose Table requests are counted (method and URL), on a fresh table. */
async function countedLedger(now: () => Date) {
  const requests: string[] = [];
  const counting: PipelinePolicy = {
    name: 'countRequests',
    sendRequest: (request, next) => {
      requests.push(`${request.method} ${decodeURIComponent(request.url)}`);
      return next(request);
    },
  };
  const client = TableClient.fromConnectionString(inject('azuriteConnectionString'), freshTableName(), {
    allowInsecureConnection: true,
    additionalPolicies: [{ policy: counting, position: 'perCall' }],
  });
  const ledger = new CaptureLedger(client, { now });
  await ledger.ensureTable();
  return { ledger, client, requests };
}

/** Writes `count` finished (notified) records straight into the table, 100 per transaction. */
async function seedHistory(client: TableClient, count: number, createdAt: string): Promise<void> {
  for (let done = 0; done < count; done += 100) {
    const actions: TableTransaction['actions'] = [];
    for (let i = done; i < Math.min(count, done + 100); i++) {
      const entity = toCaptureEntity({
        ...newRecord({ vmName: `vm-${i}` }),
        state: 'notified',
        attempts: 1,
        notifyAttempts: 1,
        createdAt,
        updatedAt: createdAt,
        notifiedAt: createdAt,
      });
      actions.push(['create', entity]);
    }
    await client.submitTransaction(actions);
  }
}

describe('the ledger at scale', () => {
  it('an idle tick costs the same Table requests with 10 000 historical records as with none, keys only', async () => {
    const clock = testClock();
    const empty = await countedLedger(() => clock.now);
    const full = await countedLedger(() => clock.now);
    await seedHistory(full.client, 10_000, clock.now.toISOString());
    const active = await full.ledger.insert(newRecord());
    await empty.ledger.insert(newRecord());
    empty.requests.length = 0;
    full.requests.length = 0;

    const listedEmpty = await empty.ledger.listActive();
    const listedFull = await full.ledger.listActive();

    expect(listedEmpty).toHaveLength(1);
    expect(listedFull.map((r) => r.alertId)).toEqual([active.created ? active.record.alertId : '']);
    expect(full.requests).toHaveLength(empty.requests.length);
    expect(full.requests).toHaveLength(2); // the active index, then the one active record
    // No filter on a non-key property: the index partition, then a point read.
    for (const r of full.requests) {
      const filter = /\$filter=([^&]*)/.exec(r)?.[1];
      if (filter !== undefined) expect(filter).toBe("PartitionKey eq 'active'");
    }
  });

  it('a tick reads only the records that are due: one waiting for its capture to end costs its index entry only', async () => {
    const clock = testClock();
    const { ledger, requests } = await countedLedger(() => clock.now);
    const later = new Date(clock.now.getTime() + 300_000).toISOString();
    const waiting = await ledger.insert(newRecord({ state: 'running', nextAttemptAt: later }));
    const due = await ledger.insert(newRecord());
    requests.length = 0;

    const listed = await ledger.listDue(clock.now);

    expect(listed.active).toBe(2);
    expect(listed.records.map((r) => r.alertId)).toEqual([due.created ? due.record.alertId : '']);
    expect(requests).toHaveLength(2); // the index, then the one due record
    // Once its time comes it is listed; moving it later moves its index entry too.
    clock.advanceSeconds(301);
    const now = await ledger.listDue(clock.now);
    expect(now.records).toHaveLength(2);
    const record = now.records.find((r) => r.alertId === (waiting.created ? waiting.record.alertId : ''));
    await ledger.move(record!, 'note', {
      nextAttemptAt: new Date(clock.now.getTime() + 60_000).toISOString(),
    });
    expect((await ledger.listDue(clock.now)).records).toHaveLength(1);
  });

  it(`removes records older than LEDGER_RETENTION_DAYS that are done, keeps active ones, without a scan`, async () => {
    const clock = testClock('2025-01-01T10:00:00.000Z');
    const { ledger, requests } = await countedLedger(() => clock.now);
    const old = await ledger.insert(newRecord({ state: 'notified', notifiedAt: clock.now.toISOString() }));
    const oldActive = await ledger.insert(newRecord());
    clock.advanceSeconds(40 * 86_400);
    const recent = await ledger.insert(newRecord({ state: 'notified', notifiedAt: clock.now.toISOString() }));
    requests.length = 0;

    let removed = 0;
    for (let i = 0; i < 20; i++) removed += await ledger.removeExpired({ retentionDays: 30 });

    expect(removed).toBe(1);
    expect(await ledger.get(old.created ? old.record.alertId : '')).toBeUndefined();
    expect(await ledger.get(oldActive.created ? oldActive.record.alertId : '')).toBeDefined();
    expect(await ledger.get(recent.created ? recent.record.alertId : '')).toBeDefined();
    expect(requests.some((r) => /\$filter=[^&]*(createdAt|active|state)/.test(r))).toBe(false);
  });
});
