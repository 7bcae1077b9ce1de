import { describe, expect, it } from 'vitest';
import {
  effectiveCaptureSettings,
  packetCaptureParameters,
} from '../../../src/captures/captureParameters.js';
import { loadConfig } from '../../../src/config.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const base = {
  CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/capstore`,
  ALLOWED_SCOPES: SUB,
  LEDGER_STORAGE_ACCOUNT_NAME: 'appstore',
  CAPTURE_TIME_LIMIT_SECONDS: '300',
  CAPTURE_MAX_TIME_LIMIT_SECONDS: '600',
  CAPTURE_TOTAL_BYTES: '1000000',
};

describe('effectiveCaptureSettings', () => {
  it('uses the configured settings without overrides', () => {
    const s = effectiveCaptureSettings(loadConfig(base));
    expect(s).toMatchObject({
      timeLimitInSeconds: 300,
      bytesToCapturePerPacket: 0,
      totalBytesPerSession: 1000000,
      filters: [],
    });
    expect(s.notes).toEqual([]);
  });

  it('never lets an alert ask for more time than the maximum', () => {
    const s = effectiveCaptureSettings(loadConfig(base), { captureDurationSeconds: 99999 });
    expect(s.timeLimitInSeconds).toBe(600);
    expect(s.notes.join()).toContain('captureDurationSeconds');
  });

  it('accepts a shorter duration and fewer bytes', () => {
    const s = effectiveCaptureSettings(loadConfig(base), {
      captureDurationSeconds: 60,
      captureTotalBytes: 5000,
    });
    expect(s.timeLimitInSeconds).toBe(60);
    expect(s.totalBytesPerSession).toBe(5000);
    expect(s.notes).toEqual([]);
  });

  it('clamps total bytes to the configured maximum', () => {
    expect(effectiveCaptureSettings(loadConfig(base), { captureTotalBytes: 9e9 }).totalBytesPerSession).toBe(
      1000000,
    );
  });

  it('refuses whole packets (0) or a larger snap length when the operator set one', () => {
    const config = loadConfig({ ...base, CAPTURE_BYTES_PER_PACKET: '128' });
    expect(effectiveCaptureSettings(config, { captureBytesPerPacket: 0 }).bytesToCapturePerPacket).toBe(128);
    expect(effectiveCaptureSettings(config, { captureBytesPerPacket: 1500 }).bytesToCapturePerPacket).toBe(
      128,
    );
    expect(effectiveCaptureSettings(config, { captureBytesPerPacket: 64 }).bytesToCapturePerPacket).toBe(64);
  });

  it('takes override filters only when the operator configured none', () => {
    const filters = [{ protocol: 'TCP' as const, remotePort: '443' }];
    expect(effectiveCaptureSettings(loadConfig(base), { captureFilters: filters }).filters).toEqual(filters);
    const restricted = loadConfig({ ...base, CAPTURE_FILTERS: '[{"protocol":"UDP"}]' });
    const s = effectiveCaptureSettings(restricted, { captureFilters: filters });
    expect(s.filters).toEqual([{ protocol: 'UDP' }]);
    expect(s.notes.join()).toContain('captureFilters ignored');
  });
});

describe('packetCaptureParameters', () => {
  const settings = effectiveCaptureSettings(loadConfig(base));
  it('targets a VM with the capture storage account', () => {
    const vmId = `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`;
    const p = packetCaptureParameters({ kind: 'vm', vmId }, settings, base.CAPTURE_STORAGE_ACCOUNT_ID);
    expect(p).toMatchObject({
      target: vmId,
      targetType: 'AzureVM',
      timeLimitInSeconds: 300,
      storageLocation: { storageId: base.CAPTURE_STORAGE_ACCOUNT_ID },
    });
    expect(p.scope).toBeUndefined();
  });

  it('targets one scale set instance through scope.include', () => {
    const ss = `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool`;
    const p = packetCaptureParameters(
      { kind: 'vmssInstance', scaleSetId: ss, instanceId: '3' },
      settings,
      base.CAPTURE_STORAGE_ACCOUNT_ID,
    );
    expect(p).toMatchObject({ target: ss, targetType: 'AzureVMSS', scope: { include: ['3'] } });
  });
});
