import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  callArguments,
  literalString,
  loadInfra,
  property,
  propertyPath,
  resolveStrings,
  resources,
  variable,
} from './bicepTree.js';
import type { BicepFile, ResourceDeclaration } from './bicepTree.js';

/**
 * Reviewed resource types and api-versions. A new type or version fails here until someone has checked its shape
 * (and that it exists) against the Azure template reference.
 */
const ALLOWED_RESOURCE_TYPES = [
  'Microsoft.Authorization/roleAssignments@2022-04-01',
  'Microsoft.Authorization/roleDefinitions@2022-04-01',
  'Microsoft.Insights/actionGroups@2023-01-01',
  'Microsoft.Insights/components@2020-02-02',
  'Microsoft.Insights/metricAlerts@2018-03-01',
  'Microsoft.OperationalInsights/workspaces@2023-09-01',
  'Microsoft.Resources/resourceGroups@2024-03-01',
  'Microsoft.Storage/storageAccounts@2023-05-01',
  'Microsoft.Storage/storageAccounts/blobServices@2023-05-01',
  'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01',
  'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01',
  'Microsoft.Storage/storageAccounts/tableServices@2023-05-01',
  'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01',
  'Microsoft.Web/serverfarms@2024-04-01',
  'Microsoft.Web/sites@2024-04-01',
  'Microsoft.Web/sites/host/functionKeys@2024-04-01',
];

let files: BicepFile[];
const file = (path: string): BicepFile => {
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`${path} not found`);
  return found;
};
const declared = (path: string, type: string): ResourceDeclaration[] =>
  resources(file(path)).filter((r) => r.type === type && !r.existing);
const only = (path: string, type: string): ResourceDeclaration => {
  const found = declared(path, type);
  expect(found, `${path}: ${type}`).toHaveLength(1);
  return found[0]!;
};
const text = (r: ResourceDeclaration, path: string): string | undefined => propertyPath(r.body, path)?.text;

beforeAll(async () => {
  files = await loadInfra();
});

describe('resource types', () => {
  it('declares only reviewed resource types and api-versions', () => {
    const used = files.flatMap((f) => resources(f).map((r) => `${r.type}@${r.apiVersion}`));
    expect(used.length).toBeGreaterThan(15);
    expect([...new Set(used.filter((u) => !ALLOWED_RESOURCE_TYPES.includes(u)))]).toEqual([]);
  });

  it('writes every resource type as a literal Type@version', () => {
    for (const f of files) {
      for (const r of resources(f))
        expect(`${r.type}@${r.apiVersion}`, f.path).toMatch(/^[\w./]+@\d{4}-\d{2}-\d{2}/);
    }
  });
});

describe('function app', () => {
  const path = 'infra/modules/functionApp.bicep';

  it('runs on Flex Consumption (FC1)', () => {
    const plan = only(path, 'Microsoft.Web/serverfarms');
    expect(text(plan, 'sku.name')).toBe("'FC1'");
    expect(text(plan, 'sku.tier')).toBe("'FlexConsumption'");
    expect(text(plan, 'properties.reserved')).toBe('true');
  });

  it('runs Node.js 22 on Linux with a system-assigned identity, https only', () => {
    const app = only(path, 'Microsoft.Web/sites');
    expect(text(app, 'kind')).toBe("'functionapp,linux'");
    expect(text(app, 'identity.type')).toBe("'SystemAssigned'");
    expect(text(app, 'properties.functionAppConfig.runtime.name')).toBe("'node'");
    expect(text(app, 'properties.functionAppConfig.runtime.version')).toBe("'22'");
    expect(text(app, 'properties.httpsOnly')).toBe('true');
  });

  it('deploys from a blob container with its system-assigned identity', () => {
    const app = only(path, 'Microsoft.Web/sites');
    expect(text(app, 'properties.functionAppConfig.deployment.storage.type')).toBe("'blobContainer'");
    expect(text(app, 'properties.functionAppConfig.deployment.storage.authentication.type')).toBe(
      "'SystemAssignedIdentity'",
    );
  });
});

