import { beforeAll, describe, expect, it } from 'vitest';
import { REQUIRED_SETTING_NAMES, SETTING_NAMES } from '../../../src/config.js';
import {
  literalString,
  loadInfra,
  modules,
  property,
  propertiesNamed,
  resources,
  variable,
} from './bicepTree.js';
import type { BicepFile } from './bicepTree.js';

/** Settings the platform owns; the app's schema does not know them and need not. */
const PLATFORM_PREFIXES = ['AzureWebJobsStorage__', 'APPLICATIONINSIGHTS_', 'FUNCTIONS_', 'WEBSITE_'];
const PLATFORM_NAMES = ['AzureWebJobsFeatureFlags'];

interface Setting {
  name: string;
  value: string;
}

let files: BicepFile[];
let settings: Setting[];
let functionAppFile: BicepFile;

beforeAll(async () => {
  files = await loadInfra();
  const holders = files.filter((f) =>
    resources(f).some((r) => r.type === 'Microsoft.Web/sites' && !r.existing),
  );
  expect(holders.map((f) => f.path)).toEqual(['infra/modules/functionApp.bicep']);
  functionAppFile = holders[0]!;
  const lists = files.flatMap((f) => propertiesNamed(f.root, 'appSettings'));
  expect(lists).toHaveLength(1);
  settings = lists[0]!.namedChildren
    .filter((n) => n.type === 'object')
    .map((entry) => ({
      name: literalString(property(entry, 'name')) ?? `<not a literal: ${property(entry, 'name')?.text}>`,
      value: property(entry, 'value')?.text ?? '',
    }));
});

const isPlatform = (name: string): boolean =>
  PLATFORM_NAMES.includes(name) || PLATFORM_PREFIXES.some((p) => name.startsWith(p));
const setting = (name: string): Setting | undefined => settings.find((s) => s.name === name);

describe('function app settings', () => {
  it('are declared as one siteConfig.appSettings list, not through a config resource', () => {
    for (const f of files) {
      expect(resources(f).filter((r) => r.type === 'Microsoft.Web/sites/config')).toEqual([]);
    }
    expect(settings.length).toBeGreaterThan(10);
  });

  it('sets every setting the schema requires', () => {
    expect(REQUIRED_SETTING_NAMES.filter((n) => !setting(n))).toEqual([]);
  });

  it('sets the required settings to something other than an empty literal', () => {
    for (const name of REQUIRED_SETTING_NAMES) {
      expect(setting(name)?.value, name).not.toMatch(/^''$|^$/);
    }
  });

  it("sets only settings the schema knows, besides the platform's own", () => {
    const unknown = settings.map((s) => s.name).filter((n) => !SETTING_NAMES.includes(n) && !isPlatform(n));
    expect(unknown).toEqual([]);
  });

  it('sets no setting twice', () => {
    const names = settings.map((s) => s.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('reaches the ledger by account name (identity), never by connection string', () => {
    expect(setting('LEDGER_STORAGE_ACCOUNT_NAME')).toBeDefined();
    expect(setting('LEDGER_STORAGE_CONNECTION_STRING')).toBeUndefined();
    expect(setting('LEDGER_TABLE_NAME')).toBeDefined();
  });

  it('uses identity-based host storage, without a connection string', () => {
    expect(setting('AzureWebJobsStorage')).toBeUndefined();
    expect(setting('AzureWebJobsStorage__accountName')).toBeDefined();
    expect(settings.some((s) => /AccountKey=|DefaultEndpointsProtocol/i.test(s.value))).toBe(false);
  });

  it('leaves the worker runtime and extension version to Flex Consumption', () => {
    expect(setting('FUNCTIONS_WORKER_RUNTIME')).toBeUndefined();
    expect(setting('FUNCTIONS_EXTENSION_VERSION')).toBeUndefined();
  });

  it('authenticates telemetry with Entra ID', () => {
    expect(setting('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')?.value).toBe("'Authorization=AAD'");
    expect(setting('APPLICATIONINSIGHTS_CONNECTION_STRING')).toBeDefined();
  });

  it('takes ALLOWED_SCOPES from the monitored-scopes parameter', () => {
    expect(setting('ALLOWED_SCOPES')?.value).toBe('allowedScopes');
    const main = files.find((f) => f.path === 'infra/main.bicep')!;
    const app = modules(main).find((m) => m.path === 'modules/functionApp.bicep');
    expect(property(app?.params, 'allowedScopes')?.text).toBe("join(monitoredScopes, ',')");
  });

  it('takes ARM_ENDPOINT from the cloud environment, trailing slash trimmed', () => {
    expect(setting('ARM_ENDPOINT')?.value).toBe('armEndpoint');
    const main = files.find((f) => f.path === 'infra/main.bicep')!;
    const app = modules(main).find((m) => m.path === 'modules/functionApp.bicep');
    expect(property(app?.params, 'armEndpoint')?.text).toBe('armEndpoint');
    expect(variable(main, 'resourceManager')?.text).toBe('environment().resourceManager');
    expect(variable(main, 'armEndpoint')?.text).toBe(
      "endsWith(resourceManager, '/') ? substring(resourceManager, 0, length(resourceManager) - 1) : resourceManager",
    );
  });

  it('writes booleans the schema accepts', () => {
    for (const name of ['AUTO_INSTALL_AGENT', 'STOP_ON_RESOLVE']) {
      expect(setting(name)?.value, name).toMatch(/\? 'true' : 'false'$/);
    }
  });

  it('lives in the module that declares the function app', () => {
    expect(propertiesNamed(functionAppFile.root, 'appSettings')).toHaveLength(1);
  });
});
