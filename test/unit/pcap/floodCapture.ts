/**
 * Streams large synthetic captures to disk for the memory-ceiling test and the benchmark: a SYN flood from a
 * million sources holding a few heavy flows, and a capture with many small conversations. Ethernet/IPv4 pcap,
 * deterministic (fixed seeds), written in 4 MiB chunks so the generator itself stays small.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { createPrng } from '../../emulator/traffic/createPrng.js';

const CHUNK_BYTES = 4 << 20;
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const RST = 0x04;

/** Deterministic pseudo-random numbers in [0, 1): the emulator's mulberry32 generator, so files are the same everywhere. */
export function random(seed: number): () => number {
  const prng = createPrng(seed);
  return () => prng.next();
}

/** One frame to write. */
interface Frame {
  time: number;
  src: number;
  dst: number;
  proto: 6 | 17;
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  payload: number;
}

/** Writes frames as pcap records to `path` (through `path.part`, renamed when complete). */
async function writeFrames(path: string, frames: Iterable<Frame>): Promise<void> {
  const partial = `${path}.part`;
  const out = createWriteStream(partial);
  let chunk = Buffer.alloc(CHUNK_BYTES);
  chunk.writeUInt32LE(0xa1b2c3d4, 0);
  chunk.writeUInt16LE(2, 4);
  chunk.writeUInt16LE(4, 6);
  chunk.writeUInt32LE(262144, 16);
  chunk.writeUInt32LE(1, 20);
  let p = 24;
  for (const f of frames) {
    const l4 = f.proto === 6 ? 20 : 8;
    const ipLength = 20 + l4 + f.payload;
    const frame = 14 + ipLength;
    if (p + 16 + frame > CHUNK_BYTES) {
      if (!out.write(chunk.subarray(0, p))) await once(out, 'drain');
      chunk = Buffer.alloc(CHUNK_BYTES);
      p = 0;
    }
    const micros = Math.round(f.time * 1e6);
    chunk.writeUInt32LE(Math.floor(micros / 1e6), p);
    chunk.writeUInt32LE(micros % 1e6, p + 4);
    chunk.writeUInt32LE(frame, p + 8);
    chunk.writeUInt32LE(frame, p + 12);
    const e = p + 16;
    chunk[e + 5] = 1;
    chunk[e + 11] = 2;
    chunk.writeUInt16BE(0x0800, e + 12);
    const ip = e + 14;
    chunk[ip] = 0x45;
    chunk.writeUInt16BE(ipLength, ip + 2);
    chunk[ip + 8] = 64;
    chunk[ip + 9] = f.proto;
    chunk.writeUInt32BE(f.src >>> 0, ip + 12);
    chunk.writeUInt32BE(f.dst >>> 0, ip + 16);
    const t = ip + 20;
    chunk.writeUInt16BE(f.sport, t);
    chunk.writeUInt16BE(f.dport, t + 2);
    if (f.proto === 6) {
      chunk.writeUInt32BE((f.seq ?? 0) >>> 0, t + 4);
      chunk.writeUInt32BE((f.ack ?? 0) >>> 0, t + 8);
      chunk[t + 12] = 0x50;
      chunk[t + 13] = f.flags ?? 0;
      chunk.writeUInt16BE(65535, t + 14);
    } else {
      chunk.writeUInt16BE(8 + f.payload, t + 4);
    }
    p += 16 + frame;
  }
  out.write(chunk.subarray(0, p));
  out.end();
  await once(out, 'finish');
  await rename(partial, path);
}

/** What a flood capture holds, for checking a summary of it. */
export interface FloodTruth {
  floodSources: number;
  target: string;
  /** The heavy flows, `a` being the client. */
  heavy: { a: string; b: string; packets: number; bytes: number }[];
  conversations: number;
}

const ip = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/**
 * A SYN flood: `sources` distinct addresses each send one SYN to 10.0.0.5:80 (never answered), interleaved with
 * `heavy` established flows (handshake, then `heavyPackets` data segments of 1000 bytes each way), which start
 * spread over the flood (the last ones after the conversation table has filled).
 */
