import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  INFRA_DIR,
  REPO_ROOT,
  literalStrings,
  loadInfra,
  modules,
  property,
  propertyPath,
  resolveStrings,
  resources,
} from './bicepTree.js';
import type { BicepFile } from './bicepTree.js';

const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';

/** Built-in roles the deployment may use, by GUID. */
const BUILT_IN_ROLES: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1': 'Storage Blob Data Reader',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
};

const OPERATOR_ACTIONS = [
  'Microsoft.Network/networkWatchers/read',
  'Microsoft.Network/networkWatchers/packetCaptures/read',
  'Microsoft.Network/networkWatchers/packetCaptures/write',
  'Microsoft.Network/networkWatchers/packetCaptures/delete',
  'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action',
  'Microsoft.Network/networkWatchers/packetCaptures/stop/action',
  'Microsoft.Compute/virtualMachines/read',
  'Microsoft.Compute/virtualMachines/extensions/read',
  'Microsoft.Compute/virtualMachineScaleSets/read',
  'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read',
];
const AUTO_INSTALL_ACTION = 'Microsoft.Compute/virtualMachines/extensions/write';
const STORAGE_ACTIONS = [
  'Microsoft.Storage/storageAccounts/read',
  'Microsoft.Storage/storageAccounts/listKeys/action',
  'Microsoft.Storage/storageAccounts/listServiceSas/action',
  'Microsoft.Storage/storageAccounts/listAccountSas/action',
];

let files: BicepFile[];
const file = (path: string): BicepFile => {
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`${path} not found`);
  return found;
};
const sorted = (xs: string[]): string[] => [...xs].sort();

beforeAll(async () => {
  files = await loadInfra();
});

describe('role definitions', () => {
  const path = 'infra/modules/captureRoles.bicep';
  const roles = () => {
    const f = file(path);
    const defs = resources(f).filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions');
    return defs.map((r) => {
      const permissions = propertyPath(r.body, 'properties.permissions')?.namedChildren ?? [];
      const actions = permissions.flatMap((p) => resolveStrings(f, property(p, 'actions')));
      const other = permissions.flatMap((p) =>
        ['dataActions', 'notActions', 'notDataActions'].flatMap((k) => resolveStrings(f, property(p, k))),
      );
      return { symbol: r.symbol, actions, other };
    });
  };

  it('grant exactly the actions a packet capture needs, across both custom roles', () => {
    const all = roles().flatMap((r) => r.actions);
    expect(sorted(all)).toEqual(sorted([...OPERATOR_ACTIONS, AUTO_INSTALL_ACTION, ...STORAGE_ACTIONS]));
    expect(roles().flatMap((r) => r.other)).toEqual([]);
  });

  it('keep the storage key and SAS actions out of the role assigned at the monitored scopes', () => {
    const operator = roles().find((r) => r.symbol === 'captureOperatorRole');
    const storage = roles().find((r) => r.symbol === 'captureStorageRole');
    expect(sorted(operator?.actions ?? [])).toEqual(sorted([...OPERATOR_ACTIONS, AUTO_INSTALL_ACTION]));
    expect(sorted(storage?.actions ?? [])).toEqual(sorted(STORAGE_ACTIONS));
  });

  it('grant extensions/write only when autoInstallAgent is on', () => {
    const f = file(path);
    const holders = f.root
      .descendantsOfType('variable_declaration')
      .filter((v) => literalStrings(v).includes(AUTO_INSTALL_ACTION));
    expect(holders.map((v) => v.namedChildren[0]?.text)).toEqual(['autoInstallActions']);
    const uses = f.root
      .descendantsOfType('identifier')
      .filter((n) => n.text === 'autoInstallActions')
      .slice(1);
    expect(uses).toHaveLength(1);
    let ternary = uses[0]?.parent;
    while (ternary && ternary.type !== 'ternary_expression') ternary = ternary.parent;
    expect(ternary?.namedChildren[0]?.text).toBe('autoInstallAgent');
    // Only in the "true" branch.
    expect(ternary?.namedChildren[1]?.text).toContain('autoInstallActions');
    expect(ternary?.namedChildren[2]?.text).not.toContain('autoInstallActions');
    expect(roles().find((r) => r.symbol === 'captureOperatorRole')?.actions).toContain(AUTO_INSTALL_ACTION);
  });

  it('use no wildcard action', () => {
    expect(
      roles()
        .flatMap((r) => r.actions)
        .filter((a) => a.includes('*')),
    ).toEqual([]);
  });
});

