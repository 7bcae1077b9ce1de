import type { ConnState } from './types.js';

/**
 * Per-side TCP states, as Zeek's TCP analyzer names them (`TCP_INACTIVE`, `TCP_SYN_SENT`, ...): the input of
 * Zeek's `conn_state` (base/protocols/conn/main.zeek).
 */
export const INACTIVE = 0;
export const SYN_SENT = 1;
export const SYN_ACK_SENT = 2;
export const PARTIAL = 3;
export const ESTABLISHED = 4;
export const CLOSED = 5;
export const RESET = 6;

/** History letters, originator's form; the responder's are lower case. */
const HISTORY = 'SHADFRTW';
export const H_SYN = 0;
export const H_SYNACK = 1;
export const H_ACK = 2;
export const H_DATA = 3;
export const H_FIN = 4;
export const H_RST = 5;
export const H_RETRANSMIT = 6;
export const H_ZERO_WINDOW = 7;

/** Zeek's RSTOS0 test on the history: a SYN, then a RST, with no SYN-ACK, ACK or FIN from the originator between. */
const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R/;

/**
 * State of one conversation; a class so the hot path keeps one object shape, reused when its table slot changes
 * hands. Side A (the originator, in Zeek's words) is the sender of the first packet seen, or its receiver when
 * that packet is a SYN-ACK.
 */
export class Conversation {
  ipVersion = 4;
  proto = 0;
  hasPorts = false;
  readonly aAddress = new Uint32Array(4);
  readonly bAddress = new Uint32Array(4);
  aPort = 0;
  bPort = 0;
  /** True when side A is the lower endpoint of the table key. */
  aIsLow = true;
  /** False when the conversation may have been counted before (it left the full table and came back). */
  exact = true;
  packetsAtoB = 0;
  bytesAtoB = 0;
  packetsBtoA = 0;
  bytesBtoA = 0;
  firstSeconds = 0;
  firstNanoseconds = 0;
  firstTime = Infinity;
  lastSeconds = 0;
  lastNanoseconds = 0;
  lastTime = -Infinity;
  syn = 0;
  fin = 0;
  rst = 0;
  retransmissions = 0;
  zeroWindows = 0;
  stateA = INACTIVE;
  stateB = INACTIVE;
  payloadA = 0;
  payloadB = 0;
  historyBits = 0;
  history = '';
  synTime = -1;
  rttMs = -1;
  /** TCP base sequence numbers per side (as tshark keeps them, for stream splitting); bit 1 A, bit 2 B. */
  baseSeqA = 0;
  baseSeqB = 0;
  baseSeqSet = 0;
  nextSeqA = 0;
  nextSeqB = 0;
  nextSeqSet = 0;
  lastAckA = 0;
  lastAckB = 0;
  lastAckSet = 0;

  /** Prepares the object for a new conversation. */
  reset(ipVersion: number, proto: number, aIsLow: boolean): void {
    this.ipVersion = ipVersion;
    this.proto = proto;
    this.hasPorts = proto === 6 || proto === 17;
    this.aIsLow = aIsLow;
    this.exact = true;
    this.packetsAtoB = this.bytesAtoB = this.packetsBtoA = this.bytesBtoA = 0;
    this.firstTime = Infinity;
    this.lastTime = -Infinity;
    this.syn = this.fin = this.rst = this.retransmissions = this.zeroWindows = 0;
    this.stateA = this.stateB = INACTIVE;
    this.payloadA = this.payloadB = 0;
    this.historyBits = 0;
    this.history = '';
    this.synTime = this.rttMs = -1;
    this.baseSeqSet = this.nextSeqSet = this.lastAckSet = 0;
  }

  get packets(): number {
    return this.packetsAtoB + this.packetsBtoA;
  }

  get bytes(): number {
    return this.bytesAtoB + this.bytesBtoA;
  }

  /** Records a history event the first time it happens on a side. */
  mark(event: number, fromA: boolean): void {
    const bit = 1 << (event + (fromA ? 0 : 8));
    if (this.historyBits & bit) return;
    this.historyBits |= bit;
    const letter = HISTORY[event]!;
    this.history += fromA ? letter : letter.toLowerCase();
  }

  /** Zeek's `conn_state` for TCP and UDP, from the per-side states; undefined for other protocols. */
  connState(): ConnState | undefined {
    if (this.proto === 17) {
      const a = this.packetsAtoB > 0;
      const b = this.packetsBtoA > 0;
      return a ? (b ? 'SF' : 'S0') : b ? 'SHR' : 'OTH';
    }
    if (this.proto !== 6) return undefined;
    const os = this.stateA;
    const rs = this.stateB;
    const oInactive = os === INACTIVE || os === PARTIAL;
    const rInactive = rs === INACTIVE || rs === PARTIAL;
    if (rs === RESET) {
      if (
        os === SYN_SENT ||
        os === SYN_ACK_SENT ||
        (os === RESET && this.payloadA === 0 && this.payloadB === 0)
      )
        return 'REJ';
      return oInactive ? 'RSTRH' : 'RSTR';
    }
    if (os === RESET) {
      if (rInactive) return RSTOS0_HISTORY.test(this.history) ? 'RSTOS0' : 'OTH';
      return 'RSTO';
    }
    if (rs === CLOSED && os === CLOSED) return 'SF';
    if (os === CLOSED) return rInactive ? 'SH' : 'S2';
    if (rs === CLOSED) return oInactive ? 'SHR' : 'S3';
    if (os === SYN_SENT && rs === INACTIVE) return 'S0';
    if (os === ESTABLISHED && rs === ESTABLISHED) return 'S1';
    return 'OTH';
  }
}
