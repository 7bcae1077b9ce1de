import { describe, expect, it } from 'vitest';
import type { TokenCredential } from '@azure/core-auth';
import {
  CaptureFiles,
  outsideCaptureAccount,
  resolveCaptureFile,
} from '../../../src/captures/CaptureFiles.js';
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
    // Issue 10: the host used to be checked by prefix only.
    [
      'a host that only starts like ours',
      'https://capstore.blob.attacker.example/network-watcher-logs/a.cap',
    ],
    [
      'our host as a subdomain of another',
      'https://capstore.blob.core.windows.net.attacker.example/network-watcher-logs/a.cap',
    ],
    ['our host with a port', 'https://capstore.blob.core.windows.net:8443/network-watcher-logs/a.cap'],
    ['our host with user info', 'https://x:y@capstore.blob.core.windows.net/network-watcher-logs/a.cap'],
    ['another cloud', 'https://capstore.blob.core.chinacloudapi.cn/network-watcher-logs/a.cap'],
    ['an encoded slash', 'https://capstore.blob.core.windows.net/network-watcher-logs/a%2F..%2F..%2Fb.cap'],
    ['an empty segment', 'https://capstore.blob.core.windows.net/network-watcher-logs//a.cap'],
    ['the container alone', 'https://capstore.blob.core.windows.net/network-watcher-logs/'],
  ])('never reads nor links a file in %s, and asks no token for it', async (_what, storagePath) => {
    const files = new CaptureFiles(config, credential);
    const before = tokensAsked;
    await expect(files.summarize(record(storagePath))).resolves.toBeUndefined();
    await expect(files.link(record(storagePath))).resolves.toBeUndefined();
    expect(tokensAsked).toBe(before);
  });
});

describe('resolveCaptureFile', () => {
  it('builds the URL from the configured account and takes only the blob path from ARM', () => {
    expect(
      resolveCaptureFile(
        config,
        'https://CAPSTORE.blob.core.windows.net/network-watcher-logs/subscriptions/x/vm%201/a.cap',
      ),
    ).toEqual({
      ok: true,
      blobName: 'subscriptions/x/vm 1/a.cap',
      url: 'https://capstore.blob.core.windows.net/network-watcher-logs/subscriptions/x/vm%201/a.cap',
    });
  });

  it("follows the cloud's storage suffix", () => {
    const china = { ...config, storageEndpointSuffix: 'core.chinacloudapi.cn' };
    expect(
      resolveCaptureFile(china, 'https://capstore.blob.core.chinacloudapi.cn/network-watcher-logs/a.cap').ok,
    ).toBe(true);
    expect(
      resolveCaptureFile(china, 'https://capstore.blob.core.windows.net/network-watcher-logs/a.cap'),
    ).toEqual({
      ok: false,
      reason: 'capture file outside the capture account',
    });
  });

  it("locally, takes only the connection string's blob endpoint and account", () => {
    const local = {
      ...config,
      captureStorageConnectionString:
        'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;',
    };
    expect(
      resolveCaptureFile(local, 'http://127.0.0.1:10000/devstoreaccount1/network-watcher-logs/a.cap'),
    ).toMatchObject({
      ok: true,
      blobName: 'a.cap',
    });
    for (const foreign of [
      'http://127.0.0.1:10001/devstoreaccount1/network-watcher-logs/a.cap',
      'http://localhost.attacker.example:10000/devstoreaccount1/network-watcher-logs/a.cap',
      'http://127.0.0.1:10000/otheraccount/network-watcher-logs/a.cap',
    ]) {
      expect(resolveCaptureFile(local, foreign).ok).toBe(false);
    }
  });
});

describe('outsideCaptureAccount', () => {
  it('says nothing for a file of the capture account, and names the foreign host otherwise', () => {
    expect(
      outsideCaptureAccount(config, 'https://capstore.blob.core.windows.net/network-watcher-logs/a.cap'),
    ).toBeUndefined();
    expect(
      outsideCaptureAccount(config, 'https://capstore.blob.attacker.example/network-watcher-logs/a.cap'),
    ).toBe(
      'capture file outside the capture account (its storage path is on capstore.blob.attacker.example)',
    );
    expect(outsideCaptureAccount(config, 'not a url')).toBe('capture file outside the capture account');
  });
});
