import type { RingTagGateway } from '../azure/ringTagGateway.js';
import type { RingWanted, WantedRings } from '../captures/pollTypes.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { discoverRingVms } from './discoverRingVms.js';

/** Options for {@link discoveredRingWanted}. */
export interface DiscoveredRingWantedOptions {
  logger: Logger;
  /** Clock in ms (the poller's). */
  now?: () => number;
}

/**
 * The poller's ring source in Azure: {@link discoverRingVms} (tagged VMs within ALLOWED_SCOPES, and
 * RING_VM_IDS), listed again at most every `RING_DISCOVERY_SECONDS`, so that an idle tick makes no ARM request,
 * and at once when the poller brings a change mark it has not brought before (`changedAt`, from the ring heads:
 * `ring enable|disable` write it), so a disabled ring is never re-armed from an old listing. An answer with a scope that could not
 * be listed is `complete: false` (the poller then removes no ring) and is listed again on the next tick.
 */
export function discoveredRingWanted(
  config: Pick<Config, 'allowedScopes' | 'ring'>,
  gateway: RingTagGateway,
  options: DiscoveredRingWantedOptions,
): RingWanted {
  const now = options.now ?? Date.now;
  let cached: { at: number; answer: WantedRings } | undefined;
  // The change mark last acted on. Compared for equality, never against this clock: the mark is the ledger's time.
  let changeSeen: number | undefined;
  return async (call = {}) => {
    const at = now();
    const changed = call.changedAt !== undefined && call.changedAt !== changeSeen;
    if (call.changedAt !== undefined) changeSeen = call.changedAt;
    const fresh =
      cached !== undefined &&
      cached.answer.complete &&
      !changed &&
      at - cached.at < config.ring.discoverySeconds * 1000;
    if (fresh) return copy(cached!.answer);
    const discovery = await discoverRingVms(config, gateway, { abortSignal: call.abortSignal });
    for (const scope of discovery.incompleteScopes) {
      options.logger.warn(`rings: ${scope.scope} not listed (${scope.reason}); no ring of it is removed`);
    }
    if (discovery.leftOut > 0) {
      options.logger.warn(
        `rings: ${discovery.leftOut} VMs want a ring beyond RING_MAX_VMS (${config.ring.maxVms})`,
      );
    }
    const answer: WantedRings = {
      vms: discovery.vms.map((vm) => ({ vmId: vm.id, vmName: vm.name, subscriptionId: vm.subscriptionId })),
      complete: discovery.incompleteScopes.length === 0,
    };
    cached = { at, answer };
    return copy(answer);
  };
}

function copy(answer: WantedRings): WantedRings {
  return { vms: answer.vms.map((vm) => ({ ...vm })), complete: answer.complete };
}
