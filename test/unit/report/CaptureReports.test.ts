import type { TokenCredential } from '@azure/core-auth';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import { CaptureReports, reportCaptureOf } from '../../../src/report/CaptureReports.js';

const record = (overrides: Partial<CaptureRecord> = {}): CaptureRecord => ({
  alertId: 'a1',
  ruleName: 'cpu-high',
  severity: 'Sev2',
  firedAt: '2026-01-01T00:00:00Z',
  monitorCondition: 'Fired',
  target: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web',
  targetKind: 'vmssInstance',
  instanceId: '3',
  vmName: 'web_3',
  subscriptionId: 's',
  state: 'finished',
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  attempts: 1,
  notifyAttempts: 0,
  etag: '*',
  ...overrides,
});

describe('reportCaptureOf', () => {
  it('carries the alert, the instance and the capture settings as the webhook stored them', () => {
    const capture = reportCaptureOf(
      record({
        captureName: 'ac-web-3',
        region: 'westeurope',
        captureStatus: 'Stopped',
        stopReason: 'TimeExceeded',
        startedAt: '2026-01-01T00:00:05Z',
        settingsJson: JSON.stringify({
          timeLimitInSeconds: 120,
          filters: [{ protocol: 'TCP' }],
          local: true,
        }),
      }),
      'f.cap',
    );
    expect(capture).toEqual({
      fileName: 'f.cap',
      target:
        '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web/virtualMachines/3',
      alert: { rule: 'cpu-high', severity: 'Sev2', firedAt: '2026-01-01T00:00:00Z', id: 'a1' },
      errors: [],
      settings: { timeLimitInSeconds: 120, filters: '[{"protocol":"TCP"}]', local: true },
      captureName: 'ac-web-3',
      region: 'westeurope',
      status: 'Stopped',
      stopReason: 'TimeExceeded',
      startedAt: '2026-01-01T00:00:05Z',
    });
  });

  it('goes without settings when the stored JSON was cut, and without a severity when there is none', () => {
    const capture = reportCaptureOf(
      record({ settingsJson: '{"timeLimitIn', severity: '', targetKind: 'vm' }),
      'f.cap',
    );
    expect(capture.settings).toEqual({});
    expect(capture.alert).toEqual({ rule: 'cpu-high', firedAt: '2026-01-01T00:00:00Z', id: 'a1' });
    expect(capture.target).toBe(
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web',
    );
  });
});

describe('CaptureReports in Azure (identity, no connection string)', () => {
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

  it.each([
    ['another host', 'https://evil.example/network-watcher-logs/subscriptions/x/a.cap'],
    ['another account', 'https://otherstore.blob.core.windows.net/network-watcher-logs/a.cap'],
    ['another container', 'https://capstore.blob.core.windows.net/capture-reports/a.html'],
    ['plain http', 'http://capstore.blob.core.windows.net/network-watcher-logs/a.cap'],
    ['a path escaping the container', 'https://capstore.blob.core.windows.net/network-watcher-logs/%2E%2E/x'],
    ['not a URL', 'network-watcher-logs/a.cap'],
    // The lookalike hosts of issue 10: the account name followed by `.blob.` on a host of someone else's.
    ['a lookalike host', 'https://capstore.blob.attacker.example/network-watcher-logs/a.cap'],
    ['a port', 'https://capstore.blob.core.windows.net:8443/network-watcher-logs/a.cap'],
    ['user info', 'https://x@capstore.blob.core.windows.net/network-watcher-logs/a.cap'],
  ])(
    'never reads, writes next to nor signs a file in %s, and asks no token for it',
    async (_what, storagePath) => {
      const reports = new CaptureReports(config, credential);
      const before = tokensAsked;
      await expect(reports.ensure(record({ storagePath }))).resolves.toBeUndefined();
      await expect(reports.link(record({ storagePath }))).resolves.toBeUndefined();
      expect(tokensAsked).toBe(before);
    },
  );

  it('asks its identity for a token for a capture file in its own account, and fails when it gets none', async () => {
    const reports = new CaptureReports(config, credential, { now: () => Date.UTC(2026, 0, 1) });
    const storagePath = 'https://capstore.blob.core.windows.net/network-watcher-logs/subscriptions/x/a.cap';
    const before = tokensAsked;
    await expect(reports.ensure(record({ storagePath }))).rejects.toThrow();
    await expect(reports.link(record({ storagePath }))).rejects.toThrow();
    expect(tokensAsked).toBeGreaterThan(before);
  });
});
