import { armStatus, describeArmError } from '../../azure/armErrors.js';
import { isActionAllowed, listPermissions } from '../../azure/checkPermissions.js';
import type { WatcherRef } from '../../azure/captureGateway.js';
import { isOurCapture } from '../../captures/captureName.js';
import {
  targetMachineId,
  targetName,
  targetResourceId,
  type CaptureTarget,
} from '../../captures/captureTarget.js';
import { countForeignRunning } from '../../captures/countForeignRunning.js';
import { awaitsRelease, holdsTarget } from '../../ledger/lifecycle.js';
import { EXIT } from '../exitCodes.js';
import { formatJson, write } from '../output.js';
import { parseVerbArgs } from '../parseVerbArgs.js';
import { parseTarget } from '../parseTarget.js';
import type { VerbContext } from '../verbContext.js';

/** One preflight check. */
export interface DoctorCheck {
  /** What was checked, e.g. `agent`, `permission Microsoft.Network/networkWatchers/packetCaptures/write`. */
  name: string;
  ok: boolean;
  /** What was found, in plain words (and what to do when it failed). */
  detail: string;
}

/** The `--json` output of `doctor`. */
export interface DoctorOutput {
  target: string;
  /** Every check passed. */
  ok: boolean;
  checks: DoctorCheck[];
}

/**
 * The ARM actions the app needs, with where they are checked: the same lists `infra/modules/captureRoles.bicep`
 * grants (compute at the VM's resource group, Network Watcher at the watcher's, storage at the capture account).
 */
function neededActions(
  target: CaptureTarget,
  autoInstallAgent: boolean,
): Record<'compute' | 'network' | 'storage', string[]> {
  return {
    compute:
      target.kind === 'vm'
        ? [
            'Microsoft.Compute/virtualMachines/read',
            'Microsoft.Compute/virtualMachines/extensions/read',
            ...(autoInstallAgent ? ['Microsoft.Compute/virtualMachines/extensions/write'] : []),
          ]
        : [
            'Microsoft.Compute/virtualMachineScaleSets/read',
            'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read',
          ],
    network: [
      'Microsoft.Network/networkWatchers/read',
      'Microsoft.Network/networkWatchers/packetCaptures/read',
      'Microsoft.Network/networkWatchers/packetCaptures/write',
      'Microsoft.Network/networkWatchers/packetCaptures/delete',
      'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action',
      'Microsoft.Network/networkWatchers/packetCaptures/stop/action',
    ],
    storage: [
      'Microsoft.Storage/storageAccounts/read',
      'Microsoft.Storage/storageAccounts/listKeys/action',
      'Microsoft.Storage/storageAccounts/listServiceSas/action',
      'Microsoft.Storage/storageAccounts/listAccountSas/action',
    ],
  };
}

/**
 * `doctor --vm ID [--instance N] [--json]`: whether a capture of this VM would work, one line per check, pass or
 * fail in plain words — VM found, region, Network Watcher, agent (whatever its extension's name) and its state,
 * capture storage reachable and Standard, budget left in the region, and each ARM action the app needs (from the
 * permissions list: reads only, nothing is created). Exit 0 when all pass, 3 when the VM is not found, else 1.
 */
