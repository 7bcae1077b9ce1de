import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import dgram from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { summarizeBuffer } from '../../../src/pcap/summarizeStream.js';

const run = promisify(execFile);

/** True when tcpdump can capture here (installed and allowed). */
export async function canCapture(): Promise<boolean> {
  try {
    await run('tcpdump', ['--version']);
    return typeof process.getuid === 'function' && process.getuid() === 0;
  } catch {
    return false;
  }
}

async function listen(server: net.Server, host: string): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function ipv6Available(): Promise<boolean> {
  const probe = net.createServer();
  try {
    await listen(probe, '::1');
    return true;
  } catch {
    return false;
  } finally {
    probe.close();
  }
}

function startTcpdump(args: string[]): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${stderr}`)));
  });
  return { child, ready };
}

/** One TCP exchange with a clean close (FIN both ways). */
async function cleanExchange(host: string, port: number, message: string): Promise<void> {
  const socket = net.connect(port, host);
  await once(socket, 'connect');
  socket.write(message);
  await once(socket, 'data');
  socket.end();
  await once(socket, 'close');
}

/** One TCP exchange ended by a reset from the client. */
async function resetExchange(host: string, port: number): Promise<void> {
  const socket = net.connect(port, host);
  await once(socket, 'connect');
  socket.write('reset me');
  await once(socket, 'data');
  socket.resetAndDestroy();
  await once(socket, 'close');
}

async function sendUdp(type: 'udp4' | 'udp6', host: string, port: number, payloads: Buffer[]): Promise<void> {
  const socket = dgram.createSocket(type);
  socket.on('error', () => undefined); // ICMP port unreachable comes back as ECONNREFUSED on some stacks
  for (const p of payloads) {
    await new Promise<void>((resolve, reject) =>
      socket.send(p, port, host, (e) => (e ? reject(e) : resolve())),
    );
  }
  socket.close();
}

/** Waits until tcpdump has written the sentinel datagram, so nothing sent before it is still in flight. */
async function waitForSentinel(file: string, port: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const summary = summarizeBuffer(await readFile(file).catch(() => Buffer.alloc(0)));
    if (summary.conversations.some((c) => c.protocol === 'udp' && c.b.endsWith(`:${port}`))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`tcpdump never wrote the sentinel datagram to ${file}`);
}

/** Files made by {@link captureLoopback}. */
export interface LoopbackCaptures {
  /** Ethernet (loopback) pcap, microseconds. */
  ethernet: string;
  /** `tcpdump -i any` captures in Linux cooked v2 and v1. */
  sll2: string;
  sll: string;
  tcpPort: number;
  udpPort: number;
  closedUdpPort: number;
  ipv6: boolean;
}

/**
 * Captures real loopback traffic with tcpdump: TCP with a clean close and with a reset, a refused TCP connection,
 * UDP datagrams (one of them to a closed port, which brings back ICMP port unreachable), and the same over ::1 when
 * IPv6 is available. Each conversation stays under 10 000 bytes so tshark's tables print exact sizes.
 */
export async function captureLoopback(dir: string): Promise<LoopbackCaptures> {
  const ipv6 = await ipv6Available();
  const echo = (socket: net.Socket): void => {
    socket.on('error', () => undefined);
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
  };
  const server4 = net.createServer(echo);
  const tcpPort = await listen(server4, '127.0.0.1');
  const server6 = ipv6 ? net.createServer(echo) : undefined;
  if (server6 !== undefined) {
    server6.listen(tcpPort, '::1');
    await once(server6, 'listening');
  }
  const closed = net.createServer();
  const closedTcpPort = await listen(closed, '127.0.0.1');
  closed.close();
  const udp = dgram.createSocket('udp4');
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const udpPort = udp.address().port;
  udp.on('message', (msg, rinfo) => udp.send(msg.subarray(0, 16), rinfo.port, rinfo.address));
  const closedUdpPort = udpPort === 65535 ? udpPort - 1 : udpPort + 1;

  const filter =
    `tcp port ${tcpPort} or tcp port ${closedTcpPort} or udp port ${udpPort} or udp port ${closedUdpPort}` +
    ` or icmp or icmp6`;
  const files = {
    ethernet: join(dir, 'lo.pcap'),
    sll2: join(dir, 'any-sll2.pcap'),
    sll: join(dir, 'any-sll.pcap'),
  };
  const dumps = [
    startTcpdump(['-i', 'lo', '-U', '-n', '-w', files.ethernet, filter]),
    startTcpdump(['-i', 'any', '-y', 'LINUX_SLL2', '-U', '-n', '-w', files.sll2, filter]),
    startTcpdump(['-i', 'any', '-y', 'LINUX_SLL', '-U', '-n', '-w', files.sll, filter]),
  ];
  try {
    await Promise.all(dumps.map((d) => d.ready));
    await cleanExchange('127.0.0.1', tcpPort, 'hello over IPv4');
    await resetExchange('127.0.0.1', tcpPort);
    await cleanExchange('127.0.0.1', tcpPort, 'x'.repeat(3000));
    const refused = net.connect(closedTcpPort, '127.0.0.1');
    await once(refused, 'error');
    await sendUdp('udp4', '127.0.0.1', udpPort, [
      Buffer.alloc(100, 1),
      Buffer.alloc(1200, 2),
      Buffer.alloc(10, 3),
    ]);
    await sendUdp('udp4', '127.0.0.1', closedUdpPort, [Buffer.from('nobody home')]);
    if (ipv6) {
      await cleanExchange('::1', tcpPort, 'hello over IPv6');
      await sendUdp('udp6', '::1', closedUdpPort, [Buffer.from('nobody home v6')]);
    }
    // Sentinel: once every capture holds it, everything sent before it has been written.
    await sendUdp('udp4', '127.0.0.1', udpPort, [Buffer.from('sentinel')]);
    for (const file of Object.values(files)) await waitForSentinel(file, udpPort);
  } finally {
    for (const d of dumps) {
      if (d.child.exitCode === null) {
        d.child.kill('SIGINT');
        await once(d.child, 'exit');
      }
    }
    server4.close();
    server6?.close();
    udp.close();
  }
  return { ...files, tcpPort, udpPort, closedUdpPort, ipv6 };
}

/** Rewrites a little-endian classic pcap as big-endian (what a capture from a SPARC or PowerPC host looks like). */
export async function toBigEndianPcap(input: string, output: string): Promise<void> {
  const b = await readFile(input);
  const out = Buffer.from(b);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4 && b.readUInt32LE(0) !== 0xa1b23c4d) {
    throw new Error(`${input} is not a little-endian pcap`);
  }
  out.writeUInt32BE(b.readUInt32LE(0), 0);
  out.writeUInt16BE(b.readUInt16LE(4), 4);
  out.writeUInt16BE(b.readUInt16LE(6), 6);
  for (const o of [8, 12, 16, 20]) out.writeUInt32BE(b.readUInt32LE(o), o);
  let pos = 24;
  while (pos + 16 <= b.length) {
    for (const o of [0, 4, 8, 12]) out.writeUInt32BE(b.readUInt32LE(pos + o), pos + o);
    pos += 16 + b.readUInt32LE(pos + 8);
  }
  await writeFile(output, out);
}

/** Runs editcap (or mergecap) with the given arguments. */
export async function editcap(args: string[], tool: 'editcap' | 'mergecap' = 'editcap'): Promise<void> {
  await run(tool, args);
}
