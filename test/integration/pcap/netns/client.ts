/**
 * Runs inside the client network namespace of `namespaceCapture.ts`: makes, one after the other, a refused
 * connection (REJ), a connection whose SYNs are dropped (S0), a connection whose data is dropped for a while
 * (retransmissions), a connection to a receiver that never reads (zero windows), DNS queries answered NXDOMAIN,
 * SERVFAIL or not at all, a datagram to a closed port (ICMP port unreachable) and one too big for the next hop
 * (ICMP fragmentation needed). Losses are made with policy-routing blackhole rules in the server's namespace,
 * which drop packets after the client's capture saw them. Prints "done" at the end.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);
const [serverNs, host, echoPort, stuckPort, closedPort, droppedPort, closedUdpPort] = process.argv.slice(
  2,
) as [string, string, string, string, string, string, string];
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rule = (verb: 'add' | 'del', port: string): Promise<unknown> =>
  run('ip', [
    'netns',
    'exec',
    serverNs,
    'ip',
    'rule',
    verb,
    'priority',
    '100',
    'ipproto',
    'tcp',
    'dport',
    port,
    'blackhole',
  ]);

// REJ: nothing listens on closedPort, the server's kernel answers the SYN with RST/ACK.
{
  const s = net.connect(Number(closedPort), host);
  await once(s, 'error').catch(() => undefined);
}

// S0: SYNs to droppedPort vanish; the client sends its SYN again after 1 s, then gives up.
await rule('add', droppedPort);
{
  const s = net.connect(Number(droppedPort), host);
  s.on('error', () => undefined);
  await wait(2500);
  s.destroy();
}
await rule('del', droppedPort);

// Retransmissions: data sent while the server drops it is sent again on the retransmission timer.
{
  const s = net.connect(Number(echoPort), host);
  let echoed = 0;
  const echoes: (() => void)[] = [];
  s.on('data', (d: Buffer) => {
    echoed += d.length;
    echoes.shift()?.();
  });
  const echo = (): Promise<void> => new Promise((r) => echoes.push(r));
  await once(s, 'connect');
  let next = echo();
  s.write(Buffer.alloc(500, 1));
  await next;
  await rule('add', echoPort);
  next = echo();
  s.write(Buffer.alloc(700, 2));
  await wait(1500);
  await rule('del', echoPort);
  await next;
  s.end();
  await once(s, 'close');
  if (echoed !== 32) throw new Error(`expected 32 echoed bytes, got ${echoed}`);
}

// Zero windows: the server never reads and its receive buffer is tiny.
{
  const s = net.connect(Number(stuckPort), host);
  s.on('error', () => undefined);
  await once(s, 'connect');
  s.write(Buffer.alloc(400_000, 3));
  await wait(1200);
  s.resetAndDestroy();
}

// DNS: one name per outcome, plus one that needs escaping.
{
  const sock = dgram.createSocket('udp4');
  const query = (id: number, name: string): Buffer => {
    const labels = name
      .split('.')
      .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
    const header = Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  };
  const names = [
    'nx1.example',
    'nx2.example',
    'fail.example',
    'silent.example',
    'ok.example',
    '<b>x y.example',
  ];
  for (const [i, name] of names.entries()) {
    await new Promise<void>((resolve, reject) =>
      sock.send(query(0x1000 + i, name), 53, host, (e) => (e ? reject(e) : resolve())),
    );
  }
  await wait(300);
  sock.close();
}

// ICMP: a datagram to a closed port, then one larger than the next hop's MTU (Linux sets DF on UDP).
{
  const sock = dgram.createSocket('udp4');
  sock.on('error', () => undefined);
  const send = (size: number, port: number): Promise<void> =>
    new Promise((resolve) => sock.send(Buffer.alloc(size, 4), port, host, () => resolve()));
  await send(20, Number(closedUdpPort));
  await wait(100);
  await send(1400, Number(closedUdpPort) + 1);
  await wait(300);
  sock.close();
}
process.stdout.write('done\n');
