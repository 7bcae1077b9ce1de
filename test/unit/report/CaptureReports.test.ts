import { describe, expect, it } from 'vitest';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import { reportCaptureOf } from '../../../src/report/CaptureReports.js';

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
