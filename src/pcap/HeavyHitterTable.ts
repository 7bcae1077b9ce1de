/**
 * A hash table from fixed-width numeric keys (a few 32-bit words) to slot numbers, with an optional size limit
 * enforced by the Space-Saving heavy-hitter algorithm (Metwally, Agrawal, El Abbadi, "Efficient Computation of
 * Frequent and Top-k Elements in Data Streams", ICDT 2005), weighted: when the table is full, a new key takes the
 * slot of the key with the smallest weight and starts from that weight. Any key whose true weight exceeds
 * total/capacity is guaranteed to be in the table, and a key that never left it has exact counts.
 *
 * Callers keep their per-key data in arrays indexed by slot and are told (`onEvict`) before a slot changes hands.
 * No strings, no per-packet allocation: keys are compared word by word in typed arrays.
 */
export class HeavyHitterTable {
  /** Key words of every slot, `width` per slot. */
  keys: Uint32Array;
  /** Space-Saving weight of every slot (own weight plus the weight inherited on admission). */
  weights: Float64Array;
  /** Weight inherited on admission (0 for a key admitted while the table had room). */
  inherited: Float64Array;
  /** Number of slots in use. */
  size = 0;
  /** Keys pushed out so far. */
  evictions = 0;
  /** Scratch key the caller fills before {@link find} / {@link insert}. */
  readonly key: Uint32Array;
  private hashes: Uint32Array;
  /** Open addressing, linear probing: slot + 1, 0 for empty. */
  private index: Int32Array;
  private mask: number;
  private capacity: number;
  /** Min-heap of slots by weight, built when the table first fills (bounded tables only). */
  private heap: Int32Array | undefined;
  private heapPos: Int32Array | undefined;

  /**
   * @param width - Words per key.
   * @param limit - Most keys kept; `Infinity` for an exact, growing table.
   * @param onEvict - Called with a slot just before its key is replaced.
   */
  constructor(
    readonly width: number,
    readonly limit: number,
    private readonly onEvict: (slot: number) => void = () => undefined,
  ) {
    this.capacity = Number.isFinite(limit) ? limit : 1024;
    this.key = new Uint32Array(width);
    this.keys = new Uint32Array(this.capacity * width);
    this.weights = new Float64Array(this.capacity);
    this.inherited = new Float64Array(this.capacity);
    this.hashes = new Uint32Array(this.capacity);
    let buckets = 16;
    while (buckets < this.capacity * 2) buckets *= 2;
    this.index = new Int32Array(buckets);
    this.mask = buckets - 1;
  }

