import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { PollDeps } from '../../../src/captures/pollCaptures.js';
import { loadConfig } from '../../../src/config.js';
import { CaptureLedger } from '../../../src/ledger/CaptureLedger.js';
import { silentLogger } from '../../../src/logger.js';
import { SUB } from '../../support/alertPayloads.js';
import { FakeGateway } from '../../support/fakeGateway.js';

/** The app's deps over the in-memory gateway and a fresh ledger table on the run's Azurite, with a clock to move. */
export interface FakeApp {
  deps: PollDeps;
  gateway: FakeGateway;
  ledger: CaptureLedger;
  /** Moves the app's (and the ledger's) clock. */
  advance(seconds: number): void;
}

/** Builds a {@link FakeApp}; `settings` override the app settings. */
export async function fakeApp(settings: Record<string, string> = {}): Promise<FakeApp> {
  let nowMs = Date.now();
  const config = loadConfig({
    CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/captures-rg/providers/Microsoft.Storage/storageAccounts/captures`,
    ALLOWED_SCOPES: '*',
    LEDGER_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
    LEDGER_TABLE_NAME: `fake${randomUUID().replace(/-/g, '').slice(0, 16)}`,
    CAPTURE_TIME_LIMIT_SECONDS: '60',
    ...settings,
  });
  const ledger = CaptureLedger.fromConfig(config.ledger, undefined, { now: () => new Date(nowMs) });
  await ledger.ensureTable();
  const gateway = new FakeGateway();
  return {
    deps: { config, ledger, gateway, logger: silentLogger, now: () => nowMs },
    gateway,
    ledger,
    advance: (seconds) => (nowMs += seconds * 1000),
  };
}