export async function runDoctor(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values } = parseVerbArgs(
    'doctor',
    args,
    { vm: { type: 'string' }, instance: { type: 'string' }, json: { type: 'boolean' } },
    0,
  );
  const target = parseTarget(values.vm, values.instance);
  const app = await ctx.ready();
  const { config, gateway } = app;
  const checks: DoctorCheck[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const call = () => ({ abortSignal: AbortSignal.timeout(30_000) });
  const targetId = targetResourceId(target);
  let code: number = EXIT.ok;

  let region: string | undefined;
  try {
    region = await gateway.getLocation(targetId, call());
    check('VM found', true, `${targetName(target)} (${targetMachineId(target)})`);
    check('region', true, region);
  } catch (e) {
    const missing = armStatus(e) === 404;
    check(
      'VM found',
      false,
      missing ? `${targetId} does not exist (or this identity cannot see it)` : describeArmError(e),
    );
    if (missing) code = EXIT.notFound;
  }

  let watcher: WatcherRef | undefined;
  if (region) {
    try {
      watcher = await gateway.findWatcher(target.subscriptionId, region, call());
      check(
        'Network Watcher',
        watcher !== undefined,
        watcher
          ? `${watcher.name} in ${watcher.resourceGroup}`
          : `none in ${region}: enable Network Watcher for the region`,
      );
    } catch (e) {
      check('Network Watcher', false, describeArmError(e));
    }
    try {
      const agent = await gateway.getAgent(target, call());
      const named = agent.extensionName ? ` as extension ${agent.extensionName}` : '';
      const detail =
        agent.state === 'installed'
          ? `installed${named} (${agent.provisioningState ?? 'Succeeded'})`
          : agent.state === 'missing'
            ? `not installed: add the Network Watcher agent extension${config.autoInstallAgent ? ' (AUTO_INSTALL_AGENT is on: the app installs it on the first capture of a VM)' : ' or set AUTO_INSTALL_AGENT=true'}`
            : `${agent.state}${named} (provisioningState ${agent.provisioningState ?? '?'})${agent.state === 'failed' ? ': reinstall or repair it' : ': wait for it to finish'}`;
      check('agent', agent.state === 'installed', detail);
    } catch (e) {
      check('agent', false, describeArmError(e));
    }
  }

  const account = config.captureStorageAccountId.split('/').pop() ?? '';
  try {
    const info = await ctx.files().accountInfo(call());
    const standard = /^Standard_/i.test(info.skuName ?? '');
    check(
      'capture storage',
      standard,
      `${account} reachable, ${info.skuName ?? 'unknown SKU'} (${info.accountKind ?? 'unknown kind'})${standard ? '' : ': Network Watcher writes captures to Standard accounts only'}`,
    );
  } catch (e) {
    check('capture storage', false, `${account} not reachable: ${describeArmError(e)}`);
  }

  if (region && watcher) {
    try {
      const [active, listed] = await Promise.all([
        app.ledger.listActive(),
        gateway.listCaptures(watcher, call()),
      ]);
      const ours = active.filter(
        (r) =>
          r.region === region &&
          r.subscriptionId.toLowerCase() === target.subscriptionId.toLowerCase() &&
          (holdsTarget(r) || awaitsRelease(r)),
      ).length;
      const foreign = listed.filter((c) => !isOurCapture(config.captureNamePrefix, c.name));
      const running = (
        await countForeignRunning(gateway, watcher, foreign, { ...call(), now: () => ctx.now() })
      ).size;
      const left = config.captureSessionBudget - ours - running;
      check(
        'budget',
        left > 0,
        `${Math.max(0, left)} of ${config.captureSessionBudget} capture sessions left in ${region} (${ours} ours, ${running} others' running)`,
      );
    } catch (e) {
      check('budget', false, describeArmError(e));
    }
  }

  const actions = neededActions(target, config.autoInstallAgent);
  const scopes: Array<[keyof typeof actions, string | undefined]> = [
    ['compute', `/subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}`],
    [
      'network',
      watcher
        ? `/subscriptions/${watcher.subscriptionId}/resourceGroups/${watcher.resourceGroup}`
        : undefined,
    ],
    ['storage', config.captureStorageAccountId],
  ];
  for (const [kind, scope] of scopes) {
    if (!scope) continue;
    try {
      const entries = await listPermissions(ctx.credential(), config.armEndpoint, scope, call());
      for (const action of actions[kind]) {
        const allowed = isActionAllowed(action, entries);
        check(`permission ${action}`, allowed, `${allowed ? 'allowed' : 'NOT allowed'} at ${scope}`);
      }
    } catch (e) {
      check(`permissions at ${scope}`, false, `could not be read: ${describeArmError(e)}`);
    }
  }

  const ok = checks.every((c) => c.ok);
  if (!ok && code === EXIT.ok) code = EXIT.failed;
  const output: DoctorOutput = { target: targetMachineId(target), ok, checks };
  if (values.json) await write(ctx.io.stdout, formatJson(output));
  else {
    const width = Math.max(...checks.map((c) => c.name.length));
    await write(
      ctx.io.stdout,
      checks.map((c) => `${c.ok ? 'pass' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}\n`).join('') +
        (ok ? 'all checks passed\n' : `${checks.filter((c) => !c.ok).length} checks failed\n`),
    );
  }
  return code;
}
