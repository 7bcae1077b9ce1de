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
import { ROLE_ACTIONS } from './roleActions.js';

const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';

/** Built-in roles the deployment may use, by GUID. */
const BUILT_IN_ROLES: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1': 'Storage Blob Data Reader',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
};

const AUTO_INSTALL_ACTION = 'Microsoft.Compute/virtualMachines/extensions/write';
const actionsOf = (role: string) => ROLE_ACTIONS.filter((a) => a.role === role).map((a) => a.action);
const GATEWAY_SOURCE = readFileSync(join(REPO_ROOT, 'src/azure/networkWatcherGateway.ts'), 'utf8');

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

  it('grant exactly the listed actions, each with the call that needs it, across the three custom roles', () => {
    expect(sorted(roles().flatMap((r) => r.actions))).toEqual(sorted(ROLE_ACTIONS.map((a) => a.action)));
    expect(roles().flatMap((r) => r.other)).toEqual([]);
    for (const role of ['captureOperatorRole', 'captureOperationsRole', 'captureStorageRole']) {
      expect(sorted(roles().find((r) => r.symbol === role)?.actions ?? []), role).toEqual(
        sorted(actionsOf(role)),
      );
    }
  });

  it("grant nothing the code does not call: each action's call is in the gateway", () => {
    for (const a of ROLE_ACTIONS.filter((x) => x.source)) {
      expect(GATEWAY_SOURCE, `${a.action}: ${a.call}`).toMatch(a.source as RegExp);
    }
    // The scale-set instance read was granted but no call reads an instance: the scale set itself is read.
    expect(ROLE_ACTIONS.map((a) => a.action)).not.toContain(
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read',
    );
  });

  it('let the SDK follow its long-running operations (locations/operations and operationResults)', () => {
    expect(actionsOf('captureOperationsRole')).toEqual([
      'Microsoft.Network/locations/operations/read',
      'Microsoft.Network/locations/operationResults/read',
      'Microsoft.Compute/locations/operations/read',
    ]);
  });

  it('grant the Compute operation read only when autoInstallAgent is on', () => {
    const f = file(path);
    const decl = f.root
      .descendantsOfType('variable_declaration')
      .find((v) => v.namedChildren[0]?.text === 'operationActions');
    expect(decl?.text).toMatch(
      /autoInstallAgent \? concat\(baseOperationActions, autoInstallOperationActions\) : baseOperationActions/,
    );
    const holder = f.root
      .descendantsOfType('variable_declaration')
      .filter((v) => literalStrings(v).includes('Microsoft.Compute/locations/operations/read'));
    expect(holder.map((v) => v.namedChildren[0]?.text)).toEqual(['autoInstallOperationActions']);
  });

  it('keep the storage key and SAS actions out of the role assigned at the monitored scopes', () => {
    const operator = roles().find((r) => r.symbol === 'captureOperatorRole');
    expect(operator?.actions.filter((a) => a.startsWith('Microsoft.Storage/'))).toEqual([]);
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
    // Once for the operator role, once for the operation reader role.
    expect(subs).toHaveLength(2);
    expect(rgs).toHaveLength(1);
    const decl = (symbol: string) =>
      main.root.descendantsOfType('module_declaration').find((m) => m.namedChildren[0]?.text === symbol)
        ?.text ?? '';
    const operator = subs.find((m) => m.symbol === 'operatorOnSubscriptions');
    expect(decl(operator!.symbol)).toMatch(/for s in monitoredSubscriptionScopes:/);
    expect(decl(operator!.symbol)).toMatch(/scope: subscription\(split\(s, '\/'\)\[2\]\)/);
    expect(decl(operator!.symbol)).toContain('captureOperatorRoleGuid');
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

describe('the operation reader role', () => {
  it('is assigned on every monitored subscription, including those monitored only through resource groups', () => {
    const main = file('infra/main.bicep');
    const decl =
      main.root
        .descendantsOfType('module_declaration')
        .find((m) => m.namedChildren[0]?.text === 'operationsOnSubscriptions')?.text ?? '';
    expect(decl).toMatch(/for s in operationSubscriptionScopes:/);
    expect(decl).toContain('captureOperationsRoleGuid');
    expect(main.text).toMatch(
      /var operationSubscriptionScopes = map\(union\(monitoredSubscriptionIds, rgScopeSubscriptionIds\)/,
    );
  });
});

describe('the Network Watcher resource group', () => {
  it('reaches the app as NETWORK_WATCHER_RESOURCE_GROUP from the parameter the role assignments use', () => {
    const app = file('infra/modules/functionApp.bicep');
    expect(app.text).toMatch(
      /name: 'NETWORK_WATCHER_RESOURCE_GROUP'\s+value: networkWatcherResourceGroupName/,
    );
    expect(file('infra/main.bicep').text).toMatch(
      /networkWatcherResourceGroupName: networkWatcherResourceGroupName/,
    );
    expect(GATEWAY_SOURCE).not.toMatch(/^\s*'NetworkWatcherRG',$/m);
  });
});
