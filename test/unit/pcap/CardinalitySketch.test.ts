import { describe, expect, it } from 'vitest';
import { CardinalitySketch } from '../../../src/pcap/CardinalitySketch.js';
import { HeavyHitterTable } from '../../../src/pcap/HeavyHitterTable.js';

/** Hashes made the way the summary makes them: the table's hash of a conversation-like key. */
function estimateOf(distinct: number, repeats = 1): number {
  const sketch = new CardinalitySketch();
  const t = new HeavyHitterTable(10, 1);
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < distinct; i++) {
      t.key.fill(0);
      t.key[0] = (4 << 8) | 6;
      t.key[1] = 0x0b000000 + i;
      t.key[5] = 0x0a000005;
      t.key[9] = (1234 << 16) | 80;
      sketch.add(t.hashKey());
    }
  }
  return sketch.estimate();
}

describe('CardinalitySketch', () => {
  it.each([10, 1000, 20_000, 300_000, 1_000_000])('estimates %i distinct keys within 2 %', (distinct) => {
    expect(Math.abs(estimateOf(distinct) - distinct) / distinct).toBeLessThan(0.02);
  });

  it('counts a key seen many times once', () => {
    expect(Math.abs(estimateOf(5000, 4) - 5000) / 5000).toBeLessThan(0.02);
  });

  it('says 0 for nothing', () => {
    expect(new CardinalitySketch().estimate()).toBe(0);
  });
});
