import type { RingDirectory } from '../captures/pollTypes.js';
import type { CaptureLedger } from '../ledger/CaptureLedger.js';
import { ringPathsOfHead } from '../ledger/RingHeads.js';

/**
 * The ring directory on the ledger: a VM's ring head names the records of its recent generations, and each
 * record holds the storage path ARM reported for its capture. Costs one read for the head and one per generation.
 */
export class LedgerRingDirectory implements RingDirectory {
  constructor(private readonly ledger: Pick<CaptureLedger, 'rings' | 'get'>) {}

  /** See {@link RingDirectory.ringPathsOf}. */
  async ringPathsOf(vmId: string, options: { abortSignal?: AbortSignal } = {}): Promise<string[]> {
    const head = await this.ledger.rings.get(vmId);
    if (!head) return [];
    return ringPathsOfHead(head, (alertId) => this.ledger.get(alertId), options);
  }
}
