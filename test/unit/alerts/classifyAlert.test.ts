import { describe, expect, it } from 'vitest';
import {
  classifyAlert,
  readCaptureOverrides,
  type Classification,
} from '../../../src/alerts/classifyAlert.js';
import { parseAlert, type AlertEvent } from '../../../src/alerts/parseAlert.js';
import { loadJson, ownFixture, sharedAlertsDir } from './alertFixtures.js';

const SUB = '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333';
const RG = `${SUB}/resourcegroups/prod-rg`;
const WEB_01 = `${RG}/providers/microsoft.compute/virtualmachines/web-01`;
const VMSS = `${RG}/providers/microsoft.compute/virtualmachinescalesets/web-vmss`;
const STORAGE = `${RG}/providers/microsoft.storage/storageaccounts/logs`;
const ALL = { allowedScopes: ['*'] };

function eventFrom(body: unknown): AlertEvent {
  const result = parseAlert(body);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.event;
}

const own = (file: string): AlertEvent => eventFrom(ownFixture(file));

/** The VM metric alert with some fields replaced. */
function metricAlert(changes: Partial<AlertEvent>): AlertEvent {
  return { ...own('common-metric-static-vm-fired.json'), ...changes };
}

function reasonOf(c: Classification): string {
  if (c.action !== 'ignore' && c.action !== 'forbidden')
    throw new Error(`expected a reason, got ${JSON.stringify(c)}`);
  return c.reason;
}

describe('classifyAlert: the published samples (all scopes allowed)', () => {
  it('ignores classic-metric.json: its target is a microsoft.foo/sites', () => {
    const c = classifyAlert(eventFrom(loadJson(sharedAlertsDir, 'classic-metric.json')), ALL);
    expect(c).toEqual({
      action: 'ignore',
      reason:
        'alert is a metric alert with no VM target: target is a microsoft.foo/sites, not a virtual machine',
    });
  });

  it('stops on common-metric-static-resolved.json: a resolved alert on a VM', () => {
    const c = classifyAlert(eventFrom(loadJson(sharedAlertsDir, 'common-metric-static-resolved.json')), ALL);
    expect(c).toEqual({
      action: 'stop',
      target: {
        kind: 'vm',
        vmId: '/subscriptions/<subscription ID>/resourcegroups/pipelinealertrg/providers/microsoft.compute/virtualmachines/wcus-r2-gen2',
        subscriptionId: '<subscription ID>',
        resourceGroup: 'pipelinealertrg',
        vmName: 'wcus-r2-gen2',
      },
    });
  });

  it('ignores common-testaction-log-v2-fired.json: a log search alert on a workspace', () => {
    const c = classifyAlert(eventFrom(loadJson(sharedAlertsDir, 'common-testaction-log-v2-fired.json')), ALL);
    expect(reasonOf(c)).toBe(
      'alert is a log search alert with no VM target: target is a Microsoft.OperationalInsights/workspaces, not a virtual machine',
    );
  });

  it('ignores common-testaction-metric-static-fired.json: a metric alert on a storage account', () => {
    const c = classifyAlert(
      eventFrom(loadJson(sharedAlertsDir, 'common-testaction-metric-static-fired.json')),
      ALL,
    );
    expect(reasonOf(c)).toBe(
      'alert is a metric alert with no VM target: target is a Microsoft.Storage/storageAccounts, not a virtual machine',
    );
  });

  it('ignores metricalert-noncommon-static.json: a metric alert on a storage account', () => {
    const c = classifyAlert(eventFrom(loadJson(sharedAlertsDir, 'metricalert-noncommon-static.json')), ALL);
    expect(c.action).toBe('ignore');
    expect(reasonOf(c)).toContain('Microsoft.Storage/storageAccounts, not a virtual machine');
  });
});

