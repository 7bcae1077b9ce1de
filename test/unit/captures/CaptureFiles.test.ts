import { describe, expect, it } from 'vitest';
import type { TokenCredential } from '@azure/core-auth';
import { CaptureFiles } from '../../../src/captures/CaptureFiles.js';
import { loadConfig } from '../../../src/config.js';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const config = loadConfig({
  CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/capstore`,
  ALLOWED_SCOPES: SUB,
  LEDGER_STORAGE_ACCOUNT_NAME: 'appstore',
});
let tokensAsked = 0;
const credential: TokenCredential = {
  getToken: () => {
    tokensAsked++;
    return Promise.reject(new Error('no token in this test'));
  },
};
const record = (storagePath: string) => ({ storagePath }) as CaptureRecord;

describe('CaptureFiles', () => {
  it.each([
    ['another host', 'https://evil.example/network-watcher-logs/subscriptions/x/a.cap'],
    ['another account', 'https://otherstore.blob.core.windows.net/network-watcher-logs/a.cap'],
    ['another container', 'https://capstore.blob.core.windows.net/azure-webjobs-secrets/host.json'],
    ['plain http', 'http://capstore.blob.core.windows.net/network-watcher-logs/a.cap'],
    [
      'a path escaping the container',
      'https://capstore.blob.core.windows.net/network-watcher-logs/%2E%2E/secrets/x',
    ],
    ['not a URL', 'network-watcher-logs/a.cap'],
  ])('never reads nor links a file in %s, and asks no token for it', async (_what, storagePath) => {
    const files = new CaptureFiles(config, credential);
    const before = tokensAsked;
    await expect(files.summarize(record(storagePath))).resolves.toBeUndefined();
    await expect(files.link(record(storagePath))).resolves.toBeUndefined();
    expect(tokensAsked).toBe(before);
  });
});