export async function writeSynFlood(
  path: string,
  sources: number,
  heavy = 5,
  heavyPackets = 4000,
): Promise<FloodTruth> {
  const rand = random(7);
  const target = 0x0a000005;
  const flows = Array.from({ length: heavy }, (_, i) => ({
    client: (0xc0a80001 + i) >>> 0,
    server: (0x0a000100 + i) >>> 0,
    clientPort: 50000 + i,
    start: Math.floor((i * sources) / (heavy + 1)),
    sent: 0,
    packets: 0,
    bytes: 0,
    seqC: 1000 * (i + 1),
    seqS: 900000 * (i + 1),
  }));
  const total = heavyPackets + 3;
  function* frames(): Generator<Frame> {
    let time = 1_700_000_000;
    for (let i = 0; i < sources; i++) {
      time += 0.00002;
      const src = (0x0b000000 + i * 13 + 1) >>> 0; // distinct, spread over 11.0.0.0/8
      yield {
        time,
        src,
        dst: target,
        proto: 6,
        sport: 1024 + Math.floor(rand() * 64000),
        dport: 80,
        seq: Math.floor(rand() * 0xffffffff),
        flags: SYN,
        payload: 0,
      };
      for (const f of flows) {
        // Each heavy flow sends its packets evenly over the rest of the flood once started.
        if (i < f.start || f.sent >= total) continue;
        const due = Math.ceil(((i - f.start + 1) * total) / (sources - f.start));
        while (f.sent < due && f.sent < total) {
          const step = f.sent++;
          const fromClient = step === 0 || step === 2 || (step > 2 && step % 2 === 1);
          const payload = step < 3 ? 0 : 1000;
          const flags = step === 0 ? SYN : step === 1 ? SYN | ACK : step === 2 ? ACK : PSH | ACK;
          const frame: Frame = {
            time,
            src: fromClient ? f.client : f.server,
            dst: fromClient ? f.server : f.client,
            proto: 6,
            sport: fromClient ? f.clientPort : 443,
            dport: fromClient ? 443 : f.clientPort,
            seq: fromClient ? f.seqC : f.seqS,
            ack: fromClient ? f.seqS : f.seqC,
            flags,
            payload,
          };
          if (step <= 1) {
            if (fromClient) f.seqC++;
            else f.seqS++;
          } else if (fromClient) f.seqC += payload;
          else f.seqS += payload;
          f.packets++;
          f.bytes += 14 + 20 + 20 + payload;
          yield frame;
        }
      }
    }
  }
  await writeFrames(path, frames());
  return {
    floodSources: sources,
    target: `${ip(target)}:80`,
    heavy: flows.map((f) => ({
      a: `${ip(f.client)}:${f.clientPort}`,
      b: `${ip(f.server)}:443`,
      packets: f.packets,
      bytes: f.bytes,
    })),
    conversations: sources + heavy,
  };
}

/**
 * Many small conversations: `tcpConversations` short TCP exchanges (SYN, SYN-ACK, RST) and `udpConversations`
 * single datagrams, interleaved: 3 × tcp + udp packets in all.
 */
export async function writeManyConversations(
  path: string,
  tcpConversations: number,
  udpConversations: number,
): Promise<void> {
  const rand = random(11);
  function* frames(): Generator<Frame> {
    let time = 1_700_000_000;
    let tcp = 0;
    let udp = 0;
    const open: { c: number; s: number; cp: number; step: number; seq: number }[] = [];
    while (tcp < tcpConversations || udp < udpConversations || open.length > 0) {
      time += 0.00001;
      const r = rand();
      if (udp < udpConversations && (r < 0.4 || (tcp >= tcpConversations && open.length === 0))) {
        udp++;
        yield {
          time,
          src: (0x0a100000 + udp) >>> 0,
          dst: 0x0a000035,
          proto: 17,
          sport: 1024 + (udp % 60000),
          dport: 53,
          payload: 40 + Math.floor(rand() * 100),
        };
        continue;
      }
      if (tcp < tcpConversations && (open.length < 64 || rand() < 0.3)) {
        tcp++;
        open.push({
          c: (0x0a200000 + tcp) >>> 0,
          s: 0xac100001,
          cp: 1024 + (tcp % 60000),
          step: 0,
          seq: Math.floor(rand() * 0xffffffff),
        });
      }
      if (open.length === 0) continue;
      const index = Math.floor(rand() * open.length);
      const o = open[index]!;
      const fromClient = o.step !== 1;
      yield {
        time,
        src: fromClient ? o.c : o.s,
        dst: fromClient ? o.s : o.c,
        proto: 6,
        sport: fromClient ? o.cp : 443,
        dport: fromClient ? 443 : o.cp,
        seq: fromClient ? o.seq + (o.step === 0 ? 0 : 1) : 77,
        ack: fromClient ? 78 : o.seq + 1,
        flags: o.step === 0 ? SYN : o.step === 1 ? SYN | ACK : RST | ACK,
        payload: 0,
      };
      o.step++;
      if (o.step === 3) {
        open[index] = open[open.length - 1]!;
        open.pop();
      }
    }
  }
  await writeFrames(path, frames());
}