describe('classifyAlert: VM-targeted variants', () => {
  const webVm = {
    kind: 'vm',
    vmId: WEB_01,
    subscriptionId: '0b1f6471-1bf0-4dda-aec3-111122223333',
    resourceGroup: 'prod-rg',
    vmName: 'web-01',
  } as const;

  it('captures a common metric static alert on a VM', () => {
    expect(classifyAlert(own('common-metric-static-vm-fired.json'), ALL)).toEqual({
      action: 'capture',
      target: webVm,
    });
  });

  it('captures a dynamic threshold alert on a VM', () => {
    const c = classifyAlert(own('common-metric-dynamic-vm-fired.json'), ALL);
    expect(c).toMatchObject({ action: 'capture', target: { kind: 'vm', vmName: 'api-02' } });
  });

  it('captures the scale-set instance named by the VMName dimension', () => {
    expect(classifyAlert(own('common-metric-vmss-vmname-fired.json'), ALL)).toEqual({
      action: 'capture',
      target: {
        kind: 'vmssInstance',
        scaleSetId: VMSS,
        instanceId: '3',
        subscriptionId: '0b1f6471-1bf0-4dda-aec3-111122223333',
        resourceGroup: 'prod-rg',
        scaleSetName: 'web-vmss',
      },
    });
  });

  it('captures the first of several VM targets, with a note', () => {
    const c = classifyAlert(own('common-metric-multi-target-fired.json'), ALL);
    expect(c).toEqual({
      action: 'capture',
      target: expect.objectContaining({ kind: 'vm', vmName: 'db-01' }) as unknown,
      note: `3 targets; capturing the first VM: ${RG}/providers/microsoft.compute/virtualmachines/db-01`,
    });
  });

  it('captures the first target inside the allowed scopes when an earlier one is outside them', () => {
    const event = own('common-metric-multi-target-fired.json');
    const other =
      '/subscriptions/99999999-9999-9999-9999-999999999999/resourcegroups/x/providers/microsoft.compute/virtualmachines/outside';
    const c = classifyAlert({ ...event, targets: [other, ...event.targets] }, { allowedScopes: [RG] });
    expect(c).toMatchObject({ action: 'capture', target: { kind: 'vm', vmName: 'db-01' } });
    expect(c.action === 'capture' ? c.note : '').toMatch(/capturing the first allowed VM/);
  });

  it('captures a log search V2 alert on a VM', () => {
    expect(classifyAlert(own('common-log-v2-vm-fired.json'), ALL)).toEqual({
      action: 'capture',
      target: webVm,
    });
  });

  it('captures an AzureMonitorMetricAlert on a VM, keeping the id as given', () => {
    const c = classifyAlert(own('metricalert-noncommon-vm.json'), ALL);
    expect(c).toMatchObject({
      action: 'capture',
      target: {
        kind: 'vm',
        vmId: `${SUB}/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachines/web-01`,
      },
    });
  });

  it('captures a classic metric alert on a VM', () => {
    expect(classifyAlert(own('classic-metric-vm.json'), ALL)).toMatchObject({
      action: 'capture',
      target: { vmName: 'web-01' },
    });
  });

  it('ignores an activity log alert on a VM, naming the kind', () => {
    expect(classifyAlert(own('common-activitylog-administrative-vm.json'), ALL)).toEqual({
      action: 'ignore',
      reason:
        'alert is an activity log alert (Activity Log - Administrative), which does not start captures; only metric and log search alerts do',
    });
  });
});

describe('classifyAlert: alert kinds', () => {
  it.each([
    ['ServiceHealth', 'ActivityLog', 'a service health alert (ServiceHealth)'],
    ['Resource Health', 'Activity Log', 'a resource health alert (Resource Health)'],
    ['CostAlerts', undefined, 'a budget alert (CostAlerts)'],
    ['SmartDetector', 'Log', 'a smart detection alert (SmartDetector)'],
    ['Some Future Service', 'Activity Log', 'an activity log alert (Some Future Service)'],
  ])('ignores monitoringService %s on a VM', (monitoringService, signalType, description) => {
    const c = classifyAlert(metricAlert({ monitoringService, signalType }), ALL);
    expect(reasonOf(c)).toBe(
      `alert is ${description}, which does not start captures; only metric and log search alerts do`,
    );
  });

  it('ignores an activity log signal with no monitoring service', () => {
    const c = classifyAlert(metricAlert({ monitoringService: undefined, signalType: 'Activity Log' }), ALL);
    expect(reasonOf(c)).toMatch(/^alert is an activity log alert, which/);
  });

  it('ignores an alert of an unknown kind, saying what it carried', () => {
    const c = classifyAlert(metricAlert({ monitoringService: 'Prometheus', signalType: 'Prom' }), ALL);
    expect(reasonOf(c)).toBe(
      'alert is an alert with signal type "Prom" and monitoring service "Prometheus", which does not start captures; only metric and log search alerts do',
    );
  });

  it('ignores an alert that says nothing about its kind', () => {
    const c = classifyAlert(metricAlert({ monitoringService: undefined, signalType: undefined }), ALL);
    expect(reasonOf(c)).toContain('no signal type and no monitoring service');
  });

  it('takes a Platform alert with no signal type for a metric alert', () => {
    expect(classifyAlert(metricAlert({ signalType: undefined }), ALL).action).toBe('capture');
  });

  it('ignores a classic alert whose condition type is not Metric', () => {
    const body = ownFixture('classic-metric-vm.json');
    (body.context as Record<string, unknown>).conditionType = 'Event';
    expect(classifyAlert(eventFrom(body), ALL).action).toBe('ignore');
  });
});

