import { randomUUID } from 'node:crypto';

/** The subscription of the test, sandbox and bench VMs. */
export const SUB_ID = '00000000-0000-0000-0000-000000000000';
export const SUB = `/subscriptions/${SUB_ID}`;
/** A VM id in that subscription. */
export const vmId = (name: string, rg = 'app-rg') =>
  `${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;

/** Options for {@link firedMetricAlert}. */
export interface FiredMetricAlertOptions {
  alertId?: string;
  region?: string;
  customProperties?: Record<string, string>;
  monitorCondition?: 'Fired' | 'Resolved';
  ruleName?: string;
  /** ISO time the alert fired; default a fixed 2 a.m. */
  firedAt?: string;
}

/**
 * A common-schema metric alert on a VM, the shape Azure Monitor posts with the common schema on (no vitest here:
 * tests, the demo and the benchmarks share it).
 */
export function firedMetricAlert(target: string, overrides: FiredMetricAlertOptions = {}) {
  const alertId = overrides.alertId ?? `${SUB}/providers/Microsoft.AlertsManagement/alerts/${randomUUID()}`;
  return {
    schemaId: 'azureMonitorCommonAlertSchema',
    data: {
      essentials: {
        alertId,
        alertRule: overrides.ruleName ?? 'vm-network-out-high',
        severity: 'Sev2',
        signalType: 'Metric',
        monitorCondition: overrides.monitorCondition ?? 'Fired',
        monitoringService: 'Platform',
        alertTargetIDs: [target.toLowerCase()],
        configurationItems: [target.split('/').pop()],
        originAlertId: randomUUID(),
        firedDateTime: overrides.firedAt ?? '2026-11-21T02:00:00.000Z',
        ...(overrides.monitorCondition === 'Resolved'
          ? { resolvedDateTime: '2026-11-21T02:10:00.000Z' }
          : {}),
        description: 'Network out above threshold',
        essentialsVersion: '1.0',
        alertContextVersion: '1.0',
        ...(overrides.region ? { targetResourceRegion: overrides.region } : {}),
      },
      alertContext: {
        properties: null,
        conditionType: 'SingleResourceMultipleMetricCriteria',
        condition: {
          windowSize: 'PT5M',
          allOf: [
            {
              metricName: 'Network Out Total',
              metricNamespace: 'Microsoft.Compute/virtualMachines',
              operator: 'GreaterThan',
              threshold: '100000000',
              timeAggregation: 'Total',
              dimensions: [],
              metricValue: 412345678,
            },
          ],
          windowStartTime: '2026-11-21T01:55:00.000Z',
          windowEndTime: '2026-11-21T02:00:00.000Z',
        },
      },
      ...(overrides.customProperties ? { customProperties: overrides.customProperties } : {}),
    },
  };
}
