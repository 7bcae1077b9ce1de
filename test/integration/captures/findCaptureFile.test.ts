import { BlobServiceClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/core-auth';
import { describe, expect, inject, it } from 'vitest';
import { CAPTURE_CONTAINER, CaptureFiles } from '../../../src/captures/CaptureFiles.js';
import { loadConfig } from '../../../src/config.js';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const credential: TokenCredential = { getToken: () => Promise.reject(new Error('no token locally')) };
/** A classic pcap file with no packets: the global header only (libpcap format, LINKTYPE_ETHERNET). */
const EMPTY_PCAP = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');

/**
 * Review defect A: the folder fallback of `findCaptureBlob` took the earliest file written after the start with no
 * upper bound, so a record whose reported blob was absent adopted a later capture's file of the same VM that day.
 */
describe('CaptureFiles: the folder fallback stays inside the capture window', () => {
  it("never gives a record another capture's file of the same VM and day", async () => {
    const connectionString = inject('azuriteConnectionString');
    const config = loadConfig({
      CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
      CAPTURE_STORAGE_CONNECTION_STRING: connectionString,
      ALLOWED_SCOPES: SUB,
      LEDGER_STORAGE_ACCOUNT_NAME: 'appstore',
      CAPTURE_FILE_WAIT_SECONDS: '300',
    });
    const container =
      BlobServiceClient.fromConnectionString(connectionString).getContainerClient(CAPTURE_CONTAINER);
    await container.createIfNotExists();
    const folder = `subscriptions/x/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm-${Date.now()}/2026/12/02/`;
    // The second capture's file, under its agent's own name; the first capture's reported blob was never written.
    const second = container.getBlockBlobClient(`${folder}second-agent-name.cap`);
    await second.upload(EMPTY_PCAP, EMPTY_PCAP.length);
    const writtenAt = (await second.getProperties()).lastModified!.getTime();
    const iso = (ms: number) => new Date(ms).toISOString();
    const files = new CaptureFiles(config, credential);
    const firstPath = `${container.url}/${folder}first.cap`;
    const first = {
      storagePath: firstPath,
      startedAt: iso(writtenAt - 20 * 60_000),
      endedAt: iso(writtenAt - 15 * 60_000),
    } as CaptureRecord;

    // Ended 15 min before the file was written, 10 min past the upload wait: not its file.
    await expect(files.findFile(firstPath, first)).resolves.toBeUndefined();
    await expect(files.summarize(first)).rejects.toMatchObject({ statusCode: 404 });
    // Start unknown: no window, no folder search.
    await expect(files.findFile(firstPath, { endedAt: first.endedAt })).resolves.toBeUndefined();
    await expect(files.findFile(firstPath)).resolves.toBeUndefined();
    // End unknown: bounded by the record's time limit (60 s) and the wait.
    const running = { startedAt: first.startedAt, settingsJson: JSON.stringify({ timeLimitInSeconds: 60 }) };
    await expect(files.findFile(firstPath, running)).resolves.toBeUndefined();

    // The second capture itself still finds its file under the other name, and the record learns the real path.
    const secondRecord = {
      storagePath: `${container.url}/${folder}second.cap`,
      startedAt: iso(writtenAt - 60_000),
      endedAt: iso(writtenAt - 10_000),
    } as CaptureRecord;
    await expect(files.findFile(secondRecord.storagePath!, secondRecord)).resolves.toMatchObject({
      name: second.name,
    });
    await expect(files.summarize(secondRecord)).resolves.toMatchObject({ storagePath: second.url });
    // Only the start known (the CLI's delete): bounded by CAPTURE_MAX_TIME_LIMIT_SECONDS, which covers it.
    await expect(files.findFile(secondRecord.storagePath!, secondRecord.startedAt)).resolves.toMatchObject({
      name: second.name,
    });
  });
});
