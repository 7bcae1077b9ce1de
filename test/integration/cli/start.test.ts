import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartOutput } from '../../../src/cli/verbs/start.js';
import { SUB, vmId } from '../../support/appHarness.js';
import { startCliHarness, type CliHarness } from './cliHarness.js';

describe('alert-capture start', () => {
  let h: CliHarness;
  beforeAll(async () => {
    h = await startCliHarness({ settings: { CAPTURE_MAX_TIME_LIMIT_SECONDS: '600' } });
  });
  afterAll(async () => h.stop());

  it('starts a manual capture through the ledger with the given filters, and --wait ends Stopped with the file', async () => {
    const vm = vmId('cli-start-1');
    h.emulator.registerVm({ id: vm, location: 'westeurope' });
    const run = await h.cli([
      'start',
      '--vm',
      vm,
      '--duration',
      '60',
      '--filter',
      'protocol=TCP,remoteIPAddress=10.0.0.0-10.0.0.255,remotePort=443;8443',
      '--wait',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as StartOutput;
    expect(out).toMatchObject({ outcome: 'started', target: vm, settings: { timeLimitInSeconds: 60 } });
    expect(out.wait).toMatchObject({ outcome: 'stopped', status: 'Stopped', stopReason: 'TimeExceeded' });
    expect(out.wait?.file).toMatch(/network-watcher-logs\/.*cli-start-1\/.*\.cap$/);
    const record = await h.ctx.ledger.get(out.alertId);
    expect(record).toMatchObject({ kind: 'manual', state: 'running', captureName: out.captureName });
    const capture = h.emulator.captures().find((c) => c.name === out.captureName);
    expect(capture?.filters).toEqual([
      { protocol: 'TCP', remoteIPAddress: '10.0.0.0-10.0.0.255', remotePort: '443;8443' },
    ]);
  });

  it("refuses the az docs' bad range with exit 2 naming it, and records and sends nothing", async () => {
    const vm = vmId('cli-start-2');
    h.emulator.registerVm({ id: vm, location: 'westeurope' });
    const before = h.emulator.requests().length;
    const run = await h.cli([
      'start',
      '--vm',
      vm,
      '--filter',
      'protocol=TCP,remoteIPAddress=1.1.1.1-255.255.255',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('remoteIPAddress "1.1.1.1-255.255.255"');
    expect(run.stderr).toContain('"255.255.255" is not a valid IP address');
    expect(h.emulator.requests().length).toBe(before);
    expect(await h.ctx.ledger.listByTarget(vm, { includeInactive: true })).toEqual([]);
  });

  it('clamps the duration to the operator maximum and says so', async () => {
    const vm = vmId('cli-start-3');
    h.emulator.registerVm({ id: vm, location: 'westeurope' });
    const run = await h.cli(['start', '--vm', vm, '--duration', '5000', '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as StartOutput;
    expect(out.settings.timeLimitInSeconds).toBe(600);
    expect(out.notes).toEqual(['captureDurationSeconds lowered to the maximum 600']);
  });

  it('refuses a second capture of a VM that is being captured (the same lease as alerts), exit 4', async () => {
    const vm = vmId('cli-start-3');
    const run = await h.cli(['start', '--vm', vm]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/already under way for alert manual:/);
  });

  it('exits 3 for a VM that does not exist, recording nothing', async () => {
    const vm = vmId('cli-start-missing');
    const run = await h.cli(['start', '--vm', vm]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('not found');
    expect(await h.ctx.ledger.listByTarget(vm, { includeInactive: true })).toEqual([]);
  });

  it('exits 4 outside ALLOWED_SCOPES', async () => {
    const vm = vmId('cli-start-4', 'other-rg');
    const run = await h.cli(['start', '--vm', vm], {
      env: { ALLOWED_SCOPES: `${SUB}/resourceGroups/app-rg` },
    });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('outside ALLOWED_SCOPES');
  });

  it('refuses with exit 4 when the region budget is used up, and the record is not left to start later', async () => {
    const vm = vmId('cli-start-budget');
    h.emulator.registerVm({ id: vm, location: 'westeurope' });
    const run = await h.cli(['start', '--vm', vm, '--json'], { env: { CAPTURE_SESSION_BUDGET: '1' } });
    expect(run.code).toBe(4);
    const out = JSON.parse(run.stdout) as StartOutput;
    expect(out).toMatchObject({ outcome: 'refused' });
    expect(out.reason).toMatch(/capture budget for westeurope is used up/);
    expect(await h.ctx.ledger.get(out.alertId)).toMatchObject({ state: 'failed' });
  });

  it('exits 1 when the capture cannot be taken (no agent), and wait on it exits 6', async () => {
    const vm = vmId('cli-start-agentless');
    h.emulator.registerVm({ id: vm, location: 'westeurope', agentInstalled: false });
    const run = await h.cli(['start', '--vm', vm]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/outcome: +failed/);
    expect(run.stderr).toContain('Network Watcher agent not installed');
    const alertId = /alert id: +(\S+)/.exec(run.stdout)?.[1] ?? '';
    const waited = await h.cli(['wait', alertId]);
    expect(waited.code).toBe(6);
    expect(waited.stdout).toMatch(/outcome: +error/);
  });

  it('prints the outcome as text without --json', async () => {
    const vm = vmId('cli-start-text');
    h.emulator.registerVm({ id: vm, location: 'westeurope' });
    const run = await h.cli(['start', '--vm', vm, '--duration', '30']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^outcome: +started\ncapture: +alertcap-cli-start-text-\w{6}-\w{8}\nalert id: +manual:[0-9a-f-]{36}\ntarget: +\S+cli-start-text\n$/,
    );
  });

  it.each([
    [['start'], 'missing --vm'],
    [['start', '--vm', 'not-an-id'], 'expected /subscriptions/'],
    [['start', '--vm', vmId('x'), '--duration', 'ten'], '--duration "ten"'],
    [['start', '--vm', vmId('x'), '--bogus'], "Unknown option '--bogus'"],
    [['start', '--vm', vmId('x'), '--instance', '3'], '--instance needs --vm to be a scale set'],
    [
      ['start', '--vm', vmId('x'), '--filters-json', '[{"remotePort":"80-90;443"}]'],
      'range inside a ";" list',
    ],
  ])('exits 2 for %j', async (argv, message) => {
    const run = await h.cli(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('exits 2 naming every bad setting', async () => {
    const run = await h.cli(['start', '--vm', vmId('x')], { env: { CAPTURE_TOTAL_BYTES: 'lots' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CAPTURE_TOTAL_BYTES');
  });
});
