import type { TokenCredential } from '@azure/core-auth';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { CaptureFiles } from '../../../src/captures/CaptureFiles.js';
import { loadConfig } from '../../../src/config.js';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import { CaptureReports } from '../../../src/report/CaptureReports.js';
import { startStallingProxy } from '../../support/stallingProxy.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const credential: TokenCredential = { getToken: () => Promise.reject(new Error('no token locally')) };

/**
 * Review defect B: the capture account's calls (exists, the folder listing, the report's writes) had no deadline
 * of the caller's, and the storage SDK's own per-try timeout is none, so a stalled account held the poller. The
 * real storage SDK against the run's Azurite behind a proxy that stops forwarding.
 */
describe("capture storage calls follow the caller's deadline", () => {
  it('gives up on a stalled capture account as soon as the caller aborts', async () => {
    const connectionString = inject('azuriteConnectionString');
    const blobEndpoint = new URL(/(?:^|;)BlobEndpoint=([^;]+)/.exec(connectionString)![1]!);
    const proxy = await startStallingProxy(Number(blobEndpoint.port));
    onTestFinished(() => proxy.stop());
    const endpoint = `http://127.0.0.1:${proxy.port}${blobEndpoint.pathname.replace(/\/$/, '')}`;
    const config = loadConfig({
      CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
      CAPTURE_STORAGE_CONNECTION_STRING: connectionString.replace(
        /BlobEndpoint=[^;]+/,
        `BlobEndpoint=${endpoint}`,
      ),
      ALLOWED_SCOPES: SUB,
      LEDGER_STORAGE_ACCOUNT_NAME: 'appstore',
    });
    const record = {
      storagePath: `${endpoint}/network-watcher-logs/subscriptions/x/vm-stalled/2026/12/02/a.cap`,
      startedAt: new Date().toISOString(),
      endedAt: new Date().toISOString(),
    } as CaptureRecord;
    const files = new CaptureFiles(config, credential);
    const reports = new CaptureReports(config, credential);
    proxy.stall();

    for (const call of [
      (abortSignal: AbortSignal) => files.summarize(record, { abortSignal }),
      (abortSignal: AbortSignal) => files.findFile(record.storagePath!, record, { abortSignal }),
      (abortSignal: AbortSignal) => reports.ensure(record, { abortSignal }),
    ]) {
      const caller = new AbortController();
      const outcome = call(caller.signal).then(
        () => 'answered',
        (e: unknown) => (e as Error).name,
      );
      // In flight and stalled: only the caller's abort can end it before the calls' own 30 s.
      setTimeout(() => caller.abort(), 200);
      await expect(outcome).resolves.toBe('AbortError');
    }
  });
});
