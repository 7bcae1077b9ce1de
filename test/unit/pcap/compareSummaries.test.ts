import { describe, expect, it } from 'vitest';
import { compareSummaries } from '../../../src/pcap/compareSummaries.js';
import { summarizeBuffer } from '../../../src/pcap/summarizeStream.js';
import { udpPcap } from './udpPcap.js';

/** One capture of the given hosts' packets (each host's from `startSeconds`, `count` of them). */
function capture(...hosts: Array<[host: number, startSeconds: number, count: number]>) {
  const files = hosts.map(([h, s, n]) => udpPcap(h, s, n));
  const records = files.map((f) => f.subarray(24));
  return summarizeBuffer(Buffer.concat([files[0]!.subarray(0, 24), ...records]));
}

describe('compareSummaries', () => {
  it('names the conversation and the talker that appear only after the alert, and the byte rates', () => {
    const before = capture([1, 1000, 10], [2, 1000, 10]);
    const after = capture([1, 2000, 10], [3, 2000, 10], [4, 2000, 10]);
    const change = compareSummaries(before, after);
    expect(change.newConversations.map((c) => c.a).sort()).toEqual(['10.0.0.3:5003', '10.0.0.4:5004']);
    expect(change.newTalkers.map((t) => t.address).sort()).toEqual(['10.0.0.3', '10.0.0.4']);
    expect(change.beforeTruncated).toBe(false);
    expect(change.bytesPerSecond.after).toBeGreaterThan(change.bytesPerSecond.before!);
  });

  it('finds nothing new when after holds the same conversations, and no rate for an empty side', () => {
    const same = capture([1, 1000, 5]);
    expect(compareSummaries(same, capture([1, 3000, 5]))).toMatchObject({
      newConversations: [],
      newTalkers: [],
      newSignals: [],
    });
    const empty = summarizeBuffer(udpPcap(1, 0, 0));
    expect(compareSummaries(empty, same).bytesPerSecond.before).toBeUndefined();
  });

  it('says when "before" did not list every conversation', () => {
    const before = { ...capture([1, 1000, 5]), conversationsTotal: 500 };
    expect(compareSummaries(before, capture([2, 2000, 5])).beforeTruncated).toBe(true);
  });
});
