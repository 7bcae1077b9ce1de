import type { PacketSpec } from './buildFrame.js';
import type { Prng } from './createPrng.js';
import { createPrng, hashSeed } from './createPrng.js';
import type { Peer, TrafficProfile } from './createTrafficProfile.js';
import { formatIpv4 } from './ipv4.js';
import {
  dnsQuery,
  dnsResponse,
  htmlPage,
  httpRequest,
  httpResponse,
  loremText,
  ntpRequest,
  ntpResponse,
  pingPayload,
  tlsApplicationData,
} from './payloads.js';
import { TcpFlow } from './tcpFlow.js';

/** Options of {@link generateTraffic}. */
export interface GenerateTrafficOptions {
  /** Seeds the per-capture details (ports, sequence numbers, timing); the profile already fixes the peers. */
  seed: string;
  startTime: Date;
  durationSeconds: number;
}

/**
 * Above this many emulated minutes the episode count stops growing (it is spread thinner instead), which keeps
 * the longest capture Network Watcher allows (5 hours) at the size of a 1-hour one: a few MB.
 */
export const MAX_SCALED_MINUTES = 60;

interface EpisodeContext {
  profile: TrafficProfile;
  prng: Prng;
  startUnixUs: number;
  windowUs: number;
  resolved: Set<number>;
}

type Episode = (ctx: EpisodeContext, out: PacketSpec[], startUs: number) => void;

/** How often an episode happens: `atLeast` times in any capture, plus `perMinute` on average. */
interface EpisodeRate {
  episode: Episode;
  atLeast: number;
  perMinute: number;
}

const EPISODES: readonly EpisodeRate[] = [
  { episode: httpsSession, atLeast: 1, perMinute: 3.5 },
  { episode: inboundWebRequest, atLeast: 1, perMinute: 2 },
  { episode: vnetApiCall, atLeast: 1, perMinute: 3 },
  { episode: wireServerGoalState, atLeast: 0, perMinute: 1.5 },
  { episode: imdsQuery, atLeast: 1, perMinute: 0.5 },
  { episode: extraDnsLookup, atLeast: 0, perMinute: 3 },
  { episode: ntpExchange, atLeast: 1, perMinute: 1 },
  { episode: pingBurst, atLeast: 1, perMinute: 0.5 },
  { episode: refusedConnection, atLeast: 1, perMinute: 0.3 },
  { episode: serverResetConnection, atLeast: 1, perMinute: 0.3 },
  { episode: unansweredSyn, atLeast: 1, perMinute: 0.2 },
];

/**
 * Plans every packet of a capture window from `profile`: a mix of episodes (HTTPS calls with their DNS lookups,
 * inbound web requests, VNet API calls, Azure platform calls, NTP, pings, a refused connection, a connection reset
 * by the server, a SYN nobody answers), each at least once however short the window, more as it grows.
 * Returns packets sorted by strictly increasing time, all inside the window.
 */
export function generateTraffic(profile: TrafficProfile, options: GenerateTrafficOptions): PacketSpec[] {
  const windowUs = Number.isFinite(options.durationSeconds)
    ? Math.floor(Math.max(0, options.durationSeconds) * 1e6)
    : 0;
  if (windowUs <= 0) return [];
  const prng = createPrng(hashSeed(`capture:${options.seed}:${options.startTime.getTime()}`));
  const ctx: EpisodeContext = {
    profile,
    prng,
    startUnixUs: options.startTime.getTime() * 1000,
    windowUs,
    resolved: new Set(),
  };
  const minutes = Math.min(options.durationSeconds / 60, MAX_SCALED_MINUTES);
  const packets: PacketSpec[] = [];
  for (const { episode, atLeast, perMinute } of EPISODES) {
    // Guaranteed episodes start in the first half of the window and are squeezed to fit when it is very short.
    for (let i = 0; i < atLeast; i++) {
      const out: PacketSpec[] = [];
      const startUs = prng.int(0, Math.floor(windowUs / 2));
      episode(ctx, out, startUs);
      packets.push(...squeezeInto(out, startUs, windowUs - 1));
    }
    const expected = perMinute * minutes * (0.8 + 0.4 * prng.next());
    const extra = Math.floor(expected) + (prng.chance(expected % 1) ? 1 : 0);
    for (let i = 0; i < extra; i++) {
      const out: PacketSpec[] = [];
      episode(ctx, out, prng.int(0, windowUs - 1));
      // Like a real capture, the window's end cuts whatever is still going on.
      packets.push(...out.filter((p) => p.timeUs < windowUs));
    }
  }
  packets.sort((a, b) => a.timeUs - b.timeUs);
  let last = -1;
  const result: PacketSpec[] = [];
  for (const p of packets) {
    p.timeUs = Math.max(Math.round(p.timeUs), last + 1);
    if (p.timeUs >= windowUs) break;
    last = p.timeUs;
    result.push(p);
  }
  return result;
}

