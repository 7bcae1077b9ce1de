import { describe, expect, it } from 'vitest';
import { captureNameFor, isOurCapture } from '../../../src/captures/captureName.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const vm = (rg: string, name: string) =>
  `${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;

describe('captureNameFor', () => {
  it('is deterministic and case-insensitive on the resource id', () => {
    const a = captureNameFor('alertcap', { resourceId: vm('rg1', 'web-01'), name: 'web-01' });
    const b = captureNameFor('alertcap', { resourceId: vm('RG1', 'WEB-01').toLowerCase(), name: 'web-01' });
    expect(a).toBe(b);
    expect(a).toMatch(/^alertcap-web-01-[0-9a-f]{6}$/);
  });

  it('gives same-named VMs in different resource groups different names', () => {
    const a = captureNameFor('alertcap', { resourceId: vm('rg1', 'web'), name: 'web' });
    const b = captureNameFor('alertcap', { resourceId: vm('rg2', 'web'), name: 'web' });
    expect(a).not.toBe(b);
  });

  it('names scale set instances apart', () => {
    const ss = `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool`;
    const a = captureNameFor('alertcap', { resourceId: ss, name: 'pool', instanceId: '3' });
    const b = captureNameFor('alertcap', { resourceId: ss, name: 'pool', instanceId: '4' });
    expect(a).toMatch(/^alertcap-pool-3-[0-9a-f]{6}$/);
    expect(a).not.toBe(b);
  });

  it('stays within 80 ARM-safe characters for the longest VM names', () => {
    const long = 'v'.repeat(64);
    const name = captureNameFor('a'.repeat(20), {
      resourceId: vm('rg', long),
      name: long,
      instanceId: '12345',
    });
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^[a-z0-9][a-z0-9_.-]*[a-z0-9]$/);
  });

  it('replaces characters ARM does not allow in a name', () => {
    expect(captureNameFor('ac', { resourceId: vm('rg', 'x'), name: 'we b/01' })).toMatch(/^ac-we-b-01-/);
  });
});

describe('isOurCapture', () => {
  it('recognises our prefix and nothing else', () => {
    expect(isOurCapture('alertcap', 'AlertCap-web-01-abcdef')).toBe(true);
    expect(isOurCapture('alertcap', 'alertcapture-by-hand')).toBe(false);
    expect(isOurCapture('alertcap', 'pc1')).toBe(false);
  });
});
