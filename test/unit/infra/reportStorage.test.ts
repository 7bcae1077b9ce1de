import { beforeAll, describe, expect, it } from 'vitest';
import { KEPT_CONTAINER } from '../../../src/captures/keepRingFiles.js';
import { REPORT_CONTAINER } from '../../../src/report/CaptureReports.js';
import {
  literalString,
  loadInfra,
  modules,
  property,
  resolveStrings,
  resources,
  type BicepFile,
} from './bicepTree.js';

const STORAGE_BLOB_DATA_CONTRIBUTOR = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe';

let files: BicepFile[];
const file = (path: string): BicepFile => files.find((f) => f.path === path)!;

beforeAll(async () => {
  files = await loadInfra();
});

describe('infra: the capture reports container', () => {
  it('is the container the app writes to, in the capture account, private', () => {
    const f = file('infra/modules/reportStorage.bicep');
    const container = resources(f).find(
      (r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers',
    );
    expect(resolveStrings(f, property(container?.body, 'name'))).toEqual([REPORT_CONTAINER]);
    expect(literalString(property(property(container?.body, 'properties'), 'publicAccess'))).toBe('None');
    const main = file('infra/main.bicep');
    const wired = modules(main).find((m) => m.path === 'modules/reportStorage.bicep');
    expect(property(wired?.params, 'captureStorageAccountName')?.text).toBe('captureStorage.outputs.name');
    expect(property(wired?.params, 'principalId')?.text).toBe('functionApp.outputs.principalId');
  });

  it("grants the app's write role on that container only, and nowhere else", () => {
    const f = file('infra/modules/reportStorage.bicep');
    const assignment = resources(f).find((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(property(assignment?.body, 'scope')?.text).toBe('reportContainer');
    expect(f.text).toContain(STORAGE_BLOB_DATA_CONTRIBUTOR);
    const elsewhere = files.filter(
      (x) => x.path !== f.path && x.text.includes(STORAGE_BLOB_DATA_CONTRIBUTOR),
    );
    expect(elsewhere.map((x) => x.path)).toEqual([]);
  });
});

describe('infra: the kept ring files container', () => {
  it('is the container the ring keeper copies to, private, with the write role scoped to it', () => {
    const f = file('infra/modules/reportStorage.bicep');
    const containers = resources(f).filter(
      (r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers',
    );
    const kept = containers.find((c) => resolveStrings(f, property(c.body, 'name'))[0] === KEPT_CONTAINER);
    expect(kept).toBeDefined();
    expect(literalString(property(property(kept?.body, 'properties'), 'publicAccess'))).toBe('None');
    const scopes = resources(f)
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
      .map((r) => property(r.body, 'scope')?.text);
    expect(scopes).toEqual(['reportContainer', 'keptContainer']);
  });
});
