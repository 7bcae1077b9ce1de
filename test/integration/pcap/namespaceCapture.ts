import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { summarizeBuffer } from '../../../src/pcap/summarizeStream.js';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));

/** Addresses and ports of the namespace lab. */
export const LAB = {
  client: '10.213.1.1',
  router: '10.213.1.2',
  server: '10.213.2.2',
  echoPort: 7000,
  stuckPort: 7001,
  closedPort: 7002,
  droppedPort: 7003,
  closedUdpPort: 7100,
  sentinelPort: 9,
  /** MTU between router and server, below the client's 1500: big datagrams bring back "fragmentation needed". */
  narrowMtu: 1280,
} as const;

/**
 * Why network namespaces cannot be used here, or undefined when they can: root, `ip netns`, veth pairs and
 * policy-routing rules are all needed. (`tc netem` would be the usual way to lose packets; this kernel has no
 * sch_netem and no loadable modules, so losses are made with `ip rule ... blackhole` instead.)
 */
export async function namespaceProblem(): Promise<string | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not running as root';
  const probe = `ac11probe${process.pid}`;
  try {
    await run('tcpdump', ['--version']);
  } catch {
    return 'tcpdump is not installed';
  }
  try {
    await run('ip', ['netns', 'add', probe]);
  } catch (e) {
    return `ip netns add failed: ${(e as Error).message}`;
  }
  try {
    await run('ip', ['-n', probe, 'link', 'add', 'pa', 'type', 'veth', 'peer', 'name', 'pb']);
    await run('ip', [
      '-n',
      probe,
      'rule',
      'add',
      'priority',
      '100',
      'ipproto',
      'tcp',
      'dport',
      '9',
      'blackhole',
    ]);
    return undefined;
  } catch (e) {
    return `veth pairs or policy-routing rules are not available: ${(e as Error).message}`;
  } finally {
    await run('ip', ['netns', 'del', probe]).catch(() => undefined);
  }
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** The three namespaces (client, router, server) of one lab. */
export interface Lab {
  client: string;
  router: string;
  server: string;
  remove(): Promise<void>;
}

/** Client — router — server, each in its own namespace, the router-server link with a narrow MTU. */
export async function createLab(): Promise<Lab> {
  const id = `${process.pid}`;
  const lab = { client: `ac11c${id}`, router: `ac11r${id}`, server: `ac11s${id}` };
  const remove = async (): Promise<void> => {
    for (const ns of Object.values(lab)) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  };
  try {
    for (const ns of Object.values(lab)) {
      await ip('netns', 'add', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    await ip(
      'link',
      'add',
      'vc',
      'netns',
      lab.client,
      'type',
      'veth',
      'peer',
      'name',
      'vrc',
      'netns',
      lab.router,
    );
    await ip(
      'link',
      'add',
      'vrs',
      'netns',
      lab.router,
      'type',
      'veth',
      'peer',
      'name',
      'vs',
      'netns',
      lab.server,
    );
    await ip('-n', lab.client, 'addr', 'add', `${LAB.client}/24`, 'dev', 'vc');
    await ip('-n', lab.client, 'link', 'set', 'vc', 'up');
    await ip('-n', lab.client, 'route', 'add', 'default', 'via', LAB.router);
    await ip('-n', lab.router, 'addr', 'add', `${LAB.router}/24`, 'dev', 'vrc');
    await ip('-n', lab.router, 'addr', 'add', '10.213.2.1/24', 'dev', 'vrs');
    await ip('-n', lab.router, 'link', 'set', 'vrc', 'up');
    await ip('-n', lab.router, 'link', 'set', 'vrs', 'mtu', String(LAB.narrowMtu), 'up');
    await ip('-n', lab.server, 'addr', 'add', `${LAB.server}/24`, 'dev', 'vs');
    await ip('-n', lab.server, 'link', 'set', 'vs', 'mtu', String(LAB.narrowMtu), 'up');
    await ip('-n', lab.server, 'route', 'add', 'default', 'via', '10.213.2.1');
    const sysctl = (ns: string, setting: string): Promise<unknown> =>
      run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', setting]);
    await sysctl(lab.router, 'net.ipv4.ip_forward=1');
    await sysctl(lab.router, 'net.ipv4.icmp_ratelimit=0');
    await sysctl(lab.server, 'net.ipv4.icmp_ratelimit=0');
    // A tiny receive buffer so a receiver that does not read closes its window within a few segments.
    await sysctl(lab.server, 'net.ipv4.tcp_rmem=4096 4096 4096');
    for (const ns of Object.values(lab)) await sysctl(ns, 'net.ipv6.conf.all.disable_ipv6=1');
    // Local delivery is decided by the rule at priority 0 ("lookup local"), before any other: move it after the
    // priority the client's blackhole rules use, so they can drop packets addressed to the server.
    await ip('-n', lab.server, 'rule', 'add', 'priority', '1000', 'lookup', 'local');
    await ip('-n', lab.server, 'rule', 'del', 'priority', '0');
  } catch (e) {
    await remove();
    throw e;
  }
  return { ...lab, remove };
}

function nodeIn(ns: string, script: string, args: (string | number)[]): ChildProcess {
  return spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '--import',
      'tsx',
      join(here, 'netns', script),
      ...args.map(String),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: join(here, '..', '..', '..') },
  );
}

