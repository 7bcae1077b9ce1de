import { beforeAll, describe, expect, it } from 'vitest';
import { bicepParser, loadInfra } from './bicepTree.js';
import type { BicepFile } from './bicepTree.js';
import {
  checkBicepTypes,
  checkModuleParams,
  loadTypeLibrary,
  type TypeExtract,
  type TypeProblem,
} from './checkBicepTypes.js';

let files: BicepFile[];
let library: Map<string, TypeExtract>;
beforeAll(async () => {
  files = await loadInfra();
  library = loadTypeLibrary();
});

/** `files` with one file's text edited (`from` must occur exactly once), reparsed. */
async function withEdit(path: string, from: string, to: string): Promise<BicepFile[]> {
  const parser = await bicepParser();
  return files.map((f) => {
    if (f.path !== path) return f;
    expect(f.text.split(from).length - 1, `${path} holds "${from}" once`).toBe(1);
    const text = f.text.replace(from, to);
    const tree = parser.parse(text);
    if (!tree) throw new Error('no tree');
    return { ...f, text, root: tree.rootNode };
  });
}

const errors = (problems: TypeProblem[]) => problems.filter((p) => p.kind !== 'noTypeDefinition');

describe('Bicep type check of infra/ against the published type definitions', () => {
  it('has a definition for every type@apiVersion infra/ declares', () => {
    const declared = new Set(
      files.flatMap((f) =>
        [...f.text.matchAll(/resource \w+ '([^']+)'/g)].map((m) => (m[1] ?? '').toLowerCase()),
      ),
    );
    expect([...declared].filter((t) => !library.has(t))).toEqual([]);
    expect(declared.size).toBeGreaterThanOrEqual(15);
  });

  it('finds nothing wrong in infra/ (only the function key, which has no published type, is shape-checked)', () => {
    const problems = checkBicepTypes(files, library);
    expect(errors(problems).map((p) => `${p.file}:${p.line} ${p.message}`)).toEqual([]);
    expect(problems.map((p) => `${p.resource} ${p.kind}`)).toEqual(['webhookKey noTypeDefinition']);
  });
});

describe('the type check catches each kind of mistake injected into a copy', () => {
  const storage = 'infra/modules/captureStorage.bicep';
  it.each<[string, string, string, string, TypeProblem['kind'], RegExp]>([
    [
      'an unknown property',
      storage,
      'supportsHttpsTrafficOnly: true',
      'supportsHttpsTraficOnly: true',
      'unknownProperty',
      /properties\.supportsHttpsTraficOnly/,
    ],
    [
      'an unknown nested property',
      storage,
      "bypass: 'AzureServices'",
      "bypas: 'AzureServices'",
      'unknownProperty',
      /networkAcls\.bypas/,
    ],
    [
      'a value of the wrong kind',
      storage,
      'allowBlobPublicAccess: false',
      "allowBlobPublicAccess: 'no'",
      'wrongKind',
      /allowBlobPublicAccess: expected Boolean, found string/,
    ],
    [
      'an object where a string goes',
      storage,
      "minimumTlsVersion: 'TLS1_2'",
      'minimumTlsVersion: {}',
      'wrongKind',
      /minimumTlsVersion/,
    ],
    [
      'a value outside a closed enum',
      storage,
      "accessTier: 'Hot'",
      "accessTier: 'Warm'",
      'enumValue',
      /accessTier: 'Warm' is not one of/,
    ],
    [
      'a closed enum in a child resource',
      storage,
      "publicAccess: 'None'",
      "publicAccess: 'Private'",
      'enumValue',
      /publicAccess/,
    ],
    [
      'a missing Required property',
      storage,
      "  sku: {\n    name: 'Standard_LRS'\n  }\n",
      '',
      'missingRequired',
      /^sku: is required/,
    ],
    [
      'a missing Required nested property',
      storage,
      "    name: 'Standard_LRS'\n",
      '',
      'missingRequired',
      /sku\.name: is required/,
    ],
    [
      'a ReadOnly property set',
      storage,
      "    accessTier: 'Hot'",
      "    accessTier: 'Hot'\n    provisioningState: 'Succeeded'",
      'readOnlySet',
      /properties\.provisioningState: is read-only/,
    ],
    [
      'an element of the wrong kind in an array',
      storage,
      "                'blockBlob'",
      '                42',
      'wrongKind',
      /blobTypes\[\]: expected String, found int/,
    ],
    [
      'a parameter of the wrong type',
      storage,
      'supportsHttpsTrafficOnly: true',
      'supportsHttpsTrafficOnly: location',
      'wrongKind',
      /supportsHttpsTrafficOnly: expected Boolean, found string/,
    ],
    [
      'a variable of the wrong kind, where it is used',
      storage,
      "var captureContainerName = 'network-watcher-logs'",
      'var captureContainerName = 42',
      'wrongKind',
      /^name: expected String, found int/,
    ],
    [
      'a bad discriminator',
      'infra/modules/alerting.bicep',
      "'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'",
      "'Microsoft.Azure.Monitor.NoSuchCriteria'",
      'discriminator',
      /odata\.type: 'Microsoft\.Azure\.Monitor\.NoSuchCriteria' is not one of/,
    ],
    [
      'an unknown type@apiVersion',
      storage,
      "'Microsoft.Storage/storageAccounts/blobServices@2023-05-01'",
      "'Microsoft.Storage/storageAccounts/blobServices@2099-01-01'",
      'unknownType',
      /no type definition for Microsoft\.Storage\/storageAccounts\/blobServices@2099-01-01/,
    ],
    [
      'a property outside the documented function key shape',
      'infra/modules/alerting.bicep',
      '    name: functionKeyName',
      '    name: functionKeyName\n    expiry: 1',
      'unknownProperty',
      /properties\.expiry/,
    ],
  ])('%s', async (_what, path, from, to, kind, message) => {
    const problems = errors(checkBicepTypes(await withEdit(path, from, to), library));
    expect(problems.map((p) => p.kind)).toEqual([kind]);
    expect(problems[0]?.message).toMatch(message);
    expect(problems[0]?.file).toBe(path);
  });
});

describe("module calls against the modules' parameters", () => {
  it('pass only declared parameters, every required one, of its declared kind', () => {
    expect(checkModuleParams(files).map((p) => `${p.file}:${p.line} ${p.message}`)).toEqual([]);
  });

  it.each<[string, string, string, TypeProblem['kind'], RegExp]>([
    [
      'an unknown parameter',
      '    retentionDays: captureRetentionDays',
      '    retentionDays: captureRetentionDays\n    retention: 3',
      'unknownParameter',
      /params\.retention: modules\/captureStorage\.bicep has no parameter retention/,
    ],
    [
      'a missing required parameter',
      '    retentionDays: captureRetentionDays\n',
      '',
      'missingParameter',
      /params\.retentionDays: modules\/captureStorage\.bicep requires it/,
    ],
    [
      'a parameter of the wrong kind',
      '    retentionDays: captureRetentionDays',
      "    retentionDays: '30'",
      'wrongKind',
      /params\.retentionDays: expected int, found string/,
    ],
  ])('catches %s', async (_what, from, to, kind, message) => {
    const problems = checkModuleParams(await withEdit('infra/main.bicep', from, to));
    expect(problems.map((p) => p.kind)).toEqual([kind]);
    expect(problems[0]?.message).toMatch(message);
  });
});
