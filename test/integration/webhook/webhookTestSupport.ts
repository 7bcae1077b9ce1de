import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TableClient } from '@azure/data-tables';
import { inject } from 'vitest';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import type { AppHarness } from '../../support/appHarness.js';
import type { EmulatorCapture, RequestLogEntry } from '../../emulator/types.js';

/**
 * Settings every webhook test starts from: short captures (cheap to synthesize), and a pending timeout long enough
 * that moving the app clock forward over several tests (`advanceAppClock`, which the ledger's timestamps do not
 * follow) never times out a fresh record.
 */
export const BASE_SETTINGS: Readonly<Record<string, string>> = {
  CAPTURE_TIME_LIMIT_SECONDS: '60',
  PENDING_TIMEOUT_SECONDS: '86400',
};

/** A ledger table name no other test uses. */
export function freshTableName(): string {
  return `webhook${randomBytes(8).toString('hex')}`;
}

/**
 * Starts a test from a clean slate: the emulator forgets VMs, captures, faults and requests; the app gets a new
 * ledger table and fresh caches, with `settings` over {@link BASE_SETTINGS}.
 */
export function resetApp(h: AppHarness, settings: Record<string, string> = {}): void {
  h.emulator.reset();
  h.emulator.configure({ latencyInMs: 0, sessionLimit: 10_000 });
  h.restart({ ...BASE_SETTINGS, LEDGER_TABLE_NAME: freshTableName(), ...settings });
}

/** Every record of the app's ledger table, whatever its state (none when the table was never created). */
export async function ledgerRecords(h: AppHarness): Promise<Array<Record<string, unknown>>> {
  const client = TableClient.fromConnectionString(
    inject('azuriteConnectionString'),
    h.settings.LEDGER_TABLE_NAME as string,
    { allowInsecureConnection: true },
  );
  const records: Array<Record<string, unknown>> = [];
  try {
    for await (const entity of client.listEntities({ queryOptions: { filter: "PartitionKey eq 'alert'" } })) {
      records.push(entity);
    }
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return [];
    throw e;
  }
  return records;
}

/** The ledger record of an alert, which must exist. */
export async function recordOf(h: AppHarness, alertId: string): Promise<CaptureRecord> {
  const record = await h.ctx.ledger.get(alertId);
  if (!record) throw new Error(`no ledger record for ${alertId}`);
  return record;
}

/** The emulator's captures on one target (ARM ids compare case-insensitively). */
export function capturesOn(h: AppHarness, target: string): EmulatorCapture[] {
  return h.emulator.captures().filter((c) => c.target.toLowerCase() === target.toLowerCase());
}

/** Whether a logged request is a packet capture PUT. */
export function isCapturePut(r: RequestLogEntry): boolean {
  return r.method === 'PUT' && /\/packetCaptures\/[^/]+$/i.test(r.path);
}

/** The emulator's packet capture PUTs so far. */
export function capturePuts(h: AppHarness): RequestLogEntry[] {
  return h.emulator.requests().filter(isCapturePut);
}

/**
 * Groups requests into sequential rounds: a request that starts before every request of the current round has
 * ended overlaps it (the client sent them together), one that starts after starts a new round.
 */
export function countRounds(requests: readonly RequestLogEntry[]): number {
  const sorted = [...requests].sort((a, b) => a.startedAt - b.startedAt);
  let rounds = 0;
  let roundEnd = -Infinity;
  for (const r of sorted) {
    if (r.startedAt >= roundEnd) {
      rounds++;
      roundEnd = r.endedAt;
    } else {
      roundEnd = Math.max(roundEnd, r.endedAt);
    }
  }
  return rounds;
}

/** A loopback connection string whose table endpoint has nobody listening (a ledger outage). */
export async function unreachableLedgerConnectionString(): Promise<string> {
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  return inject('azuriteConnectionString').replace(
    /TableEndpoint=http:\/\/127\.0\.0\.1:\d+\//,
    `TableEndpoint=http://127.0.0.1:${port}/`,
  );
}

const SHARED_FIXTURES = new URL('../../fixtures/published-alerts/', import.meta.url);
const PROJECT_FIXTURES = new URL('../../fixtures/alerts/', import.meta.url);

/** A published alert sample from `test/fixtures/published-alerts/`, parsed. */
export function sharedFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(fileURLToPath(new URL(name, SHARED_FIXTURES)), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** A VM-targeted alert fixture from `test/fixtures/alerts/`, parsed. */
export function projectFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(fileURLToPath(new URL(name, PROJECT_FIXTURES)), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** A common-schema alert id in the harness subscription. */
export function newAlertId(subscriptionId = '00000000-0000-0000-0000-000000000000'): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.AlertsManagement/alerts/${randomBytes(16).toString('hex')}`;
}
