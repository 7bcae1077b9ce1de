/** Registers: 2^16, so the standard error is 1.04 / 256 ≈ 0.4 %, in 64 KiB. */
const PRECISION = 16;
const REGISTERS = 1 << PRECISION;

/**
 * Counts distinct items in fixed memory: HyperLogLog (Flajolet, Fusy, Gandouet, Meunier, 2007) over 32-bit
 * hashes, with linear counting for small sets (the usual small-range correction). Feed it well-mixed hashes.
 */
export class CardinalitySketch {
  private readonly registers = new Uint8Array(REGISTERS);

  /** Records one item by its 32-bit hash. */
  add(hash: number): void {
    const index = hash >>> (32 - PRECISION);
    const rest = (hash << PRECISION) >>> 0;
    const rank = rest === 0 ? 32 - PRECISION + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[index]!) this.registers[index] = rank;
  }

  /** The estimated number of distinct items added. */
  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < REGISTERS; i++) {
      const r = this.registers[i]!;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / REGISTERS);
    const raw = (alpha * REGISTERS * REGISTERS) / sum;
    if (raw <= 2.5 * REGISTERS && zeros > 0) return Math.round(REGISTERS * Math.log(REGISTERS / zeros));
    return Math.round(raw);
  }
}