describe('role assignments', () => {
  it('never mention the Contributor or Owner role', () => {
    const texts = [
      ...files.map((f) => [f.path, f.text] as const),
      ['azure.yaml', readFileSync(join(REPO_ROOT, 'azure.yaml'), 'utf8')] as const,
      ['infra/README.md', readFileSync(join(INFRA_DIR, 'README.md'), 'utf8')] as const,
    ];
    for (const [path, content] of texts) {
      expect(content.toLowerCase().includes(CONTRIBUTOR), `${path} mentions Contributor`).toBe(false);
      expect(content.toLowerCase().includes(OWNER), `${path} mentions Owner`).toBe(false);
    }
  });

  it('use only known built-in roles, each in a variable commented with its name', () => {
    const guid = /'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'/gi;
    let seen = 0;
    for (const f of files.filter((x) => x.kind === 'bicep')) {
      const lines = f.text.split('\n');
      lines.forEach((line, i) => {
        for (const match of line.matchAll(guid)) {
          const id = match[1]!.toLowerCase();
          const name = BUILT_IN_ROLES[id];
          expect(name, `${f.path}:${i + 1} unknown role ${id}`).toBeDefined();
          expect(line, `${f.path}:${i + 1}`).toMatch(/^var \w+RoleId = /);
          let start = i;
          while (start > 0 && lines[start - 1]!.startsWith('//')) start--;
          expect(lines[start], `${f.path}:${i + 1} comment`).toMatch(new RegExp(`^// ${name}:`));
          seen++;
        }
      });
    }
    expect(seen).toBe(Object.keys(BUILT_IN_ROLES).length);
  });

  it('are named guid(scope.id, principalId, roleId)', () => {
    let count = 0;
    for (const f of files) {
      for (const r of resources(f).filter((x) => x.type === 'Microsoft.Authorization/roleAssignments')) {
        const name = property(r.body, 'name')?.text ?? '';
        const scope = property(r.body, 'scope')?.text;
        const deploymentScope = /^targetScope = 'subscription'$/m.test(f.text)
          ? 'subscription()'
          : 'resourceGroup()';
        expect(name, `${f.path}: ${r.symbol}`).toBe(
          name.replace(/^guid\([^,]+,/, `guid(${scope ?? deploymentScope}.id,`),
        );
        expect(name, `${f.path}: ${r.symbol}`).toMatch(/^guid\([\w().]+\.id, principalId, \w+\)$/);
        const roleArg = /, (\w+)\)$/.exec(name)?.[1];
        expect(property(r.body, 'properties')?.text, `${f.path}: ${r.symbol}`).toContain(roleArg);
        expect(propertyPath(r.body, 'properties.principalType')?.text).toBe("'ServicePrincipal'");
        count++;
      }
    }
    expect(count).toBeGreaterThanOrEqual(6);
  });

  it('grant the storage key actions on the capture account only', () => {
    const rbac = file('infra/modules/appRbac.bicep');
    const assignment = resources(rbac).find((r) => r.symbol === 'captureStorageRoleAssignment');
    expect(property(assignment?.body, 'scope')?.text).toBe('captureStorage');
    const elsewhere = files
      .filter((f) => f.path !== 'infra/modules/appRbac.bicep' && f.path !== 'infra/main.bicep')
      .filter((f) => f.text.includes('captureStorageRoleGuid') && !f.path.endsWith('captureRoles.bicep'));
    expect(elsewhere.map((f) => f.path)).toEqual([]);
  });

  it('assign the operator role at every monitored subscription and resource group', () => {
    const main = file('infra/main.bicep');
    const byPath = (p: string) => modules(main).filter((m) => m.path === p);
    const subs = byPath('modules/operatorSubscriptionAssignment.bicep');
    const rgs = byPath('modules/operatorResourceGroupAssignment.bicep');
    expect(subs).toHaveLength(1);
    expect(rgs).toHaveLength(1);
    const decl = (symbol: string) =>
      main.root.descendantsOfType('module_declaration').find((m) => m.namedChildren[0]?.text === symbol)
        ?.text ?? '';
    expect(decl(subs[0]!.symbol)).toMatch(/for s in monitoredSubscriptionScopes:/);
    expect(decl(subs[0]!.symbol)).toMatch(/scope: subscription\(split\(s, '\/'\)\[2\]\)/);
    expect(decl(rgs[0]!.symbol)).toMatch(
      /for s in concat\(monitoredResourceGroupScopes, watcherResourceGroupScopes\):/,
    );
    expect(decl(rgs[0]!.symbol)).toMatch(
      /scope: resourceGroup\(split\(s, '\/'\)\[2\], split\(s, '\/'\)\[4\]\)/,
    );
  });

  it('cover the Network Watcher resource group where only resource groups are monitored', () => {
    const main = file('infra/main.bicep');
    expect(main.text).toMatch(/var watcherResourceGroupScopes = map\(/);
    expect(main.text).toMatch(/\/resourceGroups\/\$\{networkWatcherResourceGroupName\}'/);
    const param = main.root
      .descendantsOfType('parameter_declaration')
      .find((p) => p.namedChildren[0]?.text === 'networkWatcherResourceGroupName');
    expect(param?.text).toContain("'NetworkWatcherRG'");
  });
});
