import type { PacketSpec } from './buildFrame.js';
import { TCP_FLAGS } from './buildFrame.js';
import type { Prng } from './createPrng.js';

/** One end of a TCP connection. */
interface Side {
  ip: number;
  port: number;
  ttl: number;
  isVm: boolean;
  /** Next sequence number this side sends. */
  seq: number;
  ipId: number;
  mss: number;
  /** Window field after the handshake (scaled). */
  window: number;
  synWindow: number;
  windowScale: number;
  /** Bytes received and not yet acknowledged. */
  unacked: number;
}

/** How a {@link TcpFlow} is set up. */
export interface TcpFlowOptions {
  vmIp: number;
  vmPort: number;
  remoteIp: number;
  remotePort: number;
  remoteTtl: number;
  remoteMss: number;
  /** True when the VM opens the connection. */
  vmIsClient: boolean;
  rttUs: number;
  startUs: number;
}

/**
 * Plays one TCP connection as a VM-side capture sees it: correct seq/ack progression, SYN options, delayed ACKs,
 * and timing where a packet from the remote side arrives one round trip after what the VM sent.
 */
export class TcpFlow {
  /** Time of the last packet, microseconds from the capture start. */
  timeUs: number;
  private readonly vm: Side;
  private readonly remote: Side;
  private readonly client: Side;
  private readonly server: Side;
  private lastFromVm: boolean | undefined;

  constructor(
    private readonly out: PacketSpec[],
    private readonly prng: Prng,
    private readonly options: TcpFlowOptions,
  ) {
    this.timeUs = options.startUs;
    this.vm = {
      ip: options.vmIp,
      port: options.vmPort,
      ttl: 64,
      isVm: true,
      seq: prng.int(0, 0xffffffff),
      ipId: prng.int(0, 0xffff),
      mss: 1460,
      window: 502,
      synWindow: 64240,
      windowScale: 7,
      unacked: 0,
    };
    this.remote = {
      ip: options.remoteIp,
      port: options.remotePort,
      ttl: options.remoteTtl,
      isVm: false,
      seq: prng.int(0, 0xffffffff),
      ipId: prng.int(0, 0xffff),
      mss: options.remoteMss,
      window: prng.pick([1026, 2048, 501, 16_383]),
      synWindow: prng.pick([65535, 64240, 29200]),
      windowScale: prng.pick([7, 8, 9]),
      unacked: 0,
    };
    this.client = options.vmIsClient ? this.vm : this.remote;
    this.server = options.vmIsClient ? this.remote : this.vm;
  }

  /** SYN, SYN-ACK, ACK. */
  connect(): this {
    this.emit(this.client, TCP_FLAGS.SYN, Buffer.alloc(0), { syn: true });
    this.emit(this.server, TCP_FLAGS.SYN | TCP_FLAGS.ACK, Buffer.alloc(0), { syn: true });
    this.emit(this.client, TCP_FLAGS.ACK, Buffer.alloc(0));
    return this;
  }

  /** SYN answered by RST-ACK: nothing listens on the server's port. */
  refused(): this {
    this.emit(this.client, TCP_FLAGS.SYN, Buffer.alloc(0), { syn: true });
    this.emit(this.server, TCP_FLAGS.RST | TCP_FLAGS.ACK, Buffer.alloc(0), { seqOverride: 0 });
    return this;
  }

  /** A SYN that nobody answers, retransmitted after each of `retransmitDelaysUs` (the retransmissions stay in `out` only while they fit before `endUs`). */
  unanswered(retransmitDelaysUs: readonly number[], endUs: number): this {
    const isn = this.client.seq;
    this.emit(this.client, TCP_FLAGS.SYN, Buffer.alloc(0), { syn: true });
    for (const delay of retransmitDelaysUs) {
      if (this.timeUs + delay >= endUs) break;
      this.client.seq = isn;
      this.emit(this.client, TCP_FLAGS.SYN, Buffer.alloc(0), {
        syn: true,
        extraDelayUs: delay,
        exactDelay: true,
      });
    }
    return this;
  }

