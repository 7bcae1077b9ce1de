import { CaptureFormatError } from './CaptureFormatError.js';

/**
 * Receives each packet as the reader finds it. `data` is only valid during the call (it may be a view into a
 * buffer that is reused afterwards): copy what you keep.
 */
export type PacketHandler = (packet: RawPacket) => void;

/** One packet record, as read from the file. The object is reused from one call to the next. */
export interface RawPacket {
  /** LINKTYPE_* value of the interface that captured it (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2...). */
  linkType: number;
  /** Bytes of the file holding the packet, from `offset` for `capturedLength` bytes. */
  data: Uint8Array;
  offset: number;
  capturedLength: number;
  /** Length on the wire (tshark's `frame.len`), at least as large as capturedLength in a sane file. */
  originalLength: number;
  /** Timestamp: whole seconds since the Unix epoch and nanoseconds within that second. */
  seconds: number;
  nanoseconds: number;
}

/**
 * The largest packet record the reader accepts: libpcap's and Wireshark's standard maximum packet size. Anything
 * above is treated as corruption rather than buffered, so memory stays bounded whatever the file says.
 */
export const MAX_PACKET_BYTES = 262_144;
/** Room for a pcapng packet block's header, padding and options around the packet bytes. */
const MAX_PCAPNG_BLOCK_BYTES = MAX_PACKET_BYTES + 65_536;
/** Section and interface description blocks are buffered whole; theirs is a generous bound. */
const MAX_DESCRIPTION_BLOCK_BYTES = 1_048_576;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_IDB = 1;
const PCAPNG_OPB = 2;
const PCAPNG_SPB = 3;
const PCAPNG_EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

interface PcapngInterface {
  linkType: number;
  snapLength: number;
  /** Timestamp units per second (if_tsresol), 1e6 unless the block says otherwise. */
  unitsPerSecond: number;
  /** if_tsoffset: seconds to add to every timestamp. */
  offsetSeconds: number;
}

type Stage = 'magic' | 'pcapRecord' | 'pcapngBlock' | 'failed';

function u16(b: Uint8Array, i: number, le: boolean): number {
  return le ? b[i]! | (b[i + 1]! << 8) : (b[i]! << 8) | b[i + 1]!;
}

