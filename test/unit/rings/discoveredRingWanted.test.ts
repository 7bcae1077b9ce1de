import { describe, expect, it } from 'vitest';
import type { RingTagGateway, TaggedResourceList } from '../../../src/azure/ringTagGateway.js';
import { loadConfig } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { discoveredRingWanted } from '../../../src/rings/discoveredRingWanted.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const VM = `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1`;
const config = loadConfig({
  CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/caps`,
  LEDGER_STORAGE_ACCOUNT_NAME: 'ledger',
  ALLOWED_SCOPES: SUB,
  RING_DISCOVERY_SECONDS: '300',
});

/** A RingTagGateway (our interface) answering the tag listing from a list the test changes; counts listings. */
function tagListing(): {
  gateway: RingTagGateway;
  tagged: string[];
  listings: () => number;
  fail: { on: boolean };
} {
  const tagged: string[] = [];
  const fail = { on: false };
  let listings = 0;
  const gateway: RingTagGateway = {
    listTaggedResources(): Promise<TaggedResourceList> {
      listings++;
      if (fail.on) return Promise.reject(Object.assign(new Error('throttled'), { statusCode: 429 }));
      return Promise.resolve({
        resources: tagged.map((id) => ({ id, type: 'Microsoft.Compute/virtualMachines' })),
        complete: true,
      });
    },
    listSubscriptions: () => Promise.reject(new Error('not used')),
    getTags: () => Promise.reject(new Error('not used')),
    setTag: () => Promise.reject(new Error('not used')),
    removeTag: () => Promise.reject(new Error('not used')),
  };
  return { gateway, tagged, listings: () => listings, fail };
}

describe('the poller’s ring source', () => {
  it('lists the tags at most every RING_DISCOVERY_SECONDS, and at once for a new change mark', async () => {
    const t = tagListing();
    let now = 0;
    const wanted = discoveredRingWanted(config, t.gateway, { logger: silentLogger, now: () => now });
    t.tagged.push(VM);
    expect((await wanted()).vms.map((v) => v.vmId)).toEqual([VM]);
    t.tagged.length = 0;
    now += 299_000;
    // Within the interval: the last listing, no ARM request.
    expect((await wanted()).vms).toHaveLength(1);
    expect(t.listings()).toBe(1);
    // A change mark (ring disable) the source has not seen: listed again at once.
    expect((await wanted({ changedAt: 5 })).vms).toEqual([]);
    expect(t.listings()).toBe(2);
    // The same mark again is no news.
    await wanted({ changedAt: 5 });
    expect(t.listings()).toBe(2);
    now += 300_000;
    await wanted({ changedAt: 5 });
    expect(t.listings()).toBe(3);
  });

  it('answers a failed listing as incomplete and lists again on the next call', async () => {
    const t = tagListing();
    const wanted = discoveredRingWanted(config, t.gateway, { logger: silentLogger, now: () => 0 });
    t.fail.on = true;
    expect(await wanted()).toEqual({ vms: [], complete: false });
    t.fail.on = false;
    t.tagged.push(VM);
    expect(await wanted()).toMatchObject({ complete: true, vms: [{ vmId: VM, vmName: 'vm-1' }] });
    expect(t.listings()).toBe(2);
  });
});
