import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isActionAllowed } from '../../../src/azure/checkPermissions.js';
import { historyOf } from '../../../src/cli/verbs/show.js';
import { viewOfForeign, viewOfRecord } from '../../../src/cli/captureView.js';
import { CliError } from '../../../src/cli/exitCodes.js';
import { loadCliSettings } from '../../../src/cli/loadCliSettings.js';
import { formatDuration, formatFields, formatTable, formatTime } from '../../../src/cli/output.js';
import { durationOption, intOption, parseVerbArgs } from '../../../src/cli/parseVerbArgs.js';
import { parseTarget } from '../../../src/cli/parseTarget.js';
import { scopeSubscriptions } from '../../../src/cli/resolveCapture.js';
import type { CaptureRecord } from '../../../src/ledger/captureRecord.js';
import { cliEnvText } from '../../sandbox/cliEnv.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const RG = `${SUB}/resourceGroups/rg`;

describe('isActionAllowed (ARM wildcards, notActions per entry)', () => {
  it.each([
    [['*'], [], 'Microsoft.Network/networkWatchers/packetCaptures/write', true],
    [['Microsoft.Network/*'], [], 'microsoft.network/networkwatchers/read', true],
    [['*/read'], [], 'Microsoft.Network/networkWatchers/read', true],
    [['*/read'], [], 'Microsoft.Network/networkWatchers/packetCaptures/write', false],
    [
      ['*'],
      ['Microsoft.Network/networkWatchers/packetCaptures/*'],
      'Microsoft.Network/networkWatchers/packetCaptures/delete',
      false,
    ],
    [['Microsoft.Compute/virtualMachines/read'], [], 'Microsoft.Compute/virtualMachines/readX', false],
  ])('%j minus %j allows %s: %s', (actions, notActions, action, allowed) => {
    expect(isActionAllowed(action, [{ actions, notActions }])).toBe(allowed);
  });

  it('a second role grants what the first one excludes', () => {
    const entries = [
      { actions: ['*'], notActions: ['Microsoft.Storage/*'] },
      { actions: ['Microsoft.Storage/storageAccounts/read'], notActions: [] },
    ];
    expect(isActionAllowed('Microsoft.Storage/storageAccounts/read', entries)).toBe(true);
    expect(isActionAllowed('Microsoft.Storage/storageAccounts/listKeys/action', entries)).toBe(false);
  });
});

describe('argument helpers', () => {
  it('reads durations with units', () => {
    expect(durationOption('since', '90')).toBe(90);
    expect(durationOption('since', '15m')).toBe(900);
    expect(durationOption('since', '24h')).toBe(86_400);
    expect(durationOption('since', '7d')).toBe(604_800);
    expect(durationOption('since', undefined)).toBeUndefined();
    expect(() => durationOption('since', '1w')).toThrow('--since "1w"');
  });

  it('bounds whole numbers', () => {
    expect(intOption('duration', '60', 1, 100)).toBe(60);
    expect(() => intOption('duration', '0', 1, 100)).toThrow('from 1 to 100');
    expect(() => intOption('duration', '1.5', 1, 100)).toThrow(CliError);
  });

  it('refuses an extra positional and a missing option value', () => {
    expect(() => parseVerbArgs('show', ['a', 'b'], {}, 1)).toThrow('show: unexpected argument b');
    expect(() => parseVerbArgs('list', ['--state'], { state: { type: 'string' } }, 0)).toThrow(
      /list: .*--state/,
    );
  });

  it('takes VMs, scale-set instances in both spellings, and refuses the rest', () => {
    expect(parseTarget(`${RG}/providers/Microsoft.Compute/virtualMachines/vm1`, undefined)).toMatchObject({
      kind: 'vm',
      vmName: 'vm1',
    });
    const ss = `${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/ss1`;
    expect(parseTarget(ss, '3')).toMatchObject({ kind: 'vmssInstance', scaleSetId: ss, instanceId: '3' });
    expect(parseTarget(`${ss}/virtualMachines/4`, undefined)).toMatchObject({
      kind: 'vmssInstance',
      instanceId: '4',
    });
    expect(() => parseTarget(ss, undefined)).toThrow('add --instance N');
    expect(() => parseTarget(ss, '3/../x')).toThrow('--instance "3/../x"');
  });

  it('finds the subscriptions to search', () => {
    expect(
      scopeSubscriptions(
        [`${SUB}/resourceGroups/a`, SUB.toUpperCase(), '*'],
        ['11111111-1111-1111-1111-111111111111'],
      ),
    ).toEqual(['00000000-0000-0000-0000-000000000000', '11111111-1111-1111-1111-111111111111']);
  });
});

