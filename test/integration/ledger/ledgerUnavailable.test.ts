import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { CaptureLedger } from '../../../src/ledger/CaptureLedger.js';
import { LedgerUnavailableError } from '../../../src/ledger/LedgerUnavailableError.js';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from '../../support/azurite.js';
import { newRecord } from './ledgerTestSupport.js';

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function unreachableLedger(): Promise<CaptureLedger> {
  const port = await closedPort();
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `TableEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME};`;
  return CaptureLedger.fromConfig({ connectionString, tableName: 'unreachable' }, undefined, {
    retryOptions: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 10 },
  });
}

async function failure(operation: Promise<unknown>): Promise<unknown> {
  return operation.then(
    () => new Error('expected the operation to fail'),
    (e: unknown) => e,
  );
}

describe('CaptureLedger when the table cannot be reached', () => {
  it.each([
    ['ensureTable', (l: CaptureLedger) => l.ensureTable()],
    ['insert', (l: CaptureLedger) => l.insert(newRecord())],
    ['get', (l: CaptureLedger) => l.get('any')],
    ['listActive', (l: CaptureLedger) => l.listActive()],
    ['listByTarget', (l: CaptureLedger) => l.listByTarget('/subscriptions/x')],
    ['tryReserveSlot', (l: CaptureLedger) => l.tryReserveSlot('sub', 'westeurope', 'c', new Set(), 10)],
    ['releaseSlot', (l: CaptureLedger) => l.releaseSlot('sub', 'westeurope', 'c')],
    ['acquireTargetLease', (l: CaptureLedger) => l.acquireTargetLease('c', 'alert')],
  ])('%s fails fast with LedgerUnavailableError', async (_name, operation) => {
    const ledger = await unreachableLedger();
    const started = performance.now();
    const error = await failure(operation(ledger));
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(LedgerUnavailableError);
    expect((error as LedgerUnavailableError).name).toBe('LedgerUnavailableError');
    expect((error as LedgerUnavailableError).message).toMatch(/ECONNREFUSED/);
  });

  it('transition fails with LedgerUnavailableError rather than reporting a lost race', async () => {
    const ledger = await unreachableLedger();
    const record = {
      ...newRecord(),
      state: 'pending' as const,
      attempts: 0,
      notifyAttempts: 0,
      createdAt: '2025-03-01T08:00:00.000Z',
      updatedAt: '2025-03-01T08:00:00.000Z',
      etag: 'W/"datetime\'2025-03-01T08%3A00%3A00Z\'"',
    };
    expect(await failure(ledger.transition(record, { state: 'starting' }))).toBeInstanceOf(
      LedgerUnavailableError,
    );
  });

  it('never puts the account key in the error message', async () => {
    const ledger = await unreachableLedger();
    const error = await failure(ledger.get('any'));
    expect(String((error as Error).message)).not.toContain(AZURITE_ACCOUNT_KEY);
  });
});

describe('CaptureLedger.fromConfig', () => {
  it('refuses a configuration with neither account name nor connection string', () => {
    expect(() => CaptureLedger.fromConfig({ tableName: 'captures' })).toThrow(ConfigError);
  });

  it('refuses an account name without a credential', () => {
    expect(() => CaptureLedger.fromConfig({ accountName: 'stcaptures', tableName: 'captures' })).toThrow(
      /credential/,
    );
  });

  it('reports a malformed connection string without quoting it', () => {
    const connectionString = 'AccountKey=c2VjcmV0LWtleQ==;nonsense';
    let error: unknown;
    try {
      CaptureLedger.fromConfig({ connectionString, tableName: 'captures' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain('c2VjcmV0LWtleQ==');
  });

  it('refuses plain http to a host that is not loopback', async () => {
    const connectionString =
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
      `TableEndpoint=http://table.example.invalid/${AZURITE_ACCOUNT_NAME};`;
    const ledger = CaptureLedger.fromConfig({ connectionString, tableName: 'captures' }, undefined, {
      retryOptions: { maxRetries: 0 },
    });
    // The SDK refuses before resolving or connecting: no request leaves the machine.
    const error = await failure(ledger.get('any'));
    expect(error).toBeInstanceOf(LedgerUnavailableError);
    expect((error as Error).message).toMatch(/allowInsecureConnection is false/);
  });
});
