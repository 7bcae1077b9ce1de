import { describe, expect, it } from 'vitest';
import {
  CAPTURE_STATES,
  RECORD_TEXT_MAX_CHARS,
  SUMMARY_JSON_MAX_CHARS,
  alertRowKey,
  fromCaptureEntity,
  holdsTarget,
  isActiveRecord,
  toCaptureEntity,
  type CaptureRecord,
  type CaptureState,
} from '../../../src/ledger/captureRecord.js';

const base: Omit<CaptureRecord, 'etag'> = {
  alertId: '/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a1',
  ruleName: 'High CPU',
  severity: 'Sev2',
  firedAt: '2025-03-01T07:59:30.000Z',
  monitorCondition: 'Fired',
  target: '/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1',
  targetKind: 'vm',
  vmName: 'VM1',
  subscriptionId: 's',
  state: 'pending',
  createdAt: '2025-03-01T08:00:00.000Z',
  updatedAt: '2025-03-01T08:00:00.000Z',
  attempts: 0,
  notifyAttempts: 0,
};

describe('isActiveRecord', () => {
  const expected: Record<CaptureState, boolean> = {
    pending: true,
    starting: true,
    running: true,
    finished: true,
    notified: false,
    failed: true,
    ignored: false,
    notifyFailed: false,
  };
  it.each(CAPTURE_STATES.map((s) => [s, expected[s]] as const))(
    '%s (not notified) is active: %s',
    (state, active) => {
      expect(isActiveRecord({ state })).toBe(active);
    },
  );

  it('a failed record is no longer active once notified', () => {
    expect(isActiveRecord({ state: 'failed', notifiedAt: '2025-03-01T08:10:00.000Z' })).toBe(false);
  });
});

describe('holdsTarget', () => {
  it.each([
    ['pending', true],
    ['starting', true],
    ['running', true],
    ['finished', false],
    ['failed', false],
    ['notified', false],
    ['ignored', false],
    ['notifyFailed', false],
  ] as const)('%s holds the target: %s', (state, holds) => {
    expect(holdsTarget({ state })).toBe(holds);
  });
});