function u32(b: Uint8Array, i: number, le: boolean): number {
  return le
    ? (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0
    : ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

/**
 * Incremental reader of classic pcap (microsecond and nanosecond, both byte orders, and the "modified" Kuznetzov
 * variant) and pcapng (any number of sections in either byte order; IDB, EPB, SPB and the obsolete packet block;
 * other blocks skipped). Feed it chunks of any size with {@link CaptureReader.push}, then call
 * {@link CaptureReader.end}. Between chunks it keeps at most one incomplete record (bounded by
 * {@link MAX_PACKET_BYTES} plus headers), so memory does not grow with the file.
 *
 * Both methods throw {@link CaptureFormatError} on corrupt or cut input; the reader then refuses further input.
 */
export class CaptureReader {
  /** Container format, once the first bytes have been seen. */
  format: 'pcap' | 'pcapng' | undefined;
  /** Bytes consumed so far: the absolute offset of the first byte not yet read. */
  offset = 0;
  /** Packet records delivered. */
  packets = 0;

  private readonly onPacket: PacketHandler;
  private readonly packet: RawPacket = {
    linkType: 0,
    data: new Uint8Array(0),
    offset: 0,
    capturedLength: 0,
    originalLength: 0,
    seconds: 0,
    nanoseconds: 0,
  };
  private stage: Stage = 'magic';
  /** Bytes needed, from the start of the unit being read, before it can be parsed. */
  private need = 4;
  private carry: Uint8Array = new Uint8Array(0);
  private carryLength = 0;
  private skipRemaining = 0;
  private skipStart = 0;
  private skipLength = 0;
  // Classic pcap file state.
  private littleEndian = true;
  private nanosecondResolution = false;
  private pcapRecordHeaderBytes = 16;
  private pcapLinkType = 1;
  // pcapng section state.
  private interfaces: PcapngInterface[] = [];
  private lastSeconds = 0;
  private lastNanoseconds = 0;

  /** @param onPacket - Called synchronously for every packet record, in file order. */
  constructor(onPacket: PacketHandler) {
    this.onPacket = onPacket;
  }

  /** Reads as much of `chunk` as forms complete records and keeps the rest for the next call. */
  push(chunk: Uint8Array): void {
    if (this.stage === 'failed') return;
    try {
      this.pushUnchecked(chunk);
    } catch (e) {
      this.stage = 'failed';
      throw e;
    }
  }

  /** Declares the end of input; throws if it came in the middle of a header, record or block. */
  end(): void {
    if (this.stage === 'failed') return;
    const pending = this.carryLength;
    if (this.skipRemaining > 0) {
      this.stage = 'failed';
      throw new CaptureFormatError(
        `file ends inside a pcapng block of ${this.skipLength} bytes (${this.skipLength - this.skipRemaining} present)`,
        this.skipStart,
      );
    }
    if (this.stage === 'magic') {
      this.stage = 'failed';
      throw new CaptureFormatError(
        pending === 0
          ? 'empty input: no pcap or pcapng header'
          : `file too short for a pcap or pcapng header (${pending} bytes)`,
        0,
      );
    }
    if (pending > 0) {
      const what = this.stage === 'pcapRecord' ? 'packet record' : 'pcapng block';
      this.stage = 'failed';
      throw new CaptureFormatError(
        `file ends inside a ${what} (needs ${this.need} bytes, ${pending} present)`,
        this.offset,
      );
    }
  }

  private pushUnchecked(chunk: Uint8Array): void {
    let pos = 0;
    const length = chunk.length;
    while (pos < length) {
      if (this.skipRemaining > 0) {
        const n = Math.min(this.skipRemaining, length - pos);
        this.skipRemaining -= n;
        this.offset += n;
        pos += n;
        continue;
      }
      if (this.carryLength > 0) {
        const n = Math.min(this.need - this.carryLength, length - pos);
        this.ensureCarry(this.carryLength + n);
        this.carry.set(chunk.subarray(pos, pos + n), this.carryLength);
        this.carryLength += n;
        pos += n;
        if (this.carryLength < this.need) return;
        const consumed = this.parse(this.carry, 0, this.carryLength);
        if (consumed > 0) {
          // The carry held exactly one unit; anything it did not use is returned to the chunk.
          const unused = this.carryLength - consumed;
          pos -= unused;
          this.carryLength = 0;
        }
        continue;
      }
      const consumed = this.parse(chunk, pos, length);
      pos += consumed;
      if (pos < length && this.skipRemaining === 0) {
        const rest = length - pos;
        this.ensureCarry(Math.max(rest, this.need));
        this.carry.set(chunk.subarray(pos), 0);
        this.carryLength = rest;
        return;
      }
    }
  }

  private ensureCarry(size: number): void {
    if (this.carry.length >= size) return;
    const grown = new Uint8Array(Math.max(size, Math.min(this.carry.length * 2, MAX_PCAPNG_BLOCK_BYTES)));
    grown.set(this.carry.subarray(0, this.carryLength));
    this.carry = grown;
  }

  /**
   * Parses whole units from `b[start, end)`, advancing `this.offset`; returns the bytes consumed. Stops, setting
   * `this.need`, when the next unit is incomplete, or after starting to skip a block that runs past `end`.
   */
  private parse(b: Uint8Array, start: number, end: number): number {
    let pos = start;
    for (;;) {
      const avail = end - pos;
      if (this.stage === 'magic') {
        if (avail < 4) return this.stop(pos, start, 4);
        const consumed = this.readMagic(b, pos, avail);
        if (consumed < 0) return this.stop(pos, start, -consumed);
        pos += consumed;
        this.offset += consumed;
      } else if (this.stage === 'pcapRecord') {
        const h = this.pcapRecordHeaderBytes;
        if (avail < h) return this.stop(pos, start, h);
        const le = this.littleEndian;
        const captured = u32(b, pos + 8, le);
        if (captured > MAX_PACKET_BYTES) {
          throw new CaptureFormatError(
            `corrupt packet record: captured length ${captured} exceeds the ${MAX_PACKET_BYTES}-byte maximum`,
            this.offset,
          );
        }
        const total = h + captured;
        if (avail < total) return this.stop(pos, start, total);
        const fraction = u32(b, pos + 4, le);
        const p = this.packet;
        p.linkType = this.pcapLinkType;
        p.data = b;
        p.offset = pos + h;
        p.capturedLength = captured;
        p.originalLength = u32(b, pos + 12, le);
        p.seconds = u32(b, pos, le);
        p.nanoseconds = this.nanosecondResolution ? fraction : fraction * 1000;
        if (p.nanoseconds >= 1e9) {
          p.seconds += Math.floor(p.nanoseconds / 1e9);
          p.nanoseconds %= 1e9;
        }
        this.packets++;
        this.onPacket(p);
        pos += total;
        this.offset += total;
      } else {
        if (avail < 12) return this.stop(pos, start, 12);
        let type = u32(b, pos, this.littleEndian);
        if (type === PCAPNG_SHB) {
          const bom = u32(b, pos + 8, true);
          if (bom === BYTE_ORDER_MAGIC) this.littleEndian = true;
          else if (bom === 0x4d3c2b1a) this.littleEndian = false;
          else {
            throw new CaptureFormatError(
              `corrupt pcapng section header: bad byte-order magic 0x${bom.toString(16).padStart(8, '0')}`,
              this.offset,
            );
          }
          type = PCAPNG_SHB;
        }
        const blockLength = u32(b, pos + 4, this.littleEndian);
        if (blockLength % 4 !== 0 || blockLength < 12 || (type === PCAPNG_SHB && blockLength < 28)) {
          throw new CaptureFormatError(
            `corrupt pcapng block: block type 0x${type.toString(16)} has invalid length ${blockLength}`,
            this.offset,
          );
        }
        const buffered =
          type === PCAPNG_SHB ||
          type === PCAPNG_IDB ||
          type === PCAPNG_EPB ||
          type === PCAPNG_SPB ||
          type === PCAPNG_OPB;
        if (!buffered) {
          if (avail >= blockLength) {
            pos += blockLength;
            this.offset += blockLength;
            continue;
          }
          this.skipStart = this.offset;
          this.skipLength = blockLength;
          this.skipRemaining = blockLength - avail;
          this.offset += avail;
          return end - start;
        }
        const limit =
          type === PCAPNG_SHB || type === PCAPNG_IDB ? MAX_DESCRIPTION_BLOCK_BYTES : MAX_PCAPNG_BLOCK_BYTES;
        if (blockLength > limit) {
          throw new CaptureFormatError(
            `corrupt pcapng block: block type 0x${type.toString(16)} claims ${blockLength} bytes (limit ${limit})`,
            this.offset,
          );
        }
        if (avail < blockLength) return this.stop(pos, start, blockLength);
        if (u32(b, pos + blockLength - 4, this.littleEndian) !== blockLength) {
          throw new CaptureFormatError(
            `corrupt pcapng block: trailing length does not match leading length ${blockLength}`,
            this.offset,
          );
        }
        this.readBlock(type, b, pos, blockLength);
        pos += blockLength;
        this.offset += blockLength;
      }
    }
  }

  private stop(pos: number, start: number, need: number): number {
    this.need = need;
    return pos - start;
  }

  /** Reads the file header; returns bytes consumed, or minus the bytes needed when `avail` is short. */
  private readMagic(b: Uint8Array, pos: number, avail: number): number {
    const magic = u32(b, pos, true);
    if (magic === PCAPNG_SHB) {
      this.format = 'pcapng';
      this.stage = 'pcapngBlock';
      return 0;
    }
    let le: boolean;
    let nano = false;
    let modified = false;
    switch (magic) {
      case 0xa1b2c3d4:
        le = true;
        break;
      case 0xd4c3b2a1:
        le = false;
        break;
      case 0xa1b23c4d:
        le = true;
        nano = true;
        break;
      case 0x4d3cb2a1:
        le = false;
        nano = true;
        break;
      case 0xa1b2cd34:
        le = true;
        modified = true;
        break;
      case 0x34cdb2a1:
        le = false;
        modified = true;
        break;
      default:
        throw new CaptureFormatError(
          `not a pcap or pcapng file: unknown magic number 0x${magic.toString(16).padStart(8, '0')}`,
          0,
        );
    }
    this.format = 'pcap';
    if (avail < 24) return -24;
    this.littleEndian = le;
    this.nanosecondResolution = nano;
    this.pcapRecordHeaderBytes = modified ? 24 : 16;
    // The upper bits of the link-type field carry FCS information, not the link type.
    this.pcapLinkType = u32(b, pos + 20, le) & 0xffff;
    this.stage = 'pcapRecord';
    return 24;
  }

  private readBlock(type: number, b: Uint8Array, pos: number, blockLength: number): void {
    const le = this.littleEndian;
    if (type === PCAPNG_SHB) {
      this.interfaces = [];
      return;
    }
    if (type === PCAPNG_IDB) {
      if (blockLength < 20) {
        throw new CaptureFormatError('corrupt pcapng interface description block: too short', this.offset);
      }
      const iface: PcapngInterface = {
        linkType: u16(b, pos + 8, le),
        snapLength: u32(b, pos + 12, le),
        unitsPerSecond: 1e6,
        offsetSeconds: 0,
      };
      this.readInterfaceOptions(iface, b, pos + 16, pos + blockLength - 4);
      this.interfaces.push(iface);
      return;
    }
    let interfaceId: number;
    let high = 0;
    let low = 0;
    let captured: number;
    let original: number;
    let dataStart: number;
    const bodyEnd = pos + blockLength - 4;
    if (type === PCAPNG_EPB || type === PCAPNG_OPB) {
      if (blockLength < 32) {
        throw new CaptureFormatError('corrupt pcapng packet block: too short', this.offset);
      }
      interfaceId = type === PCAPNG_EPB ? u32(b, pos + 8, le) : u16(b, pos + 8, le);
      high = u32(b, pos + 12, le);
      low = u32(b, pos + 16, le);
      captured = u32(b, pos + 20, le);
      original = u32(b, pos + 24, le);
      dataStart = pos + 28;
    } else {
      // Simple packet block: interface 0, no timestamp, captured length implied by the block and snap length.
      if (blockLength < 16) {
        throw new CaptureFormatError('corrupt pcapng simple packet block: too short', this.offset);
      }
      interfaceId = 0;
      original = u32(b, pos + 8, le);
      dataStart = pos + 12;
      const snap = this.interfaces[0]?.snapLength ?? 0;
      captured = Math.min(original, bodyEnd - dataStart, snap === 0 ? Infinity : snap);
    }
    const iface = this.interfaces[interfaceId];
    if (iface === undefined) {
      throw new CaptureFormatError(
        `corrupt pcapng packet block: interface ${interfaceId} was not described`,
        this.offset,
      );
    }
    if (dataStart + captured > bodyEnd) {
      throw new CaptureFormatError(
        `corrupt pcapng packet block: captured length ${captured} does not fit in a ${blockLength}-byte block`,
        this.offset,
      );
    }
    const p = this.packet;
    if (type === PCAPNG_SPB) {
      p.seconds = this.lastSeconds;
      p.nanoseconds = this.lastNanoseconds;
    } else {
      this.setTimestamp(p, high, low, iface);
      this.lastSeconds = p.seconds;
      this.lastNanoseconds = p.nanoseconds;
    }
    p.linkType = iface.linkType;
    p.data = b;
    p.offset = dataStart;
    p.capturedLength = captured;
    p.originalLength = original;
    this.packets++;
    this.onPacket(p);
  }

  private setTimestamp(p: RawPacket, high: number, low: number, iface: PcapngInterface): void {
    const units = iface.unitsPerSecond;
    const ticks = high * 4294967296 + low;
    if (ticks <= Number.MAX_SAFE_INTEGER) {
      const seconds = Math.floor(ticks / units);
      p.seconds = seconds + iface.offsetSeconds;
      p.nanoseconds = Math.floor(((ticks - seconds * units) * 1e9) / units);
    } else {
      // Nanosecond (or finer) clocks overflow a double's exact range: do this one in BigInt.
      const big = (BigInt(high) << 32n) | BigInt(low);
      const perSecond = BigInt(units);
      p.seconds = Number(big / perSecond) + iface.offsetSeconds;
      p.nanoseconds = Number(((big % perSecond) * 1_000_000_000n) / perSecond);
    }
  }

  private readInterfaceOptions(iface: PcapngInterface, b: Uint8Array, start: number, end: number): void {
    const le = this.littleEndian;
    let i = start;
    while (i + 4 <= end) {
      const code = u16(b, i, le);
      const length = u16(b, i + 2, le);
      const value = i + 4;
      if (code === 0 || value + length > end) return;
      if (code === 9 && length >= 1) {
        const r = b[value]!;
        iface.unitsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        if (!Number.isFinite(iface.unitsPerSecond) || iface.unitsPerSecond < 1) iface.unitsPerSecond = 1e6;
      } else if (code === 14 && length >= 8) {
        const hi = u32(b, le ? value + 4 : value, le) | 0;
        const lo = u32(b, le ? value : value + 4, le);
        iface.offsetSeconds = hi * 4294967296 + lo;
      }
      i = value + ((length + 3) & ~3);
    }
  }
}
