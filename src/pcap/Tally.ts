import { HeavyHitterTable } from './HeavyHitterTable.js';
import type { CountedName } from './types.js';

/**
 * Counts per key in a bounded {@link HeavyHitterTable}: the heaviest keys exactly, the rest dropped. Used for the
 * per-signal tallies (RST senders, SYN targets, DNS names...), so none of them grows with the traffic.
 */
export class Tally {
  readonly table: HeavyHitterTable;
  private counts: Float64Array;
  /** Optional text per slot (DNS names), kept only for the keys in the table. */
  private readonly labels: (string | undefined)[] = [];

  constructor(width: number, limit: number) {
    this.table = new HeavyHitterTable(width, limit, (slot) => {
      this.counts[slot] = 0;
      this.labels[slot] = undefined;
    });
    this.counts = new Float64Array(limit);
  }

  /** The scratch key to fill before {@link add}. */
  get key(): Uint32Array {
    return this.table.key;
  }

  /** Adds `count` to the scratch key; `label` is remembered for a key that enters the table. */
  add(count = 1, label?: string): void {
    const t = this.table;
    const hash = t.hashKey();
    let slot = t.find(hash);
    if (slot < 0) {
      slot = t.insert(hash);
      if (label !== undefined) this.labels[slot] = label;
    }
    this.counts[slot]! += count;
    t.add(slot, count);
  }

  /** The heaviest `n` keys (those `filter` accepts), most first. */
  entries(
    n: number,
    filter: (key: Uint32Array) => boolean = () => true,
  ): { key: Uint32Array; label: string | undefined; count: number; estimated: boolean }[] {
    const t = this.table;
    const keyOf = (slot: number): Uint32Array => t.keys.slice(slot * t.width, (slot + 1) * t.width);
    const slots = Array.from({ length: t.size }, (_, i) => i).filter(
      (slot) => this.counts[slot]! > 0 && filter(keyOf(slot)),
    );
    slots.sort((x, y) => this.counts[y]! - this.counts[x]!);
    return slots.slice(0, n).map((slot) => ({
      key: keyOf(slot),
      label: this.labels[slot],
      count: this.counts[slot]!,
      estimated: t.inherited[slot]! > 0,
    }));
  }

  /** The heaviest `n` keys (those `filter` accepts), each named by `name(keyWords, label)`, most first. */
  top(
    n: number,
    name: (key: Uint32Array, label: string | undefined) => string,
    filter?: (key: Uint32Array) => boolean,
  ): CountedName[] {
    return this.entries(n, filter).map((e) => ({
      name: name(e.key, e.label),
      count: e.count,
      ...(e.estimated ? { estimated: true as const } : {}),
    }));
  }
}
