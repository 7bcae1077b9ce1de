import { describe, expect, it } from 'vitest';
import {
  isScaleSetId,
  isScaleSetInstanceId,
  isVirtualMachineId,
  isWithinAnyScope,
  isWithinScope,
  parseResourceId,
  parseScaleSetInstanceId,
  sameResourceId,
} from '../../../src/azure/armId.js';

const SUB = '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333';
const VM = `${SUB}/resourceGroups/Prod-RG/providers/Microsoft.Compute/virtualMachines/Web-01`;
const VMSS = `${SUB}/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachineScaleSets/web-vmss`;

describe('parseResourceId', () => {
  it('splits a VM id into its parts, keeping their casing', () => {
    expect(parseResourceId(VM)).toEqual({
      id: VM,
      subscriptionId: '0b1f6471-1bf0-4dda-aec3-111122223333',
      resourceGroup: 'Prod-RG',
      provider: 'Microsoft.Compute',
      type: 'Microsoft.Compute/virtualMachines',
      name: 'Web-01',
      topLevelId: VM,
      children: [],
    });
  });

  it('reads the lower-cased ids alert payloads carry', () => {
    const parsed = parseResourceId(VM.toLowerCase());
    expect(parsed?.type).toBe('microsoft.compute/virtualmachines');
    expect(parsed?.resourceGroup).toBe('prod-rg');
    expect(parsed?.name).toBe('web-01');
  });

  it('returns child segments of a scale-set instance id', () => {
    const parsed = parseResourceId(`${VMSS}/virtualMachines/3`);
    expect(parsed?.type).toBe('Microsoft.Compute/virtualMachineScaleSets');
    expect(parsed?.name).toBe('web-vmss');
    expect(parsed?.child).toEqual({ type: 'virtualMachines', name: '3' });
    expect(parsed?.children).toEqual([{ type: 'virtualMachines', name: '3' }]);
    expect(parsed?.topLevelId).toBe(VMSS);
  });

  it('reads subscription-level resources, with no resource group', () => {
    const parsed = parseResourceId(`${SUB}/providers/Microsoft.Insights/actionGroups/oncall`);
    expect(parsed?.resourceGroup).toBeUndefined();
    expect(parsed?.type).toBe('Microsoft.Insights/actionGroups');
  });

  it('accepts the placeholder subscription of the published samples', () => {
    const id =
      '/subscriptions/<subscription ID>/resourcegroups/pipelinealertrg/providers/microsoft.compute/virtualmachines/wcus-r2-gen2';
    expect(parseResourceId(id)?.subscriptionId).toBe('<subscription ID>');
  });

  it.each([
    ['a subscription id', SUB],
    ['a resource-group id', `${SUB}/resourceGroups/prod-rg`],
    ['a providers segment with no type', `${SUB}/resourceGroups/rg/providers/Microsoft.Compute`],
    ['a type with no name', `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines`],
    ['a child type with no name', `${VMSS}/virtualMachines`],
    ['a trailing slash', `${VM}/`],
    ['an empty segment', `${SUB}//resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm`],
    ['a ".." segment', `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/..`],
    ['a "." segment', `${SUB}/resourceGroups/./providers/Microsoft.Compute/virtualMachines/vm`],
    ['a query string', `${VM}?api-version=1`],
    ['a fragment', `${VM}#x`],
    ['a percent escape', `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/%2e%2e`],
    ['a backslash', `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a\\b`],
    ['a control character', `${VM}\n`],
    ['an extension resource', `${VM}/providers/Microsoft.Insights/diagnosticSettings/ds`],
    ['no leading slash', VM.slice(1)],
    ['another root', '/tenants/x/providers/Microsoft.Compute/virtualMachines/vm'],
    ['a subscription keyword with no id', '/subscriptions'],
    ['a resourceGroups keyword with no name', `${SUB}/resourceGroups`],
    ['an empty string', ''],
    ['an over-long id', `${VM}${'/x/y'.repeat(2000)}`],
  ])('returns undefined for %s', (_what, id) => {
    expect(parseResourceId(id)).toBeUndefined();
  });

  it.each([null, undefined, 42, {}, ['/subscriptions/x']])(
    'returns undefined for the non-string %j',
    (id) => {
      expect(parseResourceId(id)).toBeUndefined();
    },
  );
});