function squeezeInto(out: PacketSpec[], startUs: number, endUs: number): PacketSpec[] {
  const lastUs = out.reduce((max, p) => Math.max(max, p.timeUs), startUs);
  if (lastUs <= endUs) return out;
  const factor = (endUs - startUs) / (lastUs - startUs);
  for (const p of out) p.timeUs = startUs + (p.timeUs - startUs) * factor;
  return out;
}

function ephemeralPort(prng: Prng): number {
  return prng.int(32768, 60999);
}

function httpDate(ctx: EpisodeContext, timeUs: number): string {
  return new Date(Math.floor((ctx.startUnixUs + timeUs) / 1000)).toUTCString();
}

function tcpFlow(
  ctx: EpisodeContext,
  out: PacketSpec[],
  startUs: number,
  peer: Peer,
  port: number,
  vmIsClient: boolean,
  vmPort?: number,
): TcpFlow {
  return new TcpFlow(out, ctx.prng, {
    vmIp: ctx.profile.localIp,
    vmPort: vmPort ?? ephemeralPort(ctx.prng),
    remoteIp: peer.ip,
    remotePort: port,
    remoteTtl: peer.ttl,
    remoteMss: peer.mss,
    vmIsClient,
    rttUs: peer.rttUs,
    startUs,
  });
}

function udpExchange(
  ctx: EpisodeContext,
  out: PacketSpec[],
  timeUs: number,
  peer: Peer,
  ports: { vm: number; remote: number },
  request: Buffer,
  response: Buffer,
): number {
  const { prng, profile } = ctx;
  out.push({
    timeUs,
    outbound: true,
    srcIp: profile.localIp,
    dstIp: peer.ip,
    ttl: 64,
    ipId: prng.int(0, 0xffff),
    dontFragment: true,
    transport: { kind: 'UDP', srcPort: ports.vm, dstPort: ports.remote, payload: request },
  });
  const answerUs = timeUs + peer.rttUs + prng.int(20, 900);
  out.push({
    timeUs: answerUs,
    outbound: false,
    srcIp: peer.ip,
    dstIp: profile.localIp,
    ttl: peer.ttl,
    ipId: prng.int(0, 0xffff),
    dontFragment: false,
    transport: { kind: 'UDP', srcPort: ports.remote, dstPort: ports.vm, payload: response },
  });
  return answerUs;
}

/** A glibc-style lookup: A and AAAA from one socket, answered by Azure DNS. Returns when the answers are in. */
function dnsLookup(ctx: EpisodeContext, out: PacketSpec[], startUs: number, peer: Peer): number {
  const name = peer.name ?? formatIpv4(peer.ip);
  const dns = ctx.profile.azurePlatform;
  const port = ephemeralPort(ctx.prng);
  const ttl = ctx.prng.int(10, 300);
  let end = startUs;
  for (const [i, type] of [1, 28].entries()) {
    const id = ctx.prng.int(0, 0xffff);
    end = Math.max(
      end,
      udpExchange(
        ctx,
        out,
        startUs + i * ctx.prng.int(15, 60),
        dns,
        { vm: port, remote: 53 },
        dnsQuery(id, name, type),
        dnsResponse(id, name, type, [peer.ip], ttl),
      ),
    );
  }
  ctx.resolved.add(peer.ip);
  return end;
}

function httpsSession(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const { prng } = ctx;
  const service = prng.pick(ctx.profile.webServices);
  let t = startUs;
  if (!ctx.resolved.has(service.ip) || prng.chance(0.25))
    t = dnsLookup(ctx, out, t, service) + prng.int(50, 400);
  const flow = tcpFlow(ctx, out, t, service, 443, true).connect();
  flow.send(true, tlsApplicationData(prng, prng.int(250, 650)));
  flow.send(false, tlsApplicationData(prng, prng.int(2_000, 4_000)), prng.int(200, 3_000));
  flow.send(true, tlsApplicationData(prng, prng.int(90, 160)));
  const requests = prng.int(1, 3);
  for (let i = 0; i < requests; i++) {
    flow.send(true, tlsApplicationData(prng, prng.int(180, 900)), i === 0 ? 0 : prng.int(5_000, 200_000));
    flow.send(false, tlsApplicationData(prng, prng.int(300, 6_000)), prng.int(3_000, 80_000));
  }
  flow.close(true, prng.int(50_000, 800_000));
}