describe('classifyAlert: targets', () => {
  it('ignores an alert with no target', () => {
    expect(reasonOf(classifyAlert(metricAlert({ targets: [] }), ALL))).toBe(
      'alert is a metric alert with no target resource',
    );
  });

  it('says "resolved" for a resolved alert with no target', () => {
    const c = classifyAlert(metricAlert({ targets: [], monitorCondition: 'Resolved' }), ALL);
    expect(reasonOf(c)).toBe('resolved alert is a metric alert with no target resource');
  });

  it('ignores a resolved alert on a storage account', () => {
    const c = classifyAlert(metricAlert({ targets: [STORAGE], monitorCondition: 'Resolved' }), ALL);
    expect(reasonOf(c)).toMatch(/^resolved alert is a metric alert with no VM target/);
  });

  it('ignores a target that is not a resource id', () => {
    expect(reasonOf(classifyAlert(metricAlert({ targets: ['web-01'] }), ALL))).toBe(
      'alert is a metric alert with no VM target: target "web-01" is not a resource id',
    );
  });

  it('ignores a subscription target', () => {
    expect(reasonOf(classifyAlert(metricAlert({ targets: [SUB] }), ALL))).toContain('is not a resource id');
  });

  it('ignores a VM child resource', () => {
    const c = classifyAlert(metricAlert({ targets: [`${WEB_01}/extensions/agent`] }), ALL);
    expect(reasonOf(c)).toContain(
      'target is a child resource of a Microsoft.Compute/virtualMachines, not a virtual machine',
    );
  });

  it('keeps the casing of an unknown type in the reason', () => {
    const c = classifyAlert(metricAlert({ targets: [`${RG}/providers/Contoso.Widgets/gizmos/g1`] }), ALL);
    expect(reasonOf(c)).toContain('target is a Contoso.Widgets/gizmos, not a virtual machine');
  });

  it('skips non-VM targets to find the first VM, with a note', () => {
    const c = classifyAlert(metricAlert({ targets: [STORAGE, WEB_01] }), ALL);
    expect(c).toMatchObject({
      action: 'capture',
      target: { vmName: 'web-01' },
      note: `2 targets; capturing the first VM: ${WEB_01}`,
    });
  });

  it('says how many targets there were when none is a VM', () => {
    const c = classifyAlert(metricAlert({ targets: [STORAGE, `${STORAGE}2`] }), ALL);
    expect(reasonOf(c)).toBe(
      'alert is a metric alert with no VM target (none of its 2 targets is one; the first: target is a Microsoft.Storage/storageAccounts, not a virtual machine)',
    );
  });

  it('captures a scale-set instance id target', () => {
    expect(classifyAlert(metricAlert({ targets: [`${VMSS}/virtualmachines/7`] }), ALL)).toEqual({
      action: 'capture',
      target: {
        kind: 'vmssInstance',
        scaleSetId: VMSS,
        instanceId: '7',
        subscriptionId: '0b1f6471-1bf0-4dda-aec3-111122223333',
        resourceGroup: 'prod-rg',
        scaleSetName: 'web-vmss',
      },
    });
  });

  it('notes a scale-set instance chosen among several targets', () => {
    const c = classifyAlert(metricAlert({ targets: [STORAGE, `${VMSS}/virtualmachines/7`] }), ALL);
    expect(c).toMatchObject({
      note: `2 targets; capturing the first scale-set instance: ${VMSS} instance 7`,
    });
  });

  it('reads a VMName dimension case-insensitively', () => {
    const c = classifyAlert(metricAlert({ targets: [VMSS], dimensions: { vmname: 'web-vmss_12' } }), ALL);
    expect(c).toMatchObject({ action: 'capture', target: { kind: 'vmssInstance', instanceId: '12' } });
  });

  it('reads a VMName without the scale-set name', () => {
    const c = classifyAlert(metricAlert({ targets: [VMSS], dimensions: { VMName: 'vmss_3' } }), ALL);
    expect(c).toMatchObject({ target: { instanceId: '3' } });
  });

  it('reads an InstanceId dimension holding a number', () => {
    const c = classifyAlert(metricAlert({ targets: [VMSS], dimensions: { InstanceId: '4' } }), ALL);
    expect(c).toMatchObject({ target: { kind: 'vmssInstance', instanceId: '4' } });
  });

  it('reads an Instance dimension holding a VM name', () => {
    const c = classifyAlert(metricAlert({ targets: [VMSS], dimensions: { instance: 'web-vmss_5' } }), ALL);
    expect(c).toMatchObject({ target: { instanceId: '5' } });
  });

  it('ignores a scale-set alert with no instance dimension, saying how to fix the rule', () => {
    const c = classifyAlert(metricAlert({ targets: [VMSS], dimensions: {} }), ALL);
    expect(reasonOf(c)).toContain(
      'has no VMName or InstanceId dimension saying which instance (split the rule by VMName)',
    );
  });

  it('ignores a VMName that names no instance number (flexible scale sets)', () => {
    const c = classifyAlert(
      metricAlert({ targets: [VMSS], dimensions: { VMName: 'web-vmss_a1b2c3d4' } }),
      ALL,
    );
    expect(reasonOf(c)).toContain('dimension value "web-vmss_a1b2c3d4" names no instance number');
  });

  it('stops on a resolved scale-set alert', () => {
    const c = classifyAlert(
      metricAlert({ targets: [VMSS], dimensions: { VMName: 'web-vmss_3' }, monitorCondition: 'Resolved' }),
      ALL,
    );
    expect(c).toMatchObject({ action: 'stop', target: { kind: 'vmssInstance', instanceId: '3' } });
  });
});

