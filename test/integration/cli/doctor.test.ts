import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorOutput } from '../../../src/cli/verbs/doctor.js';
import { vmId } from '../../support/appHarness.js';
import { startCliHarness, type CliHarness } from './cliHarness.js';

describe('alert-capture doctor', () => {
  let h: CliHarness;
  beforeAll(async () => {
    h = await startCliHarness({
      emulator: { deniedActions: ['Microsoft.Network/networkWatchers/packetCaptures/delete'] },
    });
  });
  afterAll(async () => h.stop());

  it('passes the agent check on a VM whose agent extension is named networkWatcherAgent (golden)', async () => {
    const vm = vmId('doc-ok');
    h.emulator.registerVm({ id: vm, location: 'northeurope', agentExtensionName: 'networkWatcherAgent' });
    const run = await h.cli(['doctor', '--vm', vm]);
    // The identity lacks one action (deniedActions): that line fails, the rest pass.
    expect(run.code).toBe(1);
    expect(run.stdout.replace(/ {2,}/g, '  ')).toBe(
      [
        `pass  VM found  doc-ok (${vm})`,
        'pass  region  northeurope',
        'pass  Network Watcher  NetworkWatcher_northeurope in NetworkWatcherRG',
        'pass  agent  installed as extension networkWatcherAgent (Succeeded)',
        'pass  capture storage  devstoreaccount1 reachable, Standard_RAGRS (StorageV2)',
        "pass  budget  10 of 10 capture sessions left in northeurope (0 ours, 0 others' running)",
        `pass  permission Microsoft.Compute/virtualMachines/read  allowed at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/app-rg`,
        `pass  permission Microsoft.Compute/virtualMachines/extensions/read  allowed at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/app-rg`,
        'pass  permission Microsoft.Network/networkWatchers/read  allowed at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/NetworkWatcherRG',
        'pass  permission Microsoft.Network/networkWatchers/packetCaptures/read  allowed at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/NetworkWatcherRG',
        'pass  permission Microsoft.Network/networkWatchers/packetCaptures/write  allowed at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/NetworkWatcherRG',
        'FAIL  permission Microsoft.Network/networkWatchers/packetCaptures/delete  NOT allowed at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/NetworkWatcherRG',
        'pass  permission Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action  allowed at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/NetworkWatcherRG',
        'pass  permission Microsoft.Network/networkWatchers/packetCaptures/stop/action  allowed at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/NetworkWatcherRG',
        `pass  permission Microsoft.Storage/storageAccounts/read  allowed at ${h.settings.CAPTURE_STORAGE_ACCOUNT_ID}`,
        `pass  permission Microsoft.Storage/storageAccounts/listKeys/action  allowed at ${h.settings.CAPTURE_STORAGE_ACCOUNT_ID}`,
        `pass  permission Microsoft.Storage/storageAccounts/listServiceSas/action  allowed at ${h.settings.CAPTURE_STORAGE_ACCOUNT_ID}`,
        `pass  permission Microsoft.Storage/storageAccounts/listAccountSas/action  allowed at ${h.settings.CAPTURE_STORAGE_ACCOUNT_ID}`,
        '1 checks failed',
        '',
      ].join('\n'),
    );
    // No side effects: only reads were sent.
    expect(
      h.emulator.requests().filter((r) => r.method !== 'GET' && !/\/querystatus$/i.test(r.path)),
    ).toEqual([]);
  });

  it('fails the agent check on an agentless VM, in --json', async () => {
    const vm = vmId('doc-agentless');
    h.emulator.registerVm({ id: vm, location: 'northeurope', agentInstalled: false });
    const run = await h.cli(['doctor', '--vm', vm, '--json']);
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as DoctorOutput;
    expect(out.ok).toBe(false);
    expect(out.checks.find((c) => c.name === 'agent')).toEqual({
      name: 'agent',
      ok: false,
      detail: 'not installed: add the Network Watcher agent extension or set AUTO_INSTALL_AGENT=true',
    });
  });

  it('exits 3 for a VM that does not exist', async () => {
    const run = await h.cli(['doctor', '--vm', vmId('doc-missing'), '--json']);
    expect(run.code).toBe(3);
    const out = JSON.parse(run.stdout) as DoctorOutput;
    expect(out.checks[0]).toMatchObject({ name: 'VM found', ok: false });
  });
});
