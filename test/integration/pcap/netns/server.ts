/**
 * Runs inside the server network namespace of `namespaceCapture.ts` (`ip netns exec ... node --import tsx`):
 * a TCP echo service, a TCP service that never reads (its receive window closes), and a DNS server answering
 * NXDOMAIN, SERVFAIL, nothing, or one A record depending on the name asked. Prints "ready" once listening and
 * runs until killed.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const [host, echoPort, stuckPort] = process.argv.slice(2) as [string, string, string];

const echo = net.createServer((socket) => {
  socket.on('error', () => undefined);
  socket.on('data', (d) => socket.write(d.subarray(0, 16)));
  socket.on('end', () => socket.end());
});
const stuck = net.createServer((socket) => {
  socket.on('error', () => undefined);
  socket.pause();
});

/** The first question's name, as plain text (test names are ASCII). */
function questionName(msg: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let p = 12;
  while (msg[p]! !== 0) {
    labels.push(msg.subarray(p + 1, p + 1 + msg[p]!).toString('latin1'));
    p += msg[p]! + 1;
  }
  return { name: labels.join('.'), end: p + 5 };
}

const dns = dgram.createSocket('udp4');
dns.on('message', (msg, rinfo) => {
  const { name, end } = questionName(msg);
  if (name.startsWith('silent')) return;
  const rcode = name.startsWith('nx') || name.includes('<') ? 3 : name.startsWith('fail') ? 2 : 0;
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rcode === 0 ? 1 : 0, 6);
  const question = msg.subarray(12, end);
  const answer =
    rcode === 0 ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]) : Buffer.alloc(0);
  dns.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
});

echo.listen(Number(echoPort), host);
stuck.listen(Number(stuckPort), host);
dns.bind(53, host);
await Promise.all([
  new Promise((r) => echo.once('listening', r)),
  new Promise((r) => stuck.once('listening', r)),
  new Promise((r) => dns.once('listening', r)),
]);
process.stdout.write('ready\n');
