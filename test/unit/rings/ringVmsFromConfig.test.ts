import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { ringVmsFromConfig } from '../../../src/rings/ringVmsFromConfig.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000001';
const OTHER = '/subscriptions/00000000-0000-0000-0000-000000000002';
const vm = (sub: string, name: string) =>
  `${sub}/resourceGroups/App-RG/providers/Microsoft.Compute/virtualMachines/${name}`;

const configWith = (vmIds: string[]) =>
  loadConfig({
    CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/caps`,
    ALLOWED_SCOPES: SUB,
    LEDGER_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
    RING_VM_IDS: vmIds.join(','),
  });

describe('ringVmsFromConfig', () => {
  it('wants the listed VMs with their names and subscriptions, as a complete list', async () => {
    const wanted = await ringVmsFromConfig(configWith([vm(SUB, 'Web-01'), vm(SUB, 'db-01')]))();
    expect(wanted).toEqual({
      complete: true,
      vms: [
        { vmId: vm(SUB, 'Web-01').toLowerCase(), vmName: 'web-01', subscriptionId: SUB.slice(15) },
        { vmId: vm(SUB, 'db-01').toLowerCase(), vmName: 'db-01', subscriptionId: SUB.slice(15) },
      ],
    });
  });

  it('leaves out a listed VM outside ALLOWED_SCOPES (an alert on it would get no capture either)', async () => {
    const wanted = await ringVmsFromConfig(configWith([vm(OTHER, 'web-02'), vm(SUB, 'web-03')]))();
    expect(wanted.vms.map((v) => v.vmName)).toEqual(['web-03']);
    expect(wanted.complete).toBe(true);
  });

  it('wants nothing when RING_VM_IDS is empty, and says the list is complete (rings left over are removed)', async () => {
    expect(await ringVmsFromConfig(configWith([]))()).toEqual({ vms: [], complete: true });
  });
});