describe('classifyAlert: allowed scopes', () => {
  const event = own('common-metric-static-vm-fired.json');

  it('captures inside the subscription scope', () => {
    expect(classifyAlert(event, { allowedScopes: [SUB] }).action).toBe('capture');
  });

  it('captures inside the resource-group scope', () => {
    expect(classifyAlert(event, { allowedScopes: [RG] }).action).toBe('capture');
  });

  it('compares scopes case-insensitively (payload ids are lower-cased, ARM ids are not)', () => {
    const upper = own('metricalert-noncommon-vm.json');
    expect(classifyAlert(upper, { allowedScopes: [RG.toLowerCase()] }).action).toBe('capture');
  });

  it('forbids a VM in resource group "prod-rg2" when only "prod-rg" is allowed', () => {
    const other = metricAlert({
      targets: [`${SUB}/resourcegroups/prod-rg2/providers/microsoft.compute/virtualmachines/web-01`],
    });
    expect(classifyAlert(other, { allowedScopes: [RG] }).action).toBe('forbidden');
  });

  it('forbids a VM in another subscription, naming it', () => {
    expect(
      classifyAlert(event, { allowedScopes: ['/subscriptions/99999999-0000-0000-0000-000000000000'] }),
    ).toEqual({
      action: 'forbidden',
      reason: `target ${WEB_01} is outside the allowed scopes (ALLOWED_SCOPES)`,
    });
  });

  it('forbids everything with no scopes', () => {
    expect(classifyAlert(event, { allowedScopes: [] }).action).toBe('forbidden');
  });

  it('allows everything with "*"', () => {
    const elsewhere = metricAlert({
      targets: ['/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/z'],
    });
    expect(classifyAlert(elsewhere, ALL).action).toBe('capture');
  });

  it('forbids stopping outside the scopes too', () => {
    const resolved = metricAlert({ monitorCondition: 'Resolved' });
    expect(classifyAlert(resolved, { allowedScopes: [`${SUB}/resourcegroups/other`] }).action).toBe(
      'forbidden',
    );
  });

  it('checks the scale set of an instance target', () => {
    const vmss = metricAlert({ targets: [`${VMSS}/virtualmachines/7`] });
    expect(classifyAlert(vmss, { allowedScopes: [RG] }).action).toBe('capture');
    expect(classifyAlert(vmss, { allowedScopes: [`${SUB}/resourcegroups/prod`] }).action).toBe('forbidden');
  });

  it('ignores rather than forbids a non-VM target outside the scopes', () => {
    expect(classifyAlert(metricAlert({ targets: [STORAGE] }), { allowedScopes: [] }).action).toBe('ignore');
  });
});

