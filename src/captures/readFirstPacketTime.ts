/** Bytes to read from the start of a capture file to know its first packet's time: global header + record header. */
export const FIRST_PACKET_PROBE_BYTES = 24 + 16;

/**
 * The time of the first packet of a classic libpcap file (µs or ns timestamps, either byte order), in ms since the
 * epoch, from the file's first {@link FIRST_PACKET_PROBE_BYTES} bytes (a ranged read: nothing else is downloaded).
 * Undefined when the bytes are not a libpcap file or hold no packet yet. pcapng is not read here: Network Watcher
 * writes classic `.cap` files.
 */
export function readFirstPacketTime(head: Uint8Array): number | undefined {
  if (head.length < FIRST_PACKET_PROBE_BYTES) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint32(0, true);
  const formats: Record<number, { little: boolean; fractionPerMs: number }> = {
    0xa1b2c3d4: { little: true, fractionPerMs: 1_000 },
    0xd4c3b2a1: { little: false, fractionPerMs: 1_000 },
    0xa1b23c4d: { little: true, fractionPerMs: 1_000_000 },
    0x4d3cb2a1: { little: false, fractionPerMs: 1_000_000 },
  };
  const format = formats[magic];
  if (!format) return undefined;
  const seconds = view.getUint32(24, format.little);
  const fraction = view.getUint32(28, format.little);
  if (fraction >= format.fractionPerMs * 1000) return undefined;
  return seconds * 1000 + Math.floor(fraction / format.fractionPerMs);
}