  /** A 32-bit hash of the scratch key (murmur3's mixing), also used by callers for sketches. */
  hashKey(): number {
    const k = this.key;
    let h = 0x9747b28c ^ this.width;
    for (let i = 0; i < k.length; i++) {
      let w = Math.imul(k[i]!, 0xcc9e2d51);
      w = (w << 15) | (w >>> 17);
      h ^= Math.imul(w, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }

  /** The hash of the key in a slot. */
  hashOf(slot: number): number {
    return this.hashes[slot]!;
  }

  /** The slot of the scratch key, or -1. `hash` must be {@link hashKey}'s. */
  find(hash: number): number {
    const k = this.key;
    const w = this.width;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const entry = this.index[i]!;
      if (entry === 0) return -1;
      const slot = entry - 1;
      if (this.hashes[slot] !== hash) continue;
      const base = slot * w;
      let same = true;
      for (let j = 0; j < w; j++) {
        if (this.keys[base + j] !== k[j]) {
          same = false;
          break;
        }
      }
      if (same) return slot;
    }
  }

  /**
   * Adds the scratch key (which must not be in the table) and returns its slot. When the table is full the
   * lightest key is evicted first; the newcomer then inherits its weight, as Space-Saving does.
   */
  insert(hash: number): number {
    let slot: number;
    let inherited = 0;
    if (this.size < this.capacity) {
      slot = this.size++;
    } else if (!Number.isFinite(this.limit)) {
      this.grow();
      slot = this.size++;
    } else {
      if (this.heap === undefined) this.buildHeap();
      slot = this.heap![0]!;
      this.onEvict(slot);
      this.evictions++;
      this.unlink(slot);
      inherited = this.weights[slot]!;
    }
    const base = slot * this.width;
    for (let j = 0; j < this.width; j++) this.keys[base + j] = this.key[j]!;
    this.hashes[slot] = hash;
    this.weights[slot] = inherited;
    this.inherited[slot] = inherited;
    let i = hash & this.mask;
    while (this.index[i] !== 0) i = (i + 1) & this.mask;
    this.index[i] = slot + 1;
    if (this.heap !== undefined) this.siftDown(this.heapPos![slot]!);
    return slot;
  }

  /** Adds `weight` to a slot. */
  add(slot: number, weight: number): void {
    this.weights[slot]! += weight;
    if (this.heap !== undefined) this.siftDown(this.heapPos![slot]!);
  }

  /**
   * Makes a slot the next one to be evicted (a DNS query that was answered): its weight drops below every other.
   * The caller's `onEvict` still runs for it and must know it holds nothing worth keeping.
   */
  demote(slot: number): void {
    this.weights[slot] = -1;
    if (this.heap !== undefined) this.siftUp(this.heapPos![slot]!);
  }

  /** True once a key was pushed out: counts outside the table are then incomplete. */
  get truncated(): boolean {
    return this.evictions > 0;
  }

  /** Removes a slot's key from the index (backward-shift deletion keeps probe chains intact). */
  private unlink(slot: number): void {
    let i = this.hashes[slot]! & this.mask;
    while (this.index[i] !== slot + 1) i = (i + 1) & this.mask;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const entry = this.index[j]!;
      if (entry === 0) break;
      const home = this.hashes[entry - 1]! & this.mask;
      // Move the entry back into the hole when the hole lies on its probe path.
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        this.index[i] = entry;
        i = j;
      }
    }
    this.index[i] = 0;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const keys = new Uint32Array(capacity * this.width);
    keys.set(this.keys);
    this.keys = keys;
    const weights = new Float64Array(capacity);
    weights.set(this.weights);
    this.weights = weights;
    const inherited = new Float64Array(capacity);
    inherited.set(this.inherited);
    this.inherited = inherited;
    const hashes = new Uint32Array(capacity);
    hashes.set(this.hashes);
    this.hashes = hashes;
    this.capacity = capacity;
    this.index = new Int32Array(capacity * 2);
    this.mask = capacity * 2 - 1;
    for (let slot = 0; slot < this.size; slot++) {
      let i = this.hashes[slot]! & this.mask;
      while (this.index[i] !== 0) i = (i + 1) & this.mask;
      this.index[i] = slot + 1;
    }
  }

  private buildHeap(): void {
    const n = this.capacity;
    this.heap = new Int32Array(n);
    this.heapPos = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.heap[i] = i;
      this.heapPos[i] = i;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(at: number): void {
    const heap = this.heap!;
    const pos = this.heapPos!;
    const w = this.weights;
    let i = at;
    const slot = heap[i]!;
    const weight = w[slot]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (w[heap[parent]!]! <= weight) break;
      heap[i] = heap[parent]!;
      pos[heap[i]!] = i;
      i = parent;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  private siftDown(at: number): void {
    const heap = this.heap!;
    const pos = this.heapPos!;
    const w = this.weights;
    const n = this.capacity;
    let i = at;
    const slot = heap[i]!;
    const weight = w[slot]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && w[heap[right]!]! < w[heap[left]!]! ? right : left;
      if (w[heap[child]!]! >= weight) break;
      heap[i] = heap[child]!;
      pos[heap[i]!] = i;
      i = child;
    }
    heap[i] = slot;
    pos[slot] = i;
  }
}