describe('readCaptureOverrides', () => {
  it('reads the overrides of the VM fixture', () => {
    expect(readCaptureOverrides(own('common-metric-static-vm-fired.json').customProperties)).toEqual({
      overrides: { captureDurationSeconds: 120, captureFilters: [{ protocol: 'TCP', remotePort: '443' }] },
      problems: [],
    });
  });

  it('reads every override', () => {
    const result = readCaptureOverrides({
      captureDurationSeconds: '60',
      captureFilters: '[]',
      captureBytesPerPacket: '0',
      captureTotalBytes: '1048576',
      team: 'web',
    });
    expect(result).toEqual({
      overrides: {
        captureDurationSeconds: 60,
        captureFilters: [],
        captureBytesPerPacket: 0,
        captureTotalBytes: 1048576,
      },
      problems: [],
    });
  });

  it('matches property names case-insensitively', () => {
    expect(readCaptureOverrides({ CaptureDurationSeconds: ' 90 ' }).overrides).toEqual({
      captureDurationSeconds: 90,
    });
  });

  it('returns nothing for no properties', () => {
    expect(readCaptureOverrides({})).toEqual({ overrides: {}, problems: [] });
  });

  it('reports a duration that is not an integer, and keeps the good values', () => {
    const result = readCaptureOverrides({ captureDurationSeconds: '1.5', captureTotalBytes: '1000' });
    expect(result.overrides).toEqual({ captureTotalBytes: 1000 });
    expect(result.problems).toEqual([
      'customProperties.captureDurationSeconds: expected an integer from 1 to 18000 (found "1.5")',
    ]);
  });

  it('reports a duration over the Network Watcher limit', () => {
    expect(readCaptureOverrides({ captureDurationSeconds: '18001' }).problems).toHaveLength(1);
  });

  it('reports a zero duration', () => {
    expect(readCaptureOverrides({ captureDurationSeconds: '0' }).problems).toHaveLength(1);
  });

  it('reports a negative byte count', () => {
    expect(readCaptureOverrides({ captureBytesPerPacket: '-1' }).problems[0]).toContain(
      'expected an integer from 0 to 4294967295',
    );
  });

  it('reports filters that are not JSON', () => {
    expect(readCaptureOverrides({ captureFilters: 'tcp 443' }).problems).toEqual([
      'customProperties.captureFilters: expected a JSON array of Network Watcher filter objects (found "tcp 443")',
    ]);
  });

  it('reports filters with an unknown field, naming it', () => {
    const problems = readCaptureOverrides({ captureFilters: '[{"protocol":"TCP","port":"443"}]' }).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('expected a JSON array of at most 10 filter objects');
    expect(problems[0]).toContain('port');
  });

  it('reports filters that are an object rather than an array', () => {
    expect(readCaptureOverrides({ captureFilters: '{"protocol":"TCP"}' }).problems[0]).toContain('(array)');
  });

  it('reports more than 10 filters', () => {
    const filters = JSON.stringify(Array.from({ length: 11 }, () => ({ protocol: 'UDP' })));
    expect(readCaptureOverrides({ captureFilters: filters }).problems).toHaveLength(1);
  });

  it('shortens a long bad value in the problem', () => {
    const problem = readCaptureOverrides({ captureTotalBytes: 'x'.repeat(500) }).problems[0] ?? '';
    expect(problem.length).toBeLessThan(200);
  });
});
