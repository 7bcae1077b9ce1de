import { describe, expect, it } from 'vitest';
import { HeavyHitterTable } from '../../../src/pcap/HeavyHitterTable.js';
import { random } from './floodCapture.js';

function put(t: HeavyHitterTable, a: number, b: number, weight: number): number {
  t.key[0] = a;
  t.key[1] = b;
  const hash = t.hashKey();
  let slot = t.find(hash);
  if (slot < 0) slot = t.insert(hash);
  t.add(slot, weight);
  return slot;
}

function has(t: HeavyHitterTable, a: number, b: number): boolean {
  t.key[0] = a;
  t.key[1] = b;
  return t.find(t.hashKey()) >= 0;
}

describe('HeavyHitterTable', () => {
  it('keeps every key exactly while it has room', () => {
    const t = new HeavyHitterTable(2, 100);
    for (let i = 0; i < 100; i++) put(t, i, i * 7, i + 1);
    expect(t.size).toBe(100);
    expect(t.truncated).toBe(false);
    for (let i = 0; i < 100; i++) expect(has(t, i, i * 7)).toBe(true);
    expect(has(t, 100, 700)).toBe(false);
  });

  it('evicts the lightest key when full and lets the newcomer inherit its weight (Space-Saving)', () => {
    const evicted: number[] = [];
    const t = new HeavyHitterTable(2, 4, (slot) => evicted.push(t.keys[slot * 2]!));
    put(t, 1, 0, 50);
    put(t, 2, 0, 10);
    put(t, 3, 0, 30);
    put(t, 4, 0, 40);
    const slot = put(t, 5, 0, 1);
    expect(evicted).toEqual([2]);
    expect(has(t, 2, 0)).toBe(false);
    expect(t.inherited[slot]).toBe(10);
    expect(t.weights[slot]).toBe(11);
    expect(t.evictions).toBe(1);
  });

  it('never loses a heavy key, and finds every kept key after many evictions (probe chains intact)', () => {
    const t = new HeavyHitterTable(2, 64);
    const rand = random(3);
    for (let i = 0; i < 50_000; i++) {
      if (i % 10 === 0) put(t, 0xffff, (i / 10) % 30, 1000);
      else put(t, Math.floor(rand() * 1e9), 1, 1);
    }
    for (let k = 0; k < 30; k++) expect(has(t, 0xffff, k)).toBe(true);
    // Every key still stored in a slot is found through the index.
    for (let slot = 0; slot < t.size; slot++)
      expect(has(t, t.keys[slot * 2]!, t.keys[slot * 2 + 1]!)).toBe(true);
    expect(t.size).toBe(64);
  });

  it('grows without evicting when unbounded', () => {
    const t = new HeavyHitterTable(2, Infinity);
    for (let i = 0; i < 5000; i++) put(t, i, 0, 1);
    expect(t.size).toBe(5000);
    expect(t.truncated).toBe(false);
    for (let i = 0; i < 5000; i += 97) expect(has(t, i, 0)).toBe(true);
  });

  it('evicts a demoted key first', () => {
    const evicted: number[] = [];
    const t = new HeavyHitterTable(2, 3, (slot) => evicted.push(t.keys[slot * 2]!));
    put(t, 1, 0, 1);
    const two = put(t, 2, 0, 5);
    put(t, 3, 0, 1);
    put(t, 4, 0, 1); // builds the heap, evicts 1 or 3
    t.demote(two);
    put(t, 5, 0, 1);
    expect(evicted[1]).toBe(2);
  });
});
