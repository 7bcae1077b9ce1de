import { describe, expect, it } from 'vitest';
import {
  EXPECTED_ALERT_MESSAGE,
  parseAlert,
  type AlertEvent,
  type ParseResult,
} from '../../../src/alerts/parseAlert.js';
import { jsonFiles, loadJson, ownFixture, sharedAlertsDir } from './alertFixtures.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-111122223333';
const WEB_01 = `/subscriptions/${SUB}/resourcegroups/prod-rg/providers/microsoft.compute/virtualmachines/web-01`;

function eventOf(result: ParseResult): AlertEvent {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.issues)}`);
  return result.event;
}

function issuesOf(result: ParseResult): Array<{ path: string; message: string }> {
  if (result.ok) throw new Error(`expected issues, got ${JSON.stringify(result.event)}`);
  return result.issues;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A common-schema body with one essentials field replaced (or removed with `undefined`). */
function commonWith(field: string, value: unknown): Record<string, unknown> {
  const body = ownFixture('common-metric-static-vm-fired.json');
  const essentials = (body.data as { essentials: Record<string, unknown> }).essentials;
  if (value === undefined) delete essentials[field];
  else essentials[field] = value;
  return body;
}

describe('parseAlert: the published samples', () => {
  it('covers every file in the shared fixtures folder', () => {
    expect(jsonFiles(sharedAlertsDir)).toEqual([
      'classic-metric.json',
      'common-metric-static-resolved.json',
      'common-testaction-log-v2-fired.json',
      'common-testaction-metric-static-fired.json',
      'metricalert-noncommon-static.json',
    ]);
  });

  it('reads classic-metric.json', () => {
    const { alertId, ...event } = eventOf(parseAlert(loadJson(sharedAlertsDir, 'classic-metric.json')));
    expect(alertId).toMatch(/^classicMetric:[0-9a-f]{32}$/);
    expect(event).toEqual({
      schema: 'classicMetric',
      ruleName: 'ruleName1',
      ruleId: '/subscriptions/s1/resourceGroups/useast/providers/microsoft.insights/alertrules/ruleName1',
      monitorCondition: 'Fired',
      signalType: 'Metric',
      monitoringService: 'Platform',
      firedAt: '2015-08-14T22:26:41.997Z',
      targets: ['/subscriptions/s1/resourceGroups/useast/providers/microsoft.foo/sites/mysite1'],
      region: 'centralus',
      dimensions: {},
      customProperties: { key1: 'value1', key2: 'value2' },
      metric: { name: 'Requests', operator: 'GreaterThanOrEqual', threshold: '10', value: 10 },
      description: 'some description',
    });
  });

  it('reads common-metric-static-resolved.json', () => {
    const event = eventOf(parseAlert(loadJson(sharedAlertsDir, 'common-metric-static-resolved.json')));
    expect(event).toEqual({
      schema: 'common',
      alertId:
        '/subscriptions/<subscription ID>/providers/Microsoft.AlertsManagement/alerts/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e',
      ruleName: 'WCUS-R2-Gen2',
      severity: 'Sev3',
      monitorCondition: 'Resolved',
      signalType: 'Metric',
      monitoringService: 'Platform',
      firedAt: '2019-03-22T13:58:24.371Z',
      resolvedAt: '2019-03-22T14:03:16.224Z',
      targets: [
        '/subscriptions/<subscription ID>/resourcegroups/pipelinealertrg/providers/microsoft.compute/virtualmachines/wcus-r2-gen2',
      ],
      dimensions: { ResourceId: 'b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2' },
      customProperties: {},
      metric: { name: 'Percentage CPU', operator: 'GreaterThan', threshold: '25', value: 7.727 },
    });
  });

  it('reads common-testaction-log-v2-fired.json', () => {
    const event = eventOf(parseAlert(loadJson(sharedAlertsDir, 'common-testaction-log-v2-fired.json')));
    expect(event.schema).toBe('common');
    expect(event.monitoringService).toBe('Log Alerts V2');
    expect(event.signalType).toBe('Log');
    expect(event.monitorCondition).toBe('Fired');
    expect(event.firedAt).toBe('2025-04-15T18:08:03.626Z');
    expect(event.targets).toEqual([
      '/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/test-RG/providers/microsoft.operationalinsights/workspaces/test-logAnalyticsWorkspace',
    ]);
    expect(event.dimensions).toEqual({ Computer: 'test-computer' });
    expect(event.customProperties).toEqual({ customKey1: 'value1', customKey2: 'value2' });
    expect(event.description).toBe('Alert rule description');
    expect(event.ruleId).toBeUndefined();
  });

  it('reads common-testaction-metric-static-fired.json', () => {
    const event = eventOf(
      parseAlert(loadJson(sharedAlertsDir, 'common-testaction-metric-static-fired.json')),
    );
    expect(event.ruleName).toBe('test-metricAlertRule');
    expect(event.severity).toBe('Sev4');
    expect(event.targets).toEqual([
      '/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/test-RG/providers/microsoft.storage/storageaccounts/test-storageAccount',
    ]);
    expect(event.dimensions).toEqual({ ApiName: 'GetBlob' });
    expect(event.metric).toEqual({
      name: 'Transactions',
      operator: 'GreaterThan',
      threshold: '0',
      value: 100,
    });
    expect(event.customProperties).toEqual({ customKey1: 'value1', customKey2: 'value2' });
  });

  it('reads metricalert-noncommon-static.json', () => {
    const event = eventOf(parseAlert(loadJson(sharedAlertsDir, 'metricalert-noncommon-static.json')));
    expect(event).toMatchObject({
      schema: 'metricAlert',
      ruleName: 'test-metricAlertRule',
      ruleId:
        '/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/test-RG/providers/microsoft.insights/metricAlerts/test-metricAlertRule',
      severity: 'Sev3',
      monitorCondition: 'Fired',
      firedAt: '2021-11-15T09:35:12.970Z',
      targets: [
        '/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/test-RG/providers/Microsoft.Storage/storageAccounts/test-storageAccount',
      ],
      dimensions: { ApiName: 'GetBlob' },
      customProperties: { customKey1: 'value1', customKey2: 'value2' },
      description: 'Alert rule description',
    });
    expect(event.alertId).toMatch(/^metricAlert:[0-9a-f]{32}$/);
    expect(event.region).toBeUndefined();
  });
});

describe('parseAlert: VM-targeted variants', () => {
  it('reads a common metric static alert on a VM, with its rule id and overrides', () => {
    const event = eventOf(parseAlert(ownFixture('common-metric-static-vm-fired.json')));
    expect(event).toMatchObject({
      schema: 'common',
      alertId: `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/6a7b8c9d-0000-4000-8000-000000000001`,
      ruleName: 'vm-high-cpu',
      ruleId: `/subscriptions/${SUB}/resourceGroups/prod-rg/providers/microsoft.insights/metricAlerts/vm-high-cpu`,
      severity: 'Sev2',
      monitorCondition: 'Fired',
      firedAt: '2025-05-02T08:15:42.123Z',
      targets: [WEB_01],
      dimensions: {},
      customProperties: {
        captureDurationSeconds: '120',
        captureFilters: '[{"protocol":"TCP","remotePort":"443"}]',
      },
      metric: { name: 'Percentage CPU', threshold: '90', value: 97.31 },
    });
  });

  it('reads a dynamic threshold alert on a VM, treating an empty description as none', () => {
    const event = eventOf(parseAlert(ownFixture('common-metric-dynamic-vm-fired.json')));
    expect(event.metric).toEqual({
      name: 'Network In Total',
      operator: 'GreaterThan',
      threshold: '52428800',
      value: 734003200,
    });
    expect(event.firedAt).toBe('2025-05-02T09:01:12.500Z');
    expect(event.description).toBeUndefined();
  });

  it('reads the VMName dimension of a scale-set alert', () => {
    const event = eventOf(parseAlert(ownFixture('common-metric-vmss-vmname-fired.json')));
    expect(event.dimensions).toEqual({ VMName: 'web-vmss_3' });
  });

  it('keeps every target of a multi-resource alert, in order', () => {
    const event = eventOf(parseAlert(ownFixture('common-metric-multi-target-fired.json')));
    expect(event.targets.map((t) => t.split('/').pop())).toEqual(['db-01', 'db-02', 'db-03']);
  });

  it('reads a log search V2 alert on a VM with its region and alertContext custom properties', () => {
    const event = eventOf(parseAlert(ownFixture('common-log-v2-vm-fired.json')));
    expect(event.region).toBe('westeurope');
    expect(event.targets).toEqual([WEB_01]);
    expect(event.customProperties).toEqual({ captureTotalBytes: '52428800' });
    expect(event.dimensions).toEqual({ Computer: 'web-01' });
  });

  it('reads an AzureMonitorMetricAlert on a VM, mapping severity "2" to Sev2', () => {
    const event = eventOf(parseAlert(ownFixture('metricalert-noncommon-vm.json')));
    expect(event).toMatchObject({
      schema: 'metricAlert',
      severity: 'Sev2',
      monitorCondition: 'Fired',
      signalType: 'Metric',
      targets: [
        `/subscriptions/${SUB}/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachines/web-01`,
      ],
      customProperties: { captureBytesPerPacket: '128' },
      dimensions: { ResourceId: '5b1d3c2a-0000-4000-8000-000000000007' },
    });
  });

  it('reads a classic metric alert on a VM with its region', () => {
    const event = eventOf(parseAlert(ownFixture('classic-metric-vm.json')));
    expect(event).toMatchObject({
      schema: 'classicMetric',
      monitorCondition: 'Fired',
      region: 'westeurope',
      metric: { name: 'Network Out', threshold: '1073741824', value: 1342177280 },
      customProperties: { team: 'web' },
    });
    expect(event.severity).toBeUndefined();
  });

  it('reads an activity log alert without taking its event properties for custom properties', () => {
    const event = eventOf(parseAlert(ownFixture('common-activitylog-administrative-vm.json')));
    expect(event.monitoringService).toBe('Activity Log - Administrative');
    expect(event.signalType).toBe('Activity Log');
    expect(event.customProperties).toEqual({});
    expect(event.dimensions).toEqual({});
    expect(event.metric).toBeUndefined();
  });
});

describe('parseAlert: alert ids of the non-common schemas', () => {
  it('gives a redelivery of the same notification the same id', () => {
    const a = eventOf(parseAlert(ownFixture('classic-metric-vm.json')));
    const b = eventOf(parseAlert(ownFixture('classic-metric-vm.json')));
    expect(a.alertId).toBe(b.alertId);
  });

  it('gives a later firing of the same rule a new id', () => {
    const body = ownFixture('metricalert-noncommon-vm.json');
    const later = clone(body);
    (later.data as { context: { timestamp: string } }).context.timestamp = '2025-05-02T14:45:12Z';
    expect(eventOf(parseAlert(body)).alertId).not.toBe(eventOf(parseAlert(later)).alertId);
  });

  it('ignores the casing of the resource id', () => {
    const body = ownFixture('metricalert-noncommon-vm.json');
    const lower = clone(body);
    const context = (lower.data as { context: { resourceId: string } }).context;
    context.resourceId = context.resourceId.toLowerCase();
    expect(eventOf(parseAlert(body)).alertId).toBe(eventOf(parseAlert(lower)).alertId);
  });

  it('uses the rule name when the rule id is missing', () => {
    const body = ownFixture('classic-metric-vm.json');
    delete (body.context as Record<string, unknown>).id;
    const event = eventOf(parseAlert(body));
    expect(event.ruleId).toBeUndefined();
    expect(event.alertId).toMatch(/^classicMetric:[0-9a-f]{32}$/);
  });
});

describe('parseAlert: leniency where Azure is inconsistent', () => {
  it('maps a Resolved AzureMonitorMetricAlert to Resolved, with the timestamp as resolve time', () => {
    const body = ownFixture('metricalert-noncommon-vm.json');
    (body.data as Record<string, unknown>).status = 'Resolved';
    const event = eventOf(parseAlert(body));
    expect(event.monitorCondition).toBe('Resolved');
    expect(event.resolvedAt).toBe('2025-05-02T13:45:12.970Z');
  });

  it('maps a Resolved classic alert to Resolved', () => {
    const body = ownFixture('classic-metric-vm.json');
    body.status = 'Resolved';
    expect(eventOf(parseAlert(body)).monitorCondition).toBe('Resolved');
  });

  it('accepts alertRuleId spelled with a lower-case d', () => {
    const event = eventOf(parseAlert(commonWith('alertRuleId', '/subscriptions/x/rules/r')));
    expect(event.ruleId).toBe(
      `/subscriptions/${SUB}/resourceGroups/prod-rg/providers/microsoft.insights/metricAlerts/vm-high-cpu`,
    );
    const body = commonWith('alertRuleID', undefined);
    (body.data as { essentials: Record<string, unknown> }).essentials.alertRuleId =
      '/subscriptions/x/rules/r';
    expect(eventOf(parseAlert(body)).ruleId).toBe('/subscriptions/x/rules/r');
  });

  it('accepts a budget alert with null rule, severity, signal type and targets', () => {
    const body = commonWith('alertRule', null);
    const essentials = (body.data as { essentials: Record<string, unknown> }).essentials;
    Object.assign(essentials, {
      severity: null,
      signalType: null,
      alertTargetIDs: null,
      monitoringService: 'CostAlerts',
      alertRuleID: undefined,
    });
    const event = eventOf(parseAlert(body));
    expect(event.ruleName).toBe('(unnamed rule)');
    expect(event.targets).toEqual([]);
    expect(event.severity).toBeUndefined();
    expect(event.signalType).toBeUndefined();
  });

  it('accepts a common alert with no monitoringService', () => {
    expect(eventOf(parseAlert(commonWith('monitoringService', undefined)))).not.toHaveProperty(
      'monitoringService',
    );
  });

  it('keeps an unknown severity as given', () => {
    expect(eventOf(parseAlert(commonWith('severity', 'Critical'))).severity).toBe('Critical');
  });

  it('treats an empty severity as none', () => {
    expect(eventOf(parseAlert(commonWith('severity', ' '))).severity).toBeUndefined();
  });

  it('accepts a numeric severity', () => {
    expect(eventOf(parseAlert(commonWith('severity', 1))).severity).toBe('Sev1');
  });

  it('reads a timestamp with an offset and no fraction', () => {
    expect(eventOf(parseAlert(commonWith('firedDateTime', '2025-05-02T10:15:42+02:00'))).firedAt).toBe(
      '2025-05-02T08:15:42.000Z',
    );
  });

  it('reads a timestamp with a compact offset', () => {
    expect(eventOf(parseAlert(commonWith('firedDateTime', '2025-05-02T10:15:42-0130'))).firedAt).toBe(
      '2025-05-02T11:45:42.000Z',
    );
  });

  it('reads a timestamp without a zone as UTC', () => {
    expect(eventOf(parseAlert(commonWith('firedDateTime', '2025-05-02 08:15'))).firedAt).toBe(
      '2025-05-02T08:15:00.000Z',
    );
  });

  it('keeps extra fields from failing the parse', () => {
    const body = ownFixture('common-metric-static-vm-fired.json');
    Object.assign(body, { somethingNew: { nested: [1, 2] } });
    Object.assign((body.data as { essentials: object }).essentials, { investigationLink: 'https://portal' });
    expect(parseAlert(body).ok).toBe(true);
  });

  it('accepts the schemaId in another casing', () => {
    const body = ownFixture('common-metric-static-vm-fired.json');
    body.schemaId = 'AzureMonitorCommonAlertSchema';
    expect(eventOf(parseAlert(body)).schema).toBe('common');
  });

  it('reads the dimensions of a V1 log search alert from alertContext.Dimensions', () => {
    const body = ownFixture('common-activitylog-administrative-vm.json');
    (body.data as Record<string, unknown>).alertContext = {
      SearchQuery: 'Heartbeat',
      Dimensions: [{ name: 'Computer', value: 'INC-Gen2Alert' }],
    };
    expect(eventOf(parseAlert(body)).dimensions).toEqual({ Computer: 'INC-Gen2Alert' });
  });

  it('accepts a simple log alert whose condition fields are all null', () => {
    const body = ownFixture('common-log-v2-vm-fired.json');
    const context = (body.data as { alertContext: Record<string, unknown> }).alertContext;
    context.condition = {
      windowSize: null,
      allOf: [
        { searchQuery: 'exceptions', operator: null, threshold: null, dimensions: null, metricValue: 1.0 },
      ],
    };
    const event = eventOf(parseAlert(body));
    expect(event.dimensions).toEqual({});
    expect(event.metric).toEqual({ value: 1 });
  });

  it('stringifies number and boolean dimension values and drops null ones', () => {
    const body = ownFixture('common-metric-vmss-vmname-fired.json');
    const item = (body.data as { alertContext: { condition: { allOf: Array<Record<string, unknown>> } } })
      .alertContext.condition.allOf[0]!;
    item.dimensions = [
      { name: 'InstanceId', value: 3 },
      { name: 'Primary', value: true },
      { name: 'Empty', value: null },
    ];
    expect(eventOf(parseAlert(body)).dimensions).toEqual({ InstanceId: '3', Primary: 'true' });
  });

  it('keeps string, number and boolean custom properties and drops nested ones', () => {
    const body = ownFixture('common-metric-static-vm-fired.json');
    (body.data as Record<string, unknown>).customProperties = {
      a: 'x',
      b: 2,
      c: false,
      d: { e: 1 },
      f: null,
    };
    expect(eventOf(parseAlert(body)).customProperties).toEqual({ a: 'x', b: '2', c: 'false' });
  });

  it('lets data.customProperties win over alertContext.properties', () => {
    const body = ownFixture('common-log-v2-vm-fired.json');
    (body.data as Record<string, unknown>).customProperties = { captureTotalBytes: '1000' };
    expect(eventOf(parseAlert(body)).customProperties).toEqual({ captureTotalBytes: '1000' });
  });

  it('reads a numeric threshold and a missing one', () => {
    const body = ownFixture('common-metric-dynamic-vm-fired.json');
    const item = (body.data as { alertContext: { condition: { allOf: Array<Record<string, unknown>> } } })
      .alertContext.condition.allOf[0]!;
    item.threshold = 5;
    expect(eventOf(parseAlert(body)).metric?.threshold).toBe('5');
    delete item.threshold;
    expect(eventOf(parseAlert(body)).metric).not.toHaveProperty('threshold');
  });

  it('gives no metric summary for a condition with nothing to show', () => {
    const body = ownFixture('common-metric-dynamic-vm-fired.json');
    (body.data as { alertContext: { condition: { allOf: unknown[] } } }).alertContext.condition.allOf = [{}];
    expect(eventOf(parseAlert(body))).not.toHaveProperty('metric');
  });

  it('ignores a metric value that is not a number', () => {
    const body = ownFixture('classic-metric-vm.json');
    (body.context as { condition: Record<string, unknown> }).condition.metricValue = 'n/a';
    expect(eventOf(parseAlert(body)).metric).toEqual({
      name: 'Network Out',
      operator: 'GreaterThan',
      threshold: '1073741824',
    });
  });

  it('accepts a common alert with no alertContext', () => {
    const body = ownFixture('common-metric-static-vm-fired.json');
    delete (body.data as Record<string, unknown>).alertContext;
    const event = eventOf(parseAlert(body));
    expect(event.dimensions).toEqual({});
    expect(event.metric).toBeUndefined();
  });

  it('accepts a classic alert with no condition and no properties', () => {
    const body = ownFixture('classic-metric-vm.json');
    delete (body.context as Record<string, unknown>).condition;
    delete body.properties;
    const event = eventOf(parseAlert(body));
    expect(event.metric).toBeUndefined();
    expect(event.customProperties).toEqual({});
  });

  it('takes a classic alert with no condition type for a metric alert', () => {
    const body = ownFixture('classic-metric-vm.json');
    delete (body.context as Record<string, unknown>).conditionType;
    expect(eventOf(parseAlert(body)).signalType).toBe('Metric');
  });

  it('accepts an AzureMonitorMetricAlert with no description', () => {
    const body = ownFixture('metricalert-noncommon-vm.json');
    delete (body.data as { context: Record<string, unknown> }).context.description;
    expect(eventOf(parseAlert(body))).not.toHaveProperty('description');
  });

  it('takes a classic condition type other than Metric as the signal type', () => {
    const body = ownFixture('classic-metric-vm.json');
    (body.context as Record<string, unknown>).conditionType = 'Event';
    expect(eventOf(parseAlert(body)).signalType).toBe('Event');
  });

  it('drops __proto__ keys without touching any prototype', () => {
    const text = JSON.stringify(ownFixture('common-metric-static-vm-fired.json')).replace(
      '"customProperties":{',
      '"customProperties":{"__proto__":{"polluted":"yes"},',
    );
    const event = eventOf(parseAlert(JSON.parse(text)));
    expect(Object.getPrototypeOf(event.customProperties)).toBe(Object.prototype);
    expect(Object.keys(event.customProperties)).not.toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseAlert: invalid inputs', () => {
  it('rejects null, naming what was expected', () => {
    expect(issuesOf(parseAlert(null))).toEqual([
      { path: '', message: `${EXPECTED_ALERT_MESSAGE}, found null` },
    ]);
  });

  it('rejects an array', () => {
    expect(issuesOf(parseAlert([]))[0]?.message).toBe(`${EXPECTED_ALERT_MESSAGE}, found an array`);
  });

  it('rejects a string', () => {
    expect(issuesOf(parseAlert('x'))[0]?.message).toBe(`${EXPECTED_ALERT_MESSAGE}, found a string ("x")`);
  });

  it('rejects a number', () => {
    expect(issuesOf(parseAlert(42))[0]?.message).toBe(`${EXPECTED_ALERT_MESSAGE}, found a number`);
  });

  it('rejects undefined', () => {
    expect(issuesOf(parseAlert(undefined))[0]?.message).toBe(`${EXPECTED_ALERT_MESSAGE}, found no body`);
  });

  it('rejects an object that looks like no alert', () => {
    expect(issuesOf(parseAlert({ hello: 'world' }))).toEqual([
      { path: '', message: `${EXPECTED_ALERT_MESSAGE}, found an object with no schemaId, status or context` },
    ]);
  });

  it('rejects an unknown schemaId, pointing at it', () => {
    const body = ownFixture('common-metric-static-vm-fired.json');
    body.schemaId = 'Microsoft.Insights/activityLogs';
    const issues = issuesOf(parseAlert(body));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('schemaId');
    expect(issues[0]?.message).toContain(EXPECTED_ALERT_MESSAGE);
    expect(issues[0]?.message).toContain('"Microsoft.Insights/activityLogs"');
  });

  it('rejects a schemaId that is not a string', () => {
    expect(issuesOf(parseAlert({ schemaId: 7, data: {} }))[0]?.path).toBe('schemaId');
  });

  it('rejects a common alert with no essentials', () => {
    const body = ownFixture('common-metric-static-vm-fired.json');
    delete (body.data as Record<string, unknown>).essentials;
    expect(issuesOf(parseAlert(body)).map((i) => i.path)).toEqual(['data.essentials']);
  });

  it('rejects a common alert with no data', () => {
    expect(issuesOf(parseAlert({ schemaId: 'azureMonitorCommonAlertSchema' })).map((i) => i.path)).toEqual([
      'data',
    ]);
  });

  it('rejects a bad monitorCondition, naming the allowed values', () => {
    const issues = issuesOf(parseAlert(commonWith('monitorCondition', 'Activated')));
    expect(issues).toEqual([
      { path: 'data.essentials.monitorCondition', message: 'expected "Fired" or "Resolved"' },
    ]);
  });

  it('rejects alertTargetIDs that is not an array', () => {
    const issues = issuesOf(parseAlert(commonWith('alertTargetIDs', WEB_01)));
    expect(issues).toEqual([
      { path: 'data.essentials.alertTargetIDs', message: 'expected an array of resource ids' },
    ]);
  });

  it('rejects missing alertTargetIDs', () => {
    expect(issuesOf(parseAlert(commonWith('alertTargetIDs', undefined)))[0]?.path).toBe(
      'data.essentials.alertTargetIDs',
    );
  });

  it('rejects a target id that is not a string', () => {
    expect(issuesOf(parseAlert(commonWith('alertTargetIDs', [42])))[0]?.path).toBe(
      'data.essentials.alertTargetIDs.0',
    );
  });

  it('rejects a missing alertId', () => {
    expect(issuesOf(parseAlert(commonWith('alertId', undefined)))).toEqual([
      { path: 'data.essentials.alertId', message: 'expected the alert instance id (a string)' },
    ]);
  });

  it('rejects an empty alertId', () => {
    expect(issuesOf(parseAlert(commonWith('alertId', '')))[0]?.path).toBe('data.essentials.alertId');
  });

  it('rejects a firedDateTime that is not a date-time, showing what arrived', () => {
    expect(issuesOf(parseAlert(commonWith('firedDateTime', 'yesterday')))).toEqual([
      { path: 'data.essentials.firedDateTime', message: 'expected an ISO 8601 date-time, found "yesterday"' },
    ]);
  });

  it('rejects an impossible date', () => {
    expect(issuesOf(parseAlert(commonWith('firedDateTime', '2025-13-45T99:99:99Z')))[0]?.path).toBe(
      'data.essentials.firedDateTime',
    );
  });

  it('rejects a firedDateTime that is a number', () => {
    expect(issuesOf(parseAlert(commonWith('firedDateTime', 1714637742)))).toEqual([
      { path: 'data.essentials.firedDateTime', message: 'expected an ISO 8601 date-time string' },
    ]);
  });

  it('rejects dimensions that are not an array', () => {
    const body = ownFixture('common-metric-vmss-vmname-fired.json');
    const item = (body.data as { alertContext: { condition: { allOf: Array<Record<string, unknown>> } } })
      .alertContext.condition.allOf[0]!;
    item.dimensions = 'VMName=web-vmss_3';
    expect(issuesOf(parseAlert(body))).toEqual([
      {
        path: 'data.alertContext.condition.allOf.0.dimensions',
        message: 'expected an array of {name, value}',
      },
    ]);
  });

  it('rejects customProperties that are not an object', () => {
    const body = ownFixture('common-metric-static-vm-fired.json');
    (body.data as Record<string, unknown>).customProperties = 'captureDurationSeconds=60';
    expect(issuesOf(parseAlert(body))).toEqual([
      { path: 'data.customProperties', message: 'expected an object of custom properties' },
    ]);
  });

  it('reports every problem at once', () => {
    const body = commonWith('monitorCondition', 'Up');
    (body.data as { essentials: Record<string, unknown> }).essentials.alertTargetIDs = {};
    expect(issuesOf(parseAlert(body)).map((i) => i.path)).toEqual([
      'data.essentials.monitorCondition',
      'data.essentials.alertTargetIDs',
    ]);
  });

  it('reports at most 20 issues', () => {
    const body = commonWith(
      'alertTargetIDs',
      Array.from({ length: 100 }, (_, i) => i),
    );
    expect(issuesOf(parseAlert(body))).toHaveLength(20);
  });

  it('rejects an AzureMonitorMetricAlert with status Fired', () => {
    const body = ownFixture('metricalert-noncommon-vm.json');
    (body.data as Record<string, unknown>).status = 'Fired';
    expect(issuesOf(parseAlert(body))).toEqual([
      { path: 'data.status', message: 'expected "Activated" or "Resolved"' },
    ]);
  });

  it('rejects an AzureMonitorMetricAlert with no resourceId', () => {
    const body = ownFixture('metricalert-noncommon-vm.json');
    delete (body.data as { context: Record<string, unknown> }).context.resourceId;
    expect(issuesOf(parseAlert(body))).toEqual([
      { path: 'data.context.resourceId', message: 'expected the target resource id (a string)' },
    ]);
  });

  it('rejects a classic alert with no context', () => {
    expect(issuesOf(parseAlert({ status: 'Activated' })).map((i) => i.path)).toEqual(['context']);
  });

  it('rejects a classic alert with a bad status and no rule name', () => {
    const body = ownFixture('classic-metric-vm.json');
    body.status = 'Firing';
    delete (body.context as Record<string, unknown>).name;
    expect(issuesOf(parseAlert(body)).map((i) => i.path)).toEqual(['status', 'context.name']);
  });

  it('turns a payload that throws while being read into issues', () => {
    const body = {
      schemaId: 'azureMonitorCommonAlertSchema',
      get data(): never {
        throw new Error('boom');
      },
    };
    const issues = issuesOf(parseAlert(body));
    expect(issues[0]?.message).toContain('the payload could not be read: boom');
  });

  it('survives deeply nested input', () => {
    let deep: Record<string, unknown> = {};
    const root = { schemaId: 'azureMonitorCommonAlertSchema', data: deep };
    for (let i = 0; i < 10_000; i += 1) {
      const next: Record<string, unknown> = {};
      deep.essentials = next;
      deep = next;
    }
    expect(parseAlert(root).ok).toBe(false);
  });
});

describe('parseAlert: alert id length', () => {
  it('refuses an alert id over 1024 characters, naming the field', () => {
    const body = {
      schemaId: 'azureMonitorCommonAlertSchema',
      data: {
        essentials: {
          alertId: 'x'.repeat(1025),
          alertRule: 'r',
          severity: 'Sev3',
          signalType: 'Metric',
          monitorCondition: 'Fired',
          monitoringService: 'Platform',
          alertTargetIDs: [
            '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1',
          ],
          firedDateTime: '2026-11-21T02:00:00Z',
        },
        alertContext: {},
      },
    };
    const result = parseAlert(body);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues.map((i) => `${i.path} ${i.message}`).join()).toMatch(/alertId.*1024/);
  });
});

describe('parseAlert: the evaluation window start (ring-buffer captures keep the files from there)', () => {
  it('reads alertContext.condition.windowStartTime of the common schema', () => {
    const event = eventOf(
      parseAlert(loadJson(sharedAlertsDir, 'common-testaction-metric-static-fired.json')),
    );
    expect(event.windowStartAt).toBe('2025-04-15T18:17:12.851Z');
  });

  it('leaves it out, and still accepts the alert, when it is missing or not a date-time', () => {
    const body = ownFixture('common-metric-static-vm-fired.json');
    const condition = (body.data as { alertContext: { condition: Record<string, unknown> } }).alertContext
      .condition;
    condition.windowStartTime = 'yesterday';
    expect(eventOf(parseAlert(body)).windowStartAt).toBeUndefined();
    delete condition.windowStartTime;
    expect(eventOf(parseAlert(body)).windowStartAt).toBeUndefined();
  });
});
