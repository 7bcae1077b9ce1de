import { parseResourceId } from '../azure/armId.js';
import type { WatcherRef } from '../azure/captureGateway.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';

/** The watcher a record's capture lives in, or `undefined` when the record has none (yet). */
export function watcherOf(record: Pick<CaptureRecord, 'watcherId' | 'region'>): WatcherRef | undefined {
  const id = record.watcherId ? parseResourceId(record.watcherId) : undefined;
  if (!id?.resourceGroup || !record.watcherId) return undefined;
  return {
    id: record.watcherId,
    subscriptionId: id.subscriptionId,
    resourceGroup: id.resourceGroup,
    name: id.name,
    location: record.region ?? '',
  };
}
