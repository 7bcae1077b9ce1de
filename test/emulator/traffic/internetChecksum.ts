/**
 * The RFC 1071 one's-complement checksum over `parts` taken as one byte stream (an odd-length part is padded
 * with a zero byte only at the very end, which is why the parts are summed as a stream, not one by one).
 */
export function internetChecksum(...parts: readonly Buffer[]): number {
  let sum = 0;
  let carryByte: number | undefined;
  for (const part of parts) {
    let i = 0;
    if (carryByte !== undefined && part.length > 0) {
      sum += (carryByte << 8) | (part[0] as number);
      carryByte = undefined;
      i = 1;
    }
    const end = part.length - 1;
    // At most 65535 per step: a frame's worth of words never leaves the exact integer range of a double.
    for (; i < end; i += 2) sum += ((part[i] as number) << 8) | (part[i + 1] as number);
    if (i < part.length) carryByte = part[i];
  }
  if (carryByte !== undefined) sum += carryByte << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}
