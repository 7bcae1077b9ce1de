import type {
  CaptureGateway,
  GatewayCallOptions,
  ListedCapture,
  WatcherRef,
} from '../azure/captureGateway.js';

/**
 * The capture resources of each watcher, listed at most once per poller tick and shared by every record that asks
 * (the rings of one region ask together): one GET per watcher per tick, counted against ARM's subscription reads
 * (12 000 an hour per principal), never its writes (1 200 an hour): "Subscription | reads | 12000 ... writes |
 * 1200", https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling.
 * A failed list is shared too: the tick does not ask again.
 */
export class WatcherCaptureLists {
  private readonly lists = new Map<string, Promise<ListedCapture[]>>();

  constructor(private readonly gateway: Pick<CaptureGateway, 'listCaptures'>) {}

  /** The watcher's captures as listed this tick (the first caller's deadline bounds the one request). */
  of(watcher: WatcherRef, options: GatewayCallOptions = {}): Promise<ListedCapture[]> {
    const key = watcher.id.toLowerCase();
    let list = this.lists.get(key);
    if (!list) {
      list = this.gateway.listCaptures(watcher, options);
      this.lists.set(key, list);
      // Each caller awaits it; none left unobserved when a caller gave up first.
      list.catch(() => undefined);
    }
    return list;
  }
}
