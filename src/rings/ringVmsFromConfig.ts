import { isWithinAnyScope, parseResourceId } from '../azure/armId.js';
import type { Config } from '../config.js';
import type { RingWanted, WantedRingVm } from '../captures/pollTypes.js';

/**
 * The VMs listed in `RING_VM_IDS` that lie inside `ALLOWED_SCOPES`, as a ring source for the poller: always a
 * complete list (nothing to fail), so a VM taken off the setting loses its ring on the next tick. A listed VM
 * outside the allowed scopes keeps no ring, as an alert on it would get no capture.
 */
export function ringVmsFromConfig(config: Pick<Config, 'ring' | 'allowedScopes'>): RingWanted {
  const vms: WantedRingVm[] = [];
  for (const vmId of config.ring.vmIds) {
    const id = parseResourceId(vmId);
    if (!id || !isWithinAnyScope(vmId, config.allowedScopes)) continue;
    vms.push({ vmId, vmName: id.name, subscriptionId: id.subscriptionId });
  }
  return () => Promise.resolve({ vms: vms.map((vm) => ({ ...vm })), complete: true });
}