describe('app storage', () => {
  const path = 'infra/modules/appStorage.bicep';

  it('turns shared keys off', () => {
    const account = only(path, 'Microsoft.Storage/storageAccounts');
    expect(text(account, 'properties.allowSharedKeyAccess')).toBe('false');
    expect(text(account, 'properties.allowBlobPublicAccess')).toBe('false');
    expect(text(account, 'properties.minimumTlsVersion')).toBe("'TLS1_2'");
  });

  it('holds the ledger table named after LEDGER_TABLE_NAME (default captures)', () => {
    const table = only(path, 'Microsoft.Storage/storageAccounts/tableServices/tables');
    expect(text(table, 'name')).toBe('ledgerTableName');
    const main = file('infra/main.bicep');
    const param = main.root
      .descendantsOfType('parameter_declaration')
      .find((p) => p.namedChildren[0]?.text === 'ledgerTableName');
    expect(literalString(param?.namedChildren[2])).toBe('captures');
  });

  it('is never read with listKeys or a connection string anywhere', () => {
    for (const f of files) {
      const listCalls = f.root
        .descendantsOfType('call_expression')
        .map((c) => c.childForFieldName('function')?.text ?? '')
        .filter((fn) => /(^|\.)list\w*$/i.test(fn));
      expect(listCalls, f.path).toEqual([]);
      expect(f.text, f.path).not.toMatch(/AccountKey=|DefaultEndpointsProtocol=/);
    }
  });
});

