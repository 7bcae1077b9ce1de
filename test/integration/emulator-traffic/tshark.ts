import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** tshark prints this to stderr whenever it runs as root; it says nothing about the file. */
const ROOT_NOTICE = /^Running as user "root" and group "root"\. This could be dangerous\.\n?/m;

/** What tshark printed. */
export interface TsharkOutput {
  stdout: string;
  /** stderr without the running-as-root notice. */
  stderr: string;
  status: number | null;
}

/** Runs tshark with `args` and returns its output. */
export function tshark(args: readonly string[]): TsharkOutput {
  const result = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr.replace(ROOT_NOTICE, ''), status: result.status };
}

/** Makes tshark verify every checksum it can (it does not by default). */
export const CHECKSUM_PREFS: readonly string[] = [
  '-o',
  'tcp.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
  '-o',
  'ip.check_checksum:TRUE',
];

/**
 * Reads `fields` of every frame of `file` (optionally only frames matching `displayFilter`), one array per frame,
 * with checksum verification on. A field that occurs several times in a frame has its values joined with `|`.
 */
export function tsharkFields(file: string, fields: readonly string[], displayFilter?: string): string[][] {
  const args = [
    '-r',
    file,
    ...CHECKSUM_PREFS,
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-E',
    'aggregator=|',
    ...fields.flatMap((f) => ['-e', f]),
  ];
  if (displayFilter !== undefined) args.push('-Y', displayFilter);
  const out = tshark(args);
  if (out.status !== 0 || out.stderr !== '') throw new Error(`tshark failed (${out.status}): ${out.stderr}`);
  return out.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t'));
}

/** One frame as tshark decoded it. Numbers are `undefined` when the field is absent. */
export interface Frame {
  time: number;
  len: number;
  capLen: number;
  ethDst: string;
  src: string;
  dst: string;
  /** 1 ICMP, 6 TCP, 17 UDP. */
  proto: number;
  ttl: number;
  df: boolean;
  /** TCP or UDP ports. */
  srcPort?: number;
  dstPort?: number;
  tcpStream?: number;
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  tcpLen?: number;
  mss?: number;
  icmpType?: number;
  /** `1` = good, `0` bad, `2` unverified, `''` absent, for IPv4, TCP, UDP and ICMP. */
  checksums: string[];
  dnsA: string[];
  ntpMode?: number;
  /** Every expert message tshark attached to the frame. */
  expert: string;
}

const FRAME_FIELDS = [
  'frame.time_epoch',
  'frame.len',
  'frame.cap_len',
  'eth.dst',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.ttl',
  'ip.flags.df',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'tcp.stream',
  'tcp.flags.syn',
  'tcp.flags.ack',
  'tcp.flags.fin',
  'tcp.flags.reset',
  'tcp.len',
  'tcp.options.mss_val',
  'icmp.type',
  'ip.checksum.status',
  'tcp.checksum.status',
  'udp.checksum.status',
  'icmp.checksum.status',
  'dns.a',
  'ntp.flags.mode',
  '_ws.expert.message',
] as const;

const num = (s: string | undefined): number | undefined =>
  s === undefined || s === '' ? undefined : Number(s);
const flag = (s: string | undefined): boolean => s === '1' || s === 'True';

/** Decodes every frame of `file` with tshark, in one run. */
export function readFrames(file: string): Frame[] {
  return tsharkFields(file, FRAME_FIELDS).map((r) => ({
    time: Number(r[0]),
    len: Number(r[1]),
    capLen: Number(r[2]),
    ethDst: r[3] ?? '',
    src: r[4] ?? '',
    dst: r[5] ?? '',
    proto: Number(r[6]),
    ttl: Number(r[7]),
    df: flag(r[8]),
    srcPort: num(r[9]) ?? num(r[11]),
    dstPort: num(r[10]) ?? num(r[12]),
    tcpStream: num(r[13]),
    syn: flag(r[14]),
    ack: flag(r[15]),
    fin: flag(r[16]),
    rst: flag(r[17]),
    tcpLen: num(r[18]),
    mss: num(r[19]),
    icmpType: num(r[20]),
    checksums: [r[21] ?? '', r[22] ?? '', r[23] ?? '', r[24] ?? ''],
    dnsA: (r[25] ?? '').split('|').filter(Boolean),
    ntpMode: num(r[26]),
    expert: r[27] ?? '',
  }));
}

/** A temp dir for capture files, removed by `remove()`. */
export function captureDir(): { write(name: string, file: Buffer): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-traffic-'));
  return {
    write(name, file) {
      const path = join(dir, name);
      writeFileSync(path, file);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