  /**
   * Sends `data` from the client (`fromClient`) or the server, cut into MSS-sized segments with PSH on the last;
   * the receiver ACKs every second full segment and, after a delayed-ACK pause, whatever is left.
   */
  send(fromClient: boolean, data: Buffer, thinkTimeUs = 0): this {
    const from = fromClient ? this.client : this.server;
    const to = fromClient ? this.server : this.client;
    const mss = Math.min(from.mss, to.mss);
    for (let offset = 0; offset < data.length; offset += mss) {
      const chunk = data.subarray(offset, offset + mss);
      const last = offset + mss >= data.length;
      this.emit(from, TCP_FLAGS.ACK | (last ? TCP_FLAGS.PSH : 0), chunk, {
        extraDelayUs: offset === 0 ? thinkTimeUs : 0,
      });
      to.unacked += 1;
      if (to.unacked >= 2) this.emit(to, TCP_FLAGS.ACK, Buffer.alloc(0));
    }
    if (to.unacked > 0)
      this.emit(to, TCP_FLAGS.ACK, Buffer.alloc(0), { extraDelayUs: this.prng.int(200, 40_000) });
    return this;
  }

  /** FIN from the client (`fromClient`) or server, the other side's FIN, and the last ACK. */
  close(fromClient: boolean, idleUs = 0): this {
    const first = fromClient ? this.client : this.server;
    const second = fromClient ? this.server : this.client;
    this.emit(first, TCP_FLAGS.FIN | TCP_FLAGS.ACK, Buffer.alloc(0), { extraDelayUs: idleUs });
    first.seq = (first.seq + 1) >>> 0;
    this.emit(second, TCP_FLAGS.FIN | TCP_FLAGS.ACK, Buffer.alloc(0));
    second.seq = (second.seq + 1) >>> 0;
    this.emit(first, TCP_FLAGS.ACK, Buffer.alloc(0));
    return this;
  }

  /** An abortive close: RST-ACK from the client (`fromClient`) or server. */
  reset(fromClient: boolean, idleUs = 0): this {
    this.emit(fromClient ? this.client : this.server, TCP_FLAGS.RST | TCP_FLAGS.ACK, Buffer.alloc(0), {
      extraDelayUs: idleUs,
    });
    return this;
  }

  private emit(
    from: Side,
    flags: number,
    payload: Buffer,
    opts: { syn?: boolean; extraDelayUs?: number; exactDelay?: boolean; seqOverride?: number } = {},
  ): void {
    const to = from === this.vm ? this.remote : this.vm;
    if (this.lastFromVm !== undefined) {
      let gap: number;
      if (opts.exactDelay === true) gap = 0;
      else if (this.lastFromVm === from.isVm) gap = this.prng.int(8, 90);
      // The VM answers a packet it just received within microseconds; the remote's answer takes a round trip.
      else
        gap = from.isVm
          ? this.prng.int(20, 250)
          : this.options.rttUs + this.prng.int(0, this.options.rttUs >> 3);
      this.timeUs += gap + (opts.extraDelayUs ?? 0);
    }
    this.lastFromVm = from.isVm;
    const ackSet = (flags & TCP_FLAGS.ACK) !== 0;
    this.out.push({
      timeUs: this.timeUs,
      outbound: from.isVm,
      srcIp: from.ip,
      dstIp: to.ip,
      ttl: from.ttl,
      ipId: from.ipId,
      // Both stacks do path MTU discovery, so every segment carries DF.
      dontFragment: true,
      transport: {
        kind: 'TCP',
        srcPort: from.port,
        dstPort: to.port,
        seq: opts.seqOverride ?? from.seq,
        ack: ackSet ? to.seq : 0,
        flags,
        window: opts.syn === true ? from.synWindow : (flags & TCP_FLAGS.RST) !== 0 ? 0 : from.window,
        options: opts.syn === true ? synOptions(from) : Buffer.alloc(0),
        payload,
      },
    });
    from.ipId = (from.ipId + 1) & 0xffff;
    from.seq = (from.seq + payload.length + (opts.syn === true ? 1 : 0)) >>> 0;
    if (ackSet) from.unacked = 0;
  }
}

/** MSS, NOP, window scale, NOP, NOP, SACK permitted: 12 bytes, a multiple of 4 as the data offset needs. */
function synOptions(side: Side): Buffer {
  const options = Buffer.from([2, 4, 0, 0, 1, 3, 3, side.windowScale, 1, 1, 4, 2]);
  options.writeUInt16BE(side.mss, 2);
  return options;
}