describe('capture storage', () => {
  const path = 'infra/modules/captureStorage.bicep';

  it('is a Standard account with TLS 1.2, https only and no public blob access', () => {
    const account = only(path, 'Microsoft.Storage/storageAccounts');
    expect(text(account, 'sku.name')).toMatch(/^'Standard_/);
    expect(text(account, 'properties.minimumTlsVersion')).toBe("'TLS1_2'");
    expect(text(account, 'properties.supportsHttpsTrafficOnly')).toBe('true');
    expect(text(account, 'properties.allowBlobPublicAccess')).toBe('false');
  });

  it('keeps shared keys on, and says why next to the setting', () => {
    const f = file(path);
    const account = only(path, 'Microsoft.Storage/storageAccounts');
    expect(text(account, 'properties.allowSharedKeyAccess')).toBe('true');
    const line = f.text.split('\n').findIndex((l) => l.includes('allowSharedKeyAccess'));
    const above = f.text
      .split('\n')
      .slice(Math.max(0, line - 6), line)
      .join('\n');
    expect(above).toMatch(/\/\/.*Network Watcher/);
  });

  it('has the private network-watcher-logs container', () => {
    const container = only(path, 'Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(resolveStrings(file(path), property(container.body, 'name'))).toEqual(['network-watcher-logs']);
    expect(text(container, 'properties.publicAccess')).toBe("'None'");
  });

  it('deletes capture files after the retention parameter with a lifecycle rule', () => {
    const policy = only(path, 'Microsoft.Storage/storageAccounts/managementPolicies');
    expect(text(policy, 'name')).toBe("'default'");
    const rules = propertyPath(policy.body, 'properties.policy.rules')?.namedChildren ?? [];
    const deleting = rules.filter(
      (rule) =>
        propertyPath(rule, 'definition.actions.baseBlob.delete.daysAfterModificationGreaterThan') !==
        undefined,
    );
    expect(deleting).toHaveLength(1);
    const rule = deleting[0]!;
    expect(propertyPath(rule, 'enabled')?.text).toBe('true');
    expect(
      propertyPath(rule, 'definition.actions.baseBlob.delete.daysAfterModificationGreaterThan')?.text,
    ).toBe('retentionDays');
    // The capture files and, with the same retention, the reports made of them and the ring files alerts kept.
    expect(resolveStrings(file(path), propertyPath(rule, 'definition.filters.prefixMatch'))).toEqual([
      'network-watcher-logs/',
      'capture-reports/',
      'capture-kept/',
    ]);
  });
});

describe('monitoring', () => {
  it('is workspace-based Application Insights with local auth disabled', () => {
    const path = 'infra/modules/monitoring.bicep';
    only(path, 'Microsoft.OperationalInsights/workspaces');
    const component = only(path, 'Microsoft.Insights/components');
    expect(text(component, 'properties.DisableLocalAuth')).toBe('true');
    expect(text(component, 'properties.WorkspaceResourceId')).toBe('workspace.id');
  });
});

describe('alerting', () => {
  const path = 'infra/modules/alerting.bicep';

  it('creates the webhook function key from a @secure() parameter', () => {
    const key = only(path, 'Microsoft.Web/sites/host/functionKeys');
    const value = text(key, 'properties.value') ?? '';
    const f = file(path);
    const param = f.root
      .descendantsOfType('parameter_declaration')
      .find((p) => p.namedChildren[0]?.text === value);
    expect(param, `parameter ${value}`).toBeDefined();
    expect(param?.previousNamedSibling?.text).toMatch(/@secure\(\)/);
  });

  it('calls alertWebhook with the key, using the common alert schema', () => {
    const group = only(path, 'Microsoft.Insights/actionGroups');
    const receivers = propertyPath(group.body, 'properties.webhookReceivers')?.namedChildren ?? [];
    expect(receivers).toHaveLength(1);
    for (const receiver of receivers) {
      expect(property(receiver, 'useCommonAlertSchema')?.text).toBe('true');
      const uri = property(receiver, 'serviceUri')?.text ?? '';
      expect(uri).toMatch(
        /^'https:\/\/\$\{functionApp\.properties\.defaultHostName\}\/api\/alertWebhook\?code=\$\{webhookFunctionKey\}'$/,
      );
    }
  });

  it('offers a sample Network Out Total alert wired to the action group, only when a VM is given', () => {
    const alert = only(path, 'Microsoft.Insights/metricAlerts');
    expect(alert.node.text).toMatch(/= if \(!empty\(sampleAlertVmId\)\)/);
    const criterion = propertyPath(alert.body, 'properties.criteria.allOf')?.namedChildren[0];
    expect(literalString(property(criterion, 'metricName'))).toBe('Network Out Total');
    expect(literalString(property(criterion, 'timeAggregation'))).toBe('Total');
    expect(literalString(property(criterion, 'operator'))).toBe('GreaterThan');
    expect(text(alert, 'properties.evaluationFrequency')).toBe("'PT1M'");
    expect(text(alert, 'properties.windowSize')).toBe("'PT5M'");
    const actions = propertyPath(alert.body, 'properties.actions')?.namedChildren ?? [];
    expect(actions.map((a) => property(a, 'actionGroupId')?.text)).toEqual(['actionGroup.id']);
  });

  it("waits for the app's storage roles before creating the key", () => {
    const main = file('infra/main.bicep');
    const alerting = main.root
      .descendantsOfType('module_declaration')
      .find((m) => m.namedChildren[0]?.text === 'alerting');
    expect(alerting?.text).toMatch(/dependsOn: \[\s*appRbac\s*\]/);
  });
});

describe('azure.yaml', () => {
  it('deploys the app as the api service of a function host, from infra/main', () => {
    const yaml = readFileSync(join(REPO_ROOT, 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(/^services:\n {2}api:\n(?: {4}.*\n)*? {4}host: function$/m);
    expect(yaml).toMatch(/^ {2}path: infra$/m);
    expect(yaml).toMatch(/^ {2}module: main$/m);
    const app = only('infra/modules/functionApp.bicep', 'Microsoft.Web/sites');
    expect(text(app, 'tags')).toBe('appTags');
    expect(variable(file('infra/modules/functionApp.bicep'), 'appTags')?.text).toMatch(
      /^union\(tags, \{\s*'azd-service-name': 'api'\s*\}\)$/,
    );
  });

  it('uses no list*() function to fetch secrets during deployment', () => {
    for (const f of files) expect(callArguments(f.root, 'listKeys'), f.path).toEqual([]);
  });
});
