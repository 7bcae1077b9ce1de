/**
 * The app wired as the Functions host wires it (real handlers, real `HttpRequest` / `InvocationContext` / `Timer`),
 * over the out-of-process emulator and Azurite, plus the small helpers the ARM benchmarks share: alert payloads,
 * request-log rounds, percentiles and tables. `test/support/appHarness.ts` does the same for tests but needs vitest.
 */
import { randomUUID } from 'node:crypto';
import azureFunctions from '@azure/functions';
import type { Timer } from '@azure/functions';
import { createAlertWebhookHandler } from '../../../functions/alertWebhook.js';
import { createCapturePollerHandler } from '../../../functions/capturePoller.js';
import { createAppContext, type AppContext } from '../../../src/appContext.js';
import { silentLogger } from '../../../src/logger.js';
import { emulatorCredential } from '../../emulator/index.js';
import type { RequestLogEntry } from '../../emulator/types.js';
import { startNotificationReceiver, type NotificationReceiver } from '../../sandbox/notificationReceiver.js';
import type { BenchServices } from './benchProcess.js';
import { firedMetricAlert, SUB, SUB_ID } from '../../support/alertPayloads.js';

// The package is CommonJS: named imports fail under plain Node/tsx.
const { HttpRequest, InvocationContext } = azureFunctions;

export { SUB, SUB_ID, vmId } from '../../support/alertPayloads.js';

/** The app over the bench services. */
export interface BenchApp {
  ctx: AppContext;
  receiver: NotificationReceiver;
  /** Posts an alert to the webhook handler; returns its status and body. */
  post(
    body: unknown,
  ): Promise<{ status: number; body: { outcome?: string; captureName?: string; alertId?: string } }>;
  /** Runs one poller tick through the timer handler. */
  tick(): Promise<void>;
  /** A new app context (cold caches), as a new function instance would have, over the same ledger table. */
  restart(): void;
  stop(): Promise<void>;
}

/** Builds the app over the bench services with these app settings on top of the local defaults. */
export async function startBenchApp(
  services: BenchServices,
  settings: Record<string, string> = {},
  options: { now?: () => number } = {},
): Promise<BenchApp> {
  const { emulator, azuriteConnectionString } = services;
  const receiver = await startNotificationReceiver();
  const credential = emulatorCredential(emulator);
  const allSettings: Record<string, string> = {
    CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/captures-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
    ALLOWED_SCOPES: SUB,
    ARM_ENDPOINT: emulator.url,
    LEDGER_STORAGE_CONNECTION_STRING: azuriteConnectionString,
    LEDGER_TABLE_NAME: `bench${randomUUID().replace(/-/g, '').slice(0, 16)}`,
    NOTIFY_WEBHOOK_URL: receiver.url,
    CAPTURE_STORAGE_CONNECTION_STRING: azuriteConnectionString,
    ...settings,
  };
  let ctx = createAppContext(allSettings, { credential, logger: silentLogger, now: options.now });
  const webhook = createAlertWebhookHandler(() => ctx);
  const poller = createCapturePollerHandler(() => ctx);
  const invocation = (functionName: string) =>
    new InvocationContext({ invocationId: randomUUID(), functionName, logHandler: () => {} });
  const timer: Timer = {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: undefined as never,
  };

  return {
    get ctx() {
      return ctx;
    },
    receiver,
    async post(body) {
      const request = new HttpRequest({
        method: 'POST',
        url: 'http://127.0.0.1/api/alertWebhook',
        headers: { 'content-type': 'application/json' },
        body: { string: JSON.stringify(body) },
      });
      const response = await webhook(request, invocation('alertWebhook'));
      return { status: response.status ?? 200, body: (response.jsonBody ?? {}) as { outcome?: string } };
    },
    async tick() {
      await poller(timer, invocation('capturePoller'));
    },
    restart() {
      ctx = createAppContext(allSettings, { credential, logger: silentLogger, now: options.now });
    },
    stop: () => receiver.stop(),
  };
}

/** A Fired common-schema metric alert on a VM, fired now; without `region` the payload carries no region. */
export function firedAlert(target: string, options: { region?: string } = {}) {
  return firedMetricAlert(target, { ...options, firedAt: new Date().toISOString() });
}

/** A request of the log with the sequential round it belongs to (1-based). */
export interface RoundedRequest extends RequestLogEntry {
  round: number;
}

/**
 * Groups requests into sequential rounds: requests that overlap in time share a round; a request that starts at or
 * after the end of everything in the current round opens the next one. Sorted by start time.
 */
export function groupRounds(requests: readonly RequestLogEntry[]): RoundedRequest[] {
  const sorted = [...requests].sort((a, b) => a.startedAt - b.startedAt || a.endedAt - b.endedAt);
  const out: RoundedRequest[] = [];
  let round = 0;
  let roundEnd = -Infinity;
  for (const r of sorted) {
    if (r.startedAt >= roundEnd) {
      round++;
      roundEnd = r.endedAt;
    } else {
      roundEnd = Math.max(roundEnd, r.endedAt);
    }
    out.push({ ...r, round });
  }
  return out;
}

/** A path shortened for tables: the subscription and the resource group/provider boilerplate folded away. */
export function shortPath(path: string): string {
  return path
    .replace(/\/{2,}/g, '/')
    .replace(new RegExp(`^/subscriptions/${SUB_ID}`, 'i'), '{sub}')
    .replace(/\/providers\/Microsoft\.(Network|Compute)\//gi, '/$1:/')
    .replace(/\/(operations|operationResults)\/[^/]+$/i, '/$1/{id}');
}

/** The value at the nearest rank of percentile `p` (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** The median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Prints rows as an aligned text table (first row is the header). Numbers are right-aligned. */
export function printTable(rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  const text = rows.map((r) => r.map(String));
  const widths = text[0]?.map((_, i) => Math.max(...text.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[], raw: ReadonlyArray<string | number>) =>
    r
      .map((cell, i) =>
        typeof raw[i] === 'number' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  text.forEach((r, i) => {
    console.log(line(r, rows[i] ?? []));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

/** Waits until `check` holds (polling every 20 ms), or fails after `timeoutInMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutInMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutInMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