describe('resource kinds', () => {
  it('recognises a VM id in any casing', () => {
    expect(isVirtualMachineId(VM)).toBe(true);
    expect(isVirtualMachineId(VM.toLowerCase())).toBe(true);
    expect(isVirtualMachineId(VM.toUpperCase())).toBe(true);
  });

  it('does not take a scale set, an instance or a storage account for a VM', () => {
    expect(isVirtualMachineId(VMSS)).toBe(false);
    expect(isVirtualMachineId(`${VMSS}/virtualMachines/3`)).toBe(false);
    expect(
      isVirtualMachineId(`${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/vm`),
    ).toBe(false);
  });

  it('does not take a VM child resource for a VM', () => {
    expect(isVirtualMachineId(`${VM}/extensions/NetworkWatcherAgentLinux`)).toBe(false);
  });

  it('does not take a subscription-level virtualMachines resource for a VM', () => {
    expect(isVirtualMachineId(`${SUB}/providers/Microsoft.Compute/virtualMachines/vm`)).toBe(false);
  });

  it('recognises a scale set, but not its instances', () => {
    expect(isScaleSetId(VMSS.toLowerCase())).toBe(true);
    expect(isScaleSetId(`${VMSS}/virtualMachines/3`)).toBe(false);
    expect(isScaleSetId(VM)).toBe(false);
    expect(isScaleSetId(`${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets/ss`)).toBe(false);
  });

  it('parses a scale-set instance id', () => {
    expect(parseScaleSetInstanceId(`${VMSS}/virtualMachines/3`.toLowerCase())).toEqual({
      scaleSetId: VMSS.toLowerCase(),
      instanceId: '3',
      subscriptionId: '0b1f6471-1bf0-4dda-aec3-111122223333',
      resourceGroup: 'prod-rg',
      scaleSetName: 'web-vmss',
    });
    expect(isScaleSetInstanceId(`${VMSS}/virtualMachines/3`)).toBe(true);
  });

  it('does not take other scale-set children or a VM for an instance', () => {
    expect(parseScaleSetInstanceId(`${VMSS}/extensions/ext`)).toBeUndefined();
    expect(parseScaleSetInstanceId(`${VMSS}/virtualMachines/3/networkInterfaces/nic`)).toBeUndefined();
    expect(parseScaleSetInstanceId(VMSS)).toBeUndefined();
    expect(parseScaleSetInstanceId(VM)).toBeUndefined();
    expect(
      isScaleSetInstanceId(`${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/1`),
    ).toBe(false);
  });
});

describe('sameResourceId', () => {
  it('compares case-insensitively', () => {
    expect(sameResourceId(VM, VM.toLowerCase())).toBe(true);
  });

  it('ignores a trailing slash', () => {
    expect(sameResourceId(`${VM}/`, VM)).toBe(true);
  });

  it('tells different resources apart', () => {
    expect(sameResourceId(VM, `${VM}2`)).toBe(false);
  });
});

describe('isWithinScope', () => {
  const vm = VM.toLowerCase();

  it('allows a resource in the subscription scope', () => {
    expect(isWithinScope(vm, SUB)).toBe(true);
  });

  it('allows a resource in the resource-group scope', () => {
    expect(isWithinScope(vm, `${SUB}/resourcegroups/prod-rg`)).toBe(true);
  });

  it('compares case-insensitively on both sides', () => {
    expect(isWithinScope(VM, `${SUB.toUpperCase()}/RESOURCEGROUPS/PROD-RG`)).toBe(true);
  });

  it('stops at segment boundaries: rg "prod" does not contain rg "prod2"', () => {
    const id = `${SUB}/resourceGroups/prod2/providers/Microsoft.Compute/virtualMachines/vm`;
    expect(isWithinScope(id, `${SUB}/resourceGroups/prod`)).toBe(false);
  });

  it('stops at segment boundaries: a subscription prefix of another is not its scope', () => {
    expect(isWithinScope(`${SUB}0/resourceGroups/rg`, SUB)).toBe(false);
  });

  it('refuses a resource in another resource group', () => {
    expect(isWithinScope(vm, `${SUB}/resourceGroups/test-rg`)).toBe(false);
  });

  it('tolerates a trailing slash on the scope', () => {
    expect(isWithinScope(vm, `${SUB}/`)).toBe(true);
  });

  it('allows everything with "*"', () => {
    expect(isWithinScope('/subscriptions/other/resourceGroups/x', '*')).toBe(true);
  });

  it('refuses an id that climbs out of the scope with ".."', () => {
    const id = `${SUB}/resourceGroups/prod-rg/../../../subscriptions/other/resourceGroups/x/providers/Microsoft.Compute/virtualMachines/vm`;
    expect(isWithinScope(id, `${SUB}/resourceGroups/prod-rg`)).toBe(false);
  });

  it('refuses everything with an empty scope', () => {
    expect(isWithinScope(vm, '')).toBe(false);
  });

  it('refuses an id without a leading slash', () => {
    expect(isWithinScope(vm.slice(1), SUB)).toBe(false);
  });

  it('checks a list of scopes', () => {
    expect(isWithinAnyScope(vm, ['/subscriptions/other', SUB])).toBe(true);
    expect(isWithinAnyScope(vm, ['/subscriptions/other'])).toBe(false);
    expect(isWithinAnyScope(vm, [])).toBe(false);
  });
});