function waitFor(child: ChildProcess, text: string, what: string): Promise<void> {
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(text)) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before "${text}": ${err}`)));
  });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await once(child, 'exit');
}

/**
 * Captures, with tcpdump on the client's interface, everything the client scenarios do (see `netns/client.ts`).
 * Returns when the capture holds the sentinel's ICMP reply, so every packet before it has been written.
 */
export async function captureLab(lab: Lab, file: string): Promise<void> {
  const dump = spawn(
    'ip',
    ['netns', 'exec', lab.client, 'tcpdump', '-i', 'vc', '-U', '-n', '-s', '0', '-w', file],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const listening = new Promise<void>((resolve, reject) => {
    let err = '';
    dump.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve();
    });
    dump.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${err}`)));
  });
  const server = nodeIn(lab.server, 'server.ts', [LAB.server, LAB.echoPort, LAB.stuckPort]);
  try {
    await Promise.all([listening, waitFor(server, 'ready', 'the namespace server')]);
    const client = nodeIn(lab.client, 'client.ts', [
      lab.server,
      LAB.server,
      LAB.echoPort,
      LAB.stuckPort,
      LAB.closedPort,
      LAB.droppedPort,
      LAB.closedUdpPort,
    ]);
    await waitFor(client, 'done', 'the namespace client');
    await sentinel(lab, file);
  } finally {
    await stop(server);
    await stop(dump, 'SIGINT');
  }
}

/** A datagram to the router's closed port; its ICMP reply in the file proves the capture caught up. */
async function sentinel(lab: Lab, file: string): Promise<void> {
  const send = spawn('ip', [
    'netns',
    'exec',
    lab.client,
    process.execPath,
    '-e',
    `const s=require('dgram').createSocket('udp4');s.on('error',()=>{});` +
      `s.send(Buffer.from('sentinel'),${LAB.sentinelPort},'${LAB.router}',()=>setTimeout(()=>s.close(),50));`,
  ]);
  await once(send, 'exit');
  for (let i = 0; i < 250; i++) {
    const summary = summarizeBuffer(await readFile(file).catch(() => Buffer.alloc(0)));
    const seen = summary.signals
      .find((s) => s.kind === 'icmp-unreachable')
      ?.conversations?.some((c) => c.b === `${LAB.router}:${LAB.sentinelPort}`);
    if (seen === true) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`tcpdump never wrote the sentinel's ICMP reply to ${file}`);
}