const SITE_PATHS = ['/', '/index.html', '/status', '/products', '/about', '/css/site.css'];
const SCANNER_PATHS = ['/wp-login.php', '/.env', '/phpmyadmin/', '/admin/config.php'];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'curl/8.5.0',
];

function inboundWebRequest(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const { prng, profile } = ctx;
  const client = prng.pick(profile.webClients);
  const flow = tcpFlow(ctx, out, startUs, client, ephemeralPort(prng), false, profile.webPort).connect();
  const requests = prng.int(1, 2);
  for (let i = 0; i < requests; i++) {
    const scanner = prng.chance(0.2);
    const path = prng.pick(scanner ? SCANNER_PATHS : SITE_PATHS);
    flow.send(
      true,
      httpRequest('GET', path, {
        Host: formatIpv4(profile.localIp),
        'User-Agent': prng.pick(USER_AGENTS),
        Accept: '*/*',
        Connection: 'keep-alive',
      }),
      i === 0 ? 0 : prng.int(100_000, 1_500_000),
    );
    const body = scanner
      ? htmlPage(prng, '404 Not Found', 150)
      : htmlPage(prng, 'Contoso status', prng.int(400, 5_000));
    flow.send(
      false,
      httpResponse(
        scanner ? '404 Not Found' : '200 OK',
        {
          Server: 'nginx/1.24.0',
          Date: httpDate(ctx, flow.timeUs),
          'Content-Type': 'text/html',
          Connection: 'keep-alive',
        },
        body,
      ),
      prng.int(300, 6_000),
    );
  }
  flow.close(true, prng.int(200_000, 2_000_000));
}

function vnetApiCall(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const { prng, profile } = ctx;
  const peer = prng.pick(profile.vnetPeers);
  const vmIsClient = prng.chance(0.4);
  const flow = vmIsClient
    ? tcpFlow(ctx, out, startUs, peer, profile.apiPort, true)
    : tcpFlow(ctx, out, startUs, peer, ephemeralPort(prng), false, profile.apiPort);
  flow.connect();
  const orderId = prng.int(10_000, 99_999);
  const body = JSON.stringify({
    orderId,
    sku: `SKU-${prng.int(100, 999)}`,
    quantity: prng.int(1, 20),
    note: loremText(prng, prng.int(10, 200)),
  });
  flow.send(
    true,
    httpRequest(
      'POST',
      '/api/orders',
      {
        Host: `${formatIpv4(vmIsClient ? peer.ip : profile.localIp)}:${profile.apiPort}`,
        'Content-Type': 'application/json',
        Accept: 'application/json',
      },
      body,
    ),
  );
  flow.send(
    false,
    httpResponse(
      '201 Created',
      {
        'Content-Type': 'application/json',
        Date: httpDate(ctx, flow.timeUs),
        Location: `/api/orders/${orderId}`,
      },
      JSON.stringify({ orderId, status: 'accepted' }),
    ),
    prng.int(500, 25_000),
  );
  flow.close(true, prng.int(1_000, 50_000));
}

function wireServerGoalState(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const { prng, profile } = ctx;
  const flow = tcpFlow(ctx, out, startUs, profile.azurePlatform, 80, true).connect();
  flow.send(
    true,
    httpRequest('GET', '/machine/?comp=goalstate', {
      'x-ms-agent-name': 'WALinuxAgent',
      'x-ms-version': '2012-11-30',
      Host: '168.63.129.16',
      'Accept-Encoding': 'identity',
      Connection: 'close',
    }),
  );
  const incarnation = prng.int(1, 40);
  const xml = `<?xml version="1.0" encoding="utf-8"?>\n<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">\n  <Version>2012-11-30</Version>\n  <Incarnation>${incarnation}</Incarnation>\n  <Machine><ExpectedState>Started</ExpectedState><StopRolesDeadlineHint>300000</StopRolesDeadlineHint></Machine>\n  <Container><ContainerId>${prng.bytes(16).toString('hex')}</ContainerId></Container>\n</GoalState>\n`;
  flow.send(
    false,
    httpResponse(
      '200 OK',
      {
        'Content-Type': 'text/xml; charset=utf-8',
        Server: 'Microsoft-IIS/10.0',
        Date: httpDate(ctx, flow.timeUs),
        Connection: 'close',
      },
      xml,
    ),
    prng.int(300, 3_000),
  );
  flow.close(false, prng.int(50, 500));
}

