import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One row of tshark's `-z conv,...` table, in our endpoint format. */
export interface TsharkConversation {
  protocol: string;
  a: string;
  b: string;
  packetsAtoB: number;
  bytesAtoB: number;
  packetsBtoA: number;
  bytesBtoA: number;
}

/** What tshark says about a capture. */
export interface TsharkView {
  frames: number;
  bytes: number;
  /** `conv,tcp` and `conv,udp` rows, plus ICMP/ICMPv6 grouped by address pair from per-frame fields. */
  conversations: TsharkConversation[];
  /** `conv,ip` (IPv4 address pairs): frames from the table, bytes summed from the outer `ip.src`/`ip.dst`. */
  ipConversations: { pair: string; packets: number; bytes: number }[];
}

/** True when tshark can be run here. */
export async function hasTshark(): Promise<boolean> {
  try {
    await run('tshark', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** `addr:port` as tshark prints it (IPv6 unbracketed) to our `[addr]:port`. */
function endpoint(text: string, hasPort: boolean): string {
  if (!hasPort) return text;
  const colon = text.lastIndexOf(':');
  const address = text.slice(0, colon);
  return address.includes(':') ? `[${address}]:${text.slice(colon + 1)}` : text;
}

function parseConversations(
  output: string,
  section: string,
  protocol: string,
  hasPort: boolean,
  exactBytes = true,
): TsharkConversation[] {
  const start = output.indexOf(`${section} Conversations`);
  if (start < 0) return [];
  const end = output.indexOf('=====', start);
  const rows: TsharkConversation[] = [];
  for (const line of output.slice(start, end).split('\n')) {
    if (!line.includes('<->')) continue;
    const m = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+) (\S+)\s+(\d+)\s+(\d+) (\S+)\s+/.exec(line);
    if (m === null) throw new Error(`cannot parse tshark line: ${line}`);
    // tshark rounds sizes of 10 000 bytes and more to kB; fixtures are kept small enough to stay exact.
    if (exactBytes && (m[5] !== 'bytes' || m[8] !== 'bytes'))
      throw new Error(`tshark rounded a size, keep fixtures small: ${line}`);
    rows.push({
      protocol,
      a: endpoint(m[1]!, hasPort),
      b: endpoint(m[2]!, hasPort),
      packetsBtoA: Number(m[3]),
      bytesBtoA: Number(m[4]),
      packetsAtoB: Number(m[6]),
      bytesAtoB: Number(m[7]),
    });
  }
  return rows;
}

/** Runs tshark on `file` and returns its totals and conversation tables. */
export async function tsharkView(file: string): Promise<TsharkView> {
  // One run: per-frame fields first, then the conversation tables (tshark's start-up dominates its run time).
  const { stdout } = await run(
    'tshark',
    [
      '-r',
      file,
      '-n',
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-E',
      'occurrence=f',
      '-e',
      'frame.len',
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
      '-e',
      'ipv6.src',
      '-e',
      'ipv6.dst',
      '-e',
      'icmp.type',
      '-e',
      'icmpv6.type',
      '-z',
      'conv,tcp',
      '-z',
      'conv,udp',
      '-z',
      'conv,ip',
    ],
    { maxBuffer: 256 << 20 },
  );
  const tablesAt = stdout.indexOf('=====');
  const fields = { stdout: tablesAt < 0 ? stdout : stdout.slice(0, tablesAt) };
  const tables = { stdout: tablesAt < 0 ? '' : stdout.slice(tablesAt) };
  let frames = 0;
  let bytes = 0;
  const icmp = new Map<string, TsharkConversation>();
  const ipBytes = new Map<string, number>();
  for (const line of fields.stdout.split('\n')) {
    if (line === '') continue;
    const [len, ipSrc, ipDst, ip6Src, ip6Dst, icmpType, icmp6Type] = line.split('\t');
    const length = Number(len);
    frames++;
    bytes += length;
    if (ipSrc !== undefined && ipSrc !== '') {
      const pair = [ipSrc, ipDst].sort().join(' ');
      ipBytes.set(pair, (ipBytes.get(pair) ?? 0) + length);
    }
    const isIcmp = icmpType !== undefined && icmpType !== '';
    const isIcmp6 = icmp6Type !== undefined && icmp6Type !== '';
    if (!isIcmp && !isIcmp6) continue;
    const src = isIcmp ? ipSrc! : ip6Src!;
    const dst = isIcmp ? ipDst! : ip6Dst!;
    const protocol = isIcmp ? 'icmp' : 'icmpv6';
    const key = `${protocol}|${[src, dst].sort().join('|')}`;
    let c = icmp.get(key);
    if (c === undefined) {
      c = { protocol, a: src, b: dst, packetsAtoB: 0, bytesAtoB: 0, packetsBtoA: 0, bytesBtoA: 0 };
      icmp.set(key, c);
    }
    if (src === c.a) {
      c.packetsAtoB++;
      c.bytesAtoB += length;
    } else {
      c.packetsBtoA++;
      c.bytesBtoA += length;
    }
  }
  return {
    frames,
    bytes,
    conversations: [
      ...parseConversations(tables.stdout, 'TCP', 'tcp', true),
      ...parseConversations(tables.stdout, 'UDP', 'udp', true),
      ...icmp.values(),
    ],
    // tshark prints sizes of 10 000 bytes or more rounded to kB: frames come from its table, bytes from the fields.
    ipConversations: parseConversations(tables.stdout, 'IPv4', 'ip', false, false).map((c) => {
      const pair = [c.a, c.b].sort().join(' ');
      return { pair, packets: c.packetsAtoB + c.packetsBtoA, bytes: ipBytes.get(pair) ?? -1 };
    }),
  };
}

/** Sort key so two lists of conversations can be compared as multisets. */
export function conversationKey(c: TsharkConversation): string {
  return [c.protocol, c.a, c.b, c.packetsAtoB, c.bytesAtoB, c.packetsBtoA, c.bytesBtoA].join(' ');
}

/** Packets and original-length bytes of one TCP or UDP 5-tuple (both directions, every stream on it). */
export interface PortConversation {
  protocol: 'tcp' | 'udp';
  /** The two endpoints, sorted, in our format. */
  pair: string;
  packets: number;
  bytes: number;
}

/**
 * tshark's view of each TCP/UDP packet's own ports (`-T fields`), grouped by 5-tuple: unlike its `conv,tcp` table
 * it shows a segment whose options were cut by the snap length. ICMP errors (whose quoted headers carry ports)
 * are left out. Also counts the TCP/UDP frames whose headers were cut (frame.cap_len short of the headers).
 */
export async function tsharkPortView(
  file: string,
): Promise<{ conversations: PortConversation[]; headersCut: number }> {
  const fields = [
    'frame.len',
    'frame.cap_len',
    'ip.src',
    'ip.dst',
    'ipv6.src',
    'ipv6.dst',
    'tcp.srcport',
    'tcp.dstport',
    'udp.srcport',
    'udp.dstport',
    'icmp.type',
    'icmpv6.type',
    'ip.hdr_len',
    'tcp.hdr_len',
    'ip.proto',
    'ipv6.nxt',
  ];
  const { stdout } = await run(
    'tshark',
    [
      '-r',
      file,
      '-n',
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-E',
      'occurrence=f',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { maxBuffer: 256 << 20 },
  );
  const groups = new Map<string, PortConversation>();
  let headersCut = 0;
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const [
      len,
      capLen,
      ipSrc,
      ipDst,
      ip6Src,
      ip6Dst,
      tSrc,
      tDst,
      uSrc,
      uDst,
      icmp,
      icmp6,
      ipHdr,
      tcpHdr,
      proto4,
      proto6,
    ] = line.split('\t');
    const v6 = (ip6Src ?? '') !== '';
    // Ethernet (14) + IP header + transport header, against what was captured.
    const ipProto = Number((v6 ? proto6 : proto4) || -1);
    const need =
      14 + (v6 ? 40 : Number(ipHdr || 20)) + (ipProto === 6 ? Number(tcpHdr || 20) : ipProto === 17 ? 8 : 0);
    if (Number(capLen) < Number(len) && Number(capLen) < need && (ipSrc || ip6Src)) headersCut++;
    if ((icmp ?? '') !== '' || (icmp6 ?? '') !== '') continue;
    const src = v6 ? ip6Src! : ipSrc!;
    const dst = v6 ? ip6Dst! : ipDst!;
    if (src === '' || src === undefined) continue;
    const protocol = (tSrc ?? '') !== '' ? 'tcp' : (uSrc ?? '') !== '' ? 'udp' : undefined;
    if (protocol === undefined) continue;
    const sp = protocol === 'tcp' ? tSrc! : uSrc!;
    const dp = protocol === 'tcp' ? tDst! : uDst!;
    const ep = (a: string, p: string): string => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
    const pair = [ep(src, sp), ep(dst, dp)].sort().join(' ');
    const key = `${protocol} ${pair}`;
    const g = groups.get(key) ?? { protocol, pair, packets: 0, bytes: 0 };
    g.packets++;
    g.bytes += Number(len);
    groups.set(key, g);
  }
  return { conversations: [...groups.values()], headersCut };
}

/** Our TCP/UDP conversations grouped like {@link tsharkPortView}. */
export function ourPortView(
  conversations: readonly { protocol: string; a: string; b: string; packets: number; bytes: number }[],
): PortConversation[] {
  const groups = new Map<string, PortConversation>();
  for (const c of conversations) {
    if (c.protocol !== 'tcp' && c.protocol !== 'udp') continue;
    const pair = [c.a, c.b].sort().join(' ');
    const key = `${c.protocol} ${pair}`;
    const g = groups.get(key) ?? { protocol: c.protocol, pair, packets: 0, bytes: 0 };
    g.packets += c.packets;
    g.bytes += c.bytes;
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** Sort key for port conversations. */
export function portKey(c: PortConversation): string {
  return `${c.protocol} ${c.pair} ${c.packets} ${c.bytes}`;
}
