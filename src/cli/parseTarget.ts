import {
  isScaleSetId,
  isVirtualMachineId,
  parseResourceId,
  parseScaleSetInstanceId,
} from '../azure/armId.js';
import type { CaptureTarget } from '../captures/captureTarget.js';
import { CliError, EXIT } from './exitCodes.js';

/**
 * The capture target of `--vm ID [--instance N]`: a VM id, a scale-set instance id, or a scale-set id with
 * `--instance`. Anything else is a usage error (exit 2) naming what was expected.
 */
export function parseTarget(vm: unknown, instance: unknown): CaptureTarget {
  if (typeof vm !== 'string' || vm.trim() === '') {
    throw new CliError(EXIT.usage, 'missing --vm: the ARM id of the VM (or scale set, with --instance)');
  }
  const id = vm.trim();
  if (instance !== undefined) {
    const instanceId = (typeof instance === 'string' ? instance : JSON.stringify(instance)).trim();
    if (!isScaleSetId(id)) {
      throw new CliError(
        EXIT.usage,
        `--instance needs --vm to be a scale set id (…/virtualMachineScaleSets/{name}), found "${id}"`,
      );
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(instanceId)) {
      throw new CliError(EXIT.usage, `--instance "${instanceId}": expected an instance id such as 3`);
    }
    const parsed = parseResourceId(id)!;
    return {
      kind: 'vmssInstance',
      scaleSetId: parsed.topLevelId,
      instanceId,
      subscriptionId: parsed.subscriptionId,
      resourceGroup: parsed.resourceGroup ?? '',
      scaleSetName: parsed.name,
    };
  }
  const instanceTarget = parseScaleSetInstanceId(id);
  if (instanceTarget) return { kind: 'vmssInstance', ...instanceTarget };
  if (isVirtualMachineId(id)) {
    const parsed = parseResourceId(id)!;
    return {
      kind: 'vm',
      vmId: id,
      subscriptionId: parsed.subscriptionId,
      resourceGroup: parsed.resourceGroup ?? '',
      vmName: parsed.name,
    };
  }
  if (isScaleSetId(id))
    throw new CliError(EXIT.usage, `--vm is a scale set: add --instance N (found "${id}")`);
  throw new CliError(
    EXIT.usage,
    `--vm "${id}": expected /subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}`,
  );
}