function imdsQuery(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const { prng, profile } = ctx;
  const flow = tcpFlow(ctx, out, startUs, profile.imds, 80, true).connect();
  flow.send(
    true,
    httpRequest('GET', '/metadata/instance/compute?api-version=2021-02-01&format=json', {
      Host: '169.254.169.254',
      'User-Agent': 'azure-monitor-agent',
      Metadata: 'true',
    }),
  );
  const json = JSON.stringify({
    location: prng.pick(['westeurope', 'eastus2', 'northeurope', 'uksouth']),
    name: `vm-${prng.int(1, 99)}`,
    osType: 'Linux',
    vmSize: prng.pick(['Standard_D2s_v5', 'Standard_B2ms', 'Standard_D4as_v5']),
    zone: String(prng.int(1, 3)),
    tags: loremText(prng, prng.int(50, 400)),
  });
  flow.send(
    false,
    httpResponse(
      '200 OK',
      {
        'Content-Type': 'application/json; charset=utf-8',
        Server: 'Microsoft-IIS/10.0',
        Date: httpDate(ctx, flow.timeUs),
      },
      json,
    ),
    prng.int(200, 2_000),
  );
  flow.close(true, prng.int(100, 2_000));
}

function extraDnsLookup(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  dnsLookup(ctx, out, startUs, ctx.prng.pick([...ctx.profile.webServices, ctx.profile.ntpServer]));
}

function ntpExchange(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const { prng, profile } = ctx;
  const server = profile.ntpServer;
  const sentUnixUs = ctx.startUnixUs + startUs;
  udpExchange(
    ctx,
    out,
    startUs,
    server,
    { vm: ephemeralPort(prng), remote: 123 },
    ntpRequest(sentUnixUs),
    ntpResponse(sentUnixUs, sentUnixUs + Math.floor(server.rttUs / 2), prng.int(0, 0xffffffff)),
  );
}

function pingBurst(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const { prng, profile } = ctx;
  const peer = prng.pick([...profile.vnetPeers, ...profile.webServices]);
  const id = prng.int(1, 0xffff);
  let vmIpId = prng.int(0, 0xffff);
  let peerIpId = prng.int(0, 0xffff);
  const count = prng.int(3, 5);
  for (let seq = 1; seq <= count; seq++) {
    const sentUs = startUs + (seq - 1) * (1_000_000 + prng.int(0, 400));
    const payload = pingPayload(ctx.startUnixUs + sentUs);
    const echo = (timeUs: number, outbound: boolean): PacketSpec => ({
      timeUs,
      outbound,
      srcIp: outbound ? profile.localIp : peer.ip,
      dstIp: outbound ? peer.ip : profile.localIp,
      ttl: outbound ? 64 : peer.ttl,
      ipId: outbound ? vmIpId++ & 0xffff : peerIpId++ & 0xffff,
      dontFragment: outbound,
      transport: { kind: 'ICMP', type: outbound ? 8 : 0, code: 0, id, seq, payload },
    });
    out.push(echo(sentUs, true), echo(sentUs + peer.rttUs + prng.int(0, 200), false));
  }
}

function refusedConnection(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const peer = ctx.prng.pick(ctx.profile.vnetPeers);
  tcpFlow(ctx, out, startUs, peer, ctx.profile.closedPort, true).refused();
}

function serverResetConnection(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const { prng, profile } = ctx;
  const peer = prng.pick(profile.vnetPeers);
  const flow = tcpFlow(ctx, out, startUs, peer, profile.apiPort, true).connect();
  flow.send(
    true,
    httpRequest('GET', '/api/orders/export', {
      Host: `${formatIpv4(peer.ip)}:${profile.apiPort}`,
      Accept: 'text/csv',
    }),
  );
  const announced = prng.int(40_000, 90_000);
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: ${announced}\r\n\r\n`;
  flow.send(
    false,
    Buffer.from(head + loremText(prng, prng.int(1_500, 4_000)), 'utf8'),
    prng.int(1_000, 20_000),
  );
  // The server process dies (or closes with SO_LINGER 0) mid-response: the client sees a reset.
  flow.reset(false, prng.int(5_000, 300_000));
}

function unansweredSyn(ctx: EpisodeContext, out: PacketSpec[], startUs: number): void {
  const { profile } = ctx;
  // Linux retransmits an unanswered SYN after 1 s, then 2 s, 4 s...
  tcpFlow(ctx, out, startUs, profile.blackhole, profile.blackholePort, true).unanswered(
    [1_000_000, 2_000_000, 4_000_000],
    ctx.windowUs,
  );
}