describe('toCaptureEntity / fromCaptureEntity', () => {
  it('round-trips every field', () => {
    const record: Omit<CaptureRecord, 'etag'> = {
      ...base,
      targetKind: 'vmssInstance',
      instanceId: '3',
      region: 'westeurope',
      watcherId:
        '/subscriptions/s/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/nw',
      captureName: 'alertcap-vm1',
      state: 'finished',
      attempts: 2,
      nextAttemptAt: '2025-03-01T08:01:00.000Z',
      lastError: 'throttled',
      reason: 'because',
      captureId: '/subscriptions/s/.../packetCaptures/alertcap-vm1',
      storagePath: 'https://st.blob.core.windows.net/c/x.cap',
      stopReason: 'TimeExceeded',
      captureStatus: 'Stopped',
      captureErrors: ['AgentStopped', 'StorageFailed'],
      startedAt: '2025-03-01T08:00:05.000Z',
      endedAt: '2025-03-01T08:05:05.000Z',
      notifyAttempts: 1,
      notifiedAt: '2025-03-01T08:06:00.000Z',
      notifiedTargets: 'webhook,teams',
      note: 'a note',
      settingsJson: '{"timeLimitInSeconds":300}',
      summaryJson: '{"packets":1}',
    };
    expect(fromCaptureEntity(toCaptureEntity(record), 'etag-1')).toEqual({ ...record, etag: 'etag-1' });
  });

  it('stores the lower-cased target and the active flag for queries', () => {
    const entity = toCaptureEntity(base);
    expect(entity.targetKey).toBe(base.target.toLowerCase());
    expect(entity.active).toBe(true);
    expect(toCaptureEntity({ ...base, state: 'ignored' }).active).toBe(false);
  });

  it('keys the record on the SHA-256 of the alert id', () => {
    expect(toCaptureEntity(base).rowKey).toBe(alertRowKey(base.alertId));
    expect(alertRowKey(base.alertId)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leaves absent optional fields absent', () => {
    const record = fromCaptureEntity(toCaptureEntity(base), 'e');
    expect(record && Object.keys(record).sort()).toEqual([...Object.keys(base), 'etag'].sort());
  });

  it('cuts free text longer than the limit', () => {
    const entity = toCaptureEntity({ ...base, note: 'n'.repeat(RECORD_TEXT_MAX_CHARS + 10) });
    expect((entity.note as string).length).toBe(RECORD_TEXT_MAX_CHARS);
  });

  it('splits a large summary and reads it back whole', () => {
    const summaryJson = JSON.stringify({ s: 'q'.repeat(100_000) });
    const entity = toCaptureEntity({ ...base, summaryJson });
    expect(entity.summaryJsonParts).toBe(4);
    expect(Object.values(entity).every((v) => typeof v !== 'string' || v.length <= 32_000)).toBe(true);
    expect(fromCaptureEntity(entity, 'e')?.summaryJson === summaryJson).toBe(true);
  });

  it('replaces a summary over the maximum with a JSON marker', () => {
    const summaryJson = 'x'.repeat(SUMMARY_JSON_MAX_CHARS + 1);
    const stored = fromCaptureEntity(toCaptureEntity({ ...base, summaryJson }), 'e')?.summaryJson;
    expect(JSON.parse(stored ?? '')).toEqual({ truncated: true, originalLength: SUMMARY_JSON_MAX_CHARS + 1 });
  });

  it('keeps a summary of exactly the maximum', () => {
    const summaryJson = 'x'.repeat(SUMMARY_JSON_MAX_CHARS);
    const stored = fromCaptureEntity(toCaptureEntity({ ...base, summaryJson }), 'e')?.summaryJson;
    expect(stored?.length).toBe(SUMMARY_JSON_MAX_CHARS);
  });

  it('reads an unknown state as unreadable', () => {
    expect(fromCaptureEntity({ ...toCaptureEntity(base), state: 'exploded' }, 'e')).toBeUndefined();
  });

  it('reads an entity without an alert id as unreadable', () => {
    const { alertId: _ignored, ...rest } = toCaptureEntity(base);
    expect(fromCaptureEntity(rest, 'e')).toBeUndefined();
  });

  it('keeps a cut captureErrors list readable', () => {
    const entity = { ...toCaptureEntity(base), captureErrors: '["AgentStopped","Stor…' };
    expect(fromCaptureEntity(entity, 'e')?.captureErrors).toEqual(['["AgentStopped","Stor…']);
  });
});

describe('what an alert kept of its ring', () => {
  it('round-trips the keep fields', () => {
    const record = {
      ...base,
      keepWindowStart: '2025-03-01T07:53:30.000Z',
      keepWindowEnd: '2025-03-01T07:59:30.000Z',
      keepDueAt: '2025-03-01T08:00:15.000Z',
      keptFiles: ['kept/a1-12345678/abcdef-1.cap'],
      keptFrom: '2025-03-01T07:52:00.000Z',
      keptCoversStart: true,
      keepComplete: false,
      keepNote: 'keeping',
      beforeSummaryJson: '{"packets":1}',
    };
    expect(fromCaptureEntity(toCaptureEntity(record), 'e')).toEqual({ ...record, etag: 'e' });
  });

  it('stores a list of kept names that fits one property, whole names only, still JSON', () => {
    const names = Array.from(
      { length: 2000 },
      (_, i) => `kept/alert-12345678/abcdef-${i}-${'x'.repeat(20)}.cap`,
    );
    const entity = toCaptureEntity({ ...base, keptFiles: names });
    expect(String(entity.keptFiles).length).toBeLessThanOrEqual(32_000);
    const read = fromCaptureEntity(entity, 'e')!.keptFiles!;
    expect(read.length).toBeGreaterThan(100);
    expect(read).toEqual(names.slice(0, read.length));
  });

  it('reads a kept list that is not JSON as no files, never as a garbage name', () => {
    const entity = { ...toCaptureEntity(base), keptFiles: 'kept/a.cap' };
    expect(fromCaptureEntity(entity, 'e')!.keptFiles).toEqual([]);
  });

  it('stores a before summary too long for one property as a marker that still parses', () => {
    const entity = toCaptureEntity({ ...base, beforeSummaryJson: `"${'x'.repeat(40_000)}"` });
    expect(JSON.parse(String(entity.beforeSummaryJson))).toEqual({ truncated: true, originalLength: 40_002 });
  });
});