describe('output', () => {
  it('aligns columns and keeps a crafted value on one line', () => {
    const rows = [
      { a: 'x', b: 'evil\nNAME  forged' },
      { a: 'longer', b: '' },
    ];
    expect(
      formatTable(rows, [
        { heading: 'A', value: (r) => r.a },
        { heading: 'B', value: (r) => r.b },
      ]),
    ).toBe('A       B\nx       evil NAME  forged\nlonger\n');
    expect(
      formatFields([
        ['key', 'v'],
        ['longer key', undefined],
        ['k2', 'w'],
      ]),
    ).toBe('key: v\nk2:  w\n');
  });

  it('formats durations and times', () => {
    expect([
      formatDuration(5),
      formatDuration(60),
      formatDuration(76),
      formatDuration(3600),
      formatDuration(5400),
    ]).toEqual(['5s', '1m', '1m16s', '1h', '1h30m']);
    expect(formatDuration(undefined)).toBe('');
    expect(formatTime('2026-12-01T23:19:42.311Z')).toBe('2026-12-01 23:19:42Z');
    expect(formatTime('not a time')).toBe('not a time');
  });
});

describe('capture views', () => {
  const record: CaptureRecord = {
    alertId: 'manual:1',
    kind: 'manual',
    ruleName: '(manual)',
    severity: '',
    firedAt: '2026-12-01T00:00:00.000Z',
    monitorCondition: 'Fired',
    target: `${RG}/providers/Microsoft.Compute/virtualMachines/vm1`,
    targetKind: 'vm',
    vmName: 'vm1',
    subscriptionId: '00000000-0000-0000-0000-000000000000',
    captureName: 'alertcap-vm1-abc-1',
    state: 'running',
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:10.000Z',
    startedAt: '2026-12-01T00:00:01.000Z',
    attempts: 1,
    notifyAttempts: 0,
    etag: 'x',
  };

  it('runs the duration to now while Running, and says Deleted when the resource is gone', () => {
    const now = Date.parse('2026-12-01T00:01:01.000Z');
    expect(viewOfRecord(record, { packetCaptureStatus: 'Running' }, now)).toMatchObject({
      kind: 'manual',
      status: 'Running',
      statusSource: 'live',
      durationSeconds: 60,
    });
    expect(viewOfRecord(record, 'missing', now)).toMatchObject({ status: 'Deleted' });
    expect(viewOfRecord(record, undefined, now).status).toBeUndefined();
    expect(
      viewOfForeign({ name: 'p', target: record.target, region: 'westeurope' }, 'missing', now),
    ).toMatchObject({
      kind: 'foreign',
      vmName: 'vm1',
      status: 'Deleted',
    });
  });

  it('orders the history by time', () => {
    expect(historyOf({ ...record, statusCheckAt: '2026-12-01T00:00:05.000Z' }).map((h) => h.event)).toEqual([
      'started by hand',
      'capture alertcap-vm1-abc-1 started',
      'status check due (after a stop, or an adopted capture)',
      'last update: running',
    ]);
  });
});

describe('loadCliSettings', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cli-settings-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('works without the file, and lets a non-empty environment variable win over it', async () => {
    expect(await loadCliSettings({ A: '1' }, dir)).toEqual({ A: '1' });
    await writeFile(
      path.join(dir, 'local.settings.json'),
      JSON.stringify({ Values: { A: 'file', B: 'file', N: 3 } }),
    );
    expect(await loadCliSettings({ A: 'env', B: '' }, dir)).toEqual({ A: 'env', B: 'file', N: '3' });
  });

  it.each([
    ['{"Values": []}', '"Values" must be an object'],
    ['{"Values": {"A": {"x": 1}}}', 'Values.A must be a string'],
  ])('refuses %s with exit 2', async (text, message) => {
    await writeFile(path.join(dir, 'local.settings.json'), text);
    await expect(loadCliSettings({}, dir)).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining(message) as string,
    });
  });
});

describe('cli.env', () => {
  it('quotes every value for sh and names the CA', () => {
    const text = cliEnvText(
      { ARM_ENDPOINT: 'https://127.0.0.1:1', IDENTITY_HEADER: "it's", OTHER: 'x' },
      '/tmp/ca.pem',
    );
    expect(text.split('\n').slice(1)).toEqual([
      "ARM_ENDPOINT='https://127.0.0.1:1'",
      "IDENTITY_HEADER='it'\\''s'",
      "NODE_EXTRA_CA_CERTS='/tmp/ca.pem'",
      '',
    ]);
  });
});
