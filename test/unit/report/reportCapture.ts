/**
 * Builds the capture the report tests and the bench use: a VM (10.0.0.4) talking to Azure storage
 * (52.239.x, 20.60.x), Google DNS 8.8.8.8 (answered) and 8.8.4.4:853 (never answered), Azure's WireServer
 * 168.63.129.16 and IMDS 169.254.169.254, an IPv6 peer, a host resetting connections, with DNS queries whose
 * names carry markup (`<img src=x onerror=...>`), so that escaping is tested on real packet bytes.
 */
import {
  ACK,
  FIN,
  PSH,
  RST,
  SYN,
  ipv4Packet,
  ipv6Packet,
  tcpSegment,
  udpDatagram,
  writePcap,
  type TestPacket,
} from '../pcap/captureWriter.js';

/** Start of the generated capture, seconds since the epoch. */
export const REPORT_T0 = 1_780_000_000;
/** A DNS name that would run script if a page ever wrote it as HTML. */
export const HOSTILE_NAME = '<img src=x onerror=window.__pwned=1>.evil.example';

/** A DNS query (or answer, with rcode) for `name`, labels as given (markup characters included). */
export function dnsMessage(id: number, name: string, response = false, rcode = 0): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(response ? 0x8180 | rcode : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  const labels = name
    .split('.')
    .flatMap((l) => [Buffer.from([Buffer.byteLength(l)]), Buffer.from(l, 'latin1')]);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

interface Flow {
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
}

/** A complete TCP connection: handshake, `exchanges` request/response pairs, FIN both ways. */
function tcpConnection(f: Flow, at: number, exchanges: number, responseBytes: number): TestPacket[] {
  const out: TestPacket[] = [];
  const c2s = (seq: number, ack: number, flags: number, payload = 0): Buffer =>
    ipv4Packet({
      src: f.client,
      dst: f.server,
      protocol: 6,
      payload: tcpSegment(f.clientPort, f.serverPort, seq, ack, flags, Buffer.alloc(payload, 0x61)),
    });
  const s2c = (seq: number, ack: number, flags: number, payload = 0): Buffer =>
    ipv4Packet({
      src: f.server,
      dst: f.client,
      protocol: 6,
      payload: tcpSegment(f.serverPort, f.clientPort, seq, ack, flags, Buffer.alloc(payload, 0x62)),
    });
  let cs = 1000;
  let ss = 5000;
  let t = at;
  out.push({ time: t, data: c2s(cs, 0, SYN) });
  out.push({ time: (t += 0.01), data: s2c(ss, cs + 1, SYN | ACK) });
  cs++;
  ss++;
  out.push({ time: (t += 0.01), data: c2s(cs, ss, ACK) });
  for (let i = 0; i < exchanges; i++) {
    out.push({ time: (t += 0.05), data: c2s(cs, ss, PSH | ACK, 200) });
    cs += 200;
    out.push({ time: (t += 0.02), data: s2c(ss, cs, PSH | ACK, responseBytes) });
    ss += responseBytes;
  }
  out.push({ time: (t += 0.01), data: c2s(cs, ss, FIN | ACK) });
  out.push({ time: (t += 0.01), data: s2c(ss, cs + 1, FIN | ACK) });
  out.push({ time: (t += 0.01), data: c2s(cs + 1, ss + 1, ACK) });
  return out;
}

function v6(text: string): Buffer {
  const [head = '', tail = ''] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16), i * 2));
  return b;
}

/** The packets of the report capture, in time order. */
export function reportPackets(): TestPacket[] {
  const vm = '10.0.0.4';
  const packets: TestPacket[] = [];
  packets.push(
    ...tcpConnection(
      { client: vm, clientPort: 50001, server: '52.239.160.36', serverPort: 443 },
      REPORT_T0,
      5,
      1400,
    ),
  );
  packets.push(
    ...tcpConnection(
      { client: vm, clientPort: 50002, server: '20.60.40.4', serverPort: 443 },
      REPORT_T0 + 2,
      6,
      900,
    ),
  );
  packets.push(
    ...tcpConnection(
      { client: vm, clientPort: 50003, server: '168.63.129.16', serverPort: 80 },
      REPORT_T0 + 1,
      2,
      300,
    ),
  );
  packets.push(
    ...tcpConnection(
      { client: vm, clientPort: 50004, server: '169.254.169.254', serverPort: 80 },
      REPORT_T0 + 3,
      1,
      700,
    ),
  );
  // DNS to WireServer and to Google, names with markup in them.
  [HOSTILE_NAME, 'myaccount.blob.core.windows.net', '"><script>alert(1)</script>'].forEach((name, i) => {
    for (const [server, port] of [
      ['168.63.129.16', 40000 + i],
      ['8.8.8.8', 41000 + i],
    ] as const) {
      const t = REPORT_T0 + 0.5 + i;
      packets.push({
        time: t,
        data: ipv4Packet({
          src: vm,
          dst: server,
          protocol: 17,
          payload: udpDatagram(port, 53, dnsMessage(i + 1, name)),
        }),
      });
      packets.push({
        time: t + 0.02,
        data: ipv4Packet({
          src: server,
          dst: vm,
          protocol: 17,
          payload: udpDatagram(53, port, dnsMessage(i + 1, name, true, i === 0 ? 3 : 0)),
        }),
      });
    }
  });
  // Unanswered SYNs (with retries) to 8.8.4.4:853.
  for (let i = 0; i < 3; i++) {
    packets.push({
      time: REPORT_T0 + 4 + i,
      data: ipv4Packet({
        src: vm,
        dst: '8.8.4.4',
        protocol: 6,
        payload: tcpSegment(50100 + i, 853, 777 + i, 0, SYN),
      }),
    });
  }
  // A host that resets every connection attempt: 25 RSTs within a second.
  for (let i = 0; i < 25; i++) {
    const t = REPORT_T0 + 5 + i * 0.02;
    packets.push({
      time: t,
      data: ipv4Packet({
        src: vm,
        dst: '1.1.1.1',
        protocol: 6,
        payload: tcpSegment(51000 + i, 8443, 9000 + i, 0, SYN),
      }),
    });
    packets.push({
      time: t + 0.005,
      data: ipv4Packet({
        src: '1.1.1.1',
        dst: vm,
        protocol: 6,
        payload: tcpSegment(8443, 51000 + i, 0, 9001 + i, RST | ACK),
      }),
    });
  }
  // A retransmitted data segment to storage.
  const retx = { client: vm, clientPort: 50005, server: '52.239.160.36', serverPort: 443 };
  const seg = (seq: number): Buffer =>
    ipv4Packet({
      src: retx.client,
      dst: retx.server,
      protocol: 6,
      payload: tcpSegment(retx.clientPort, retx.serverPort, seq, 1, PSH | ACK, Buffer.alloc(500, 0x63)),
    });
  packets.push(
    { time: REPORT_T0 + 6, data: seg(100) },
    { time: REPORT_T0 + 6.3, data: seg(100) },
    { time: REPORT_T0 + 6.9, data: seg(100) },
  );
  // IPv6 ICMP echo to Google.
  const echo = Buffer.from([128, 0, 0, 0, 0, 1, 0, 1]);
  packets.push({
    time: REPORT_T0 + 7,
    data: ipv6Packet(v6('fd00::4'), v6('2001:4860:4860::8888'), 58, echo),
  });
  packets.push({
    time: REPORT_T0 + 7.01,
    data: ipv6Packet(v6('2001:4860:4860::8888'), v6('fd00::4'), 58, Buffer.from([129, 0, 0, 0, 0, 1, 0, 1])),
  });
  return packets.sort((x, y) => x.time - y.time);
}

/** The report capture as a classic pcap file. */
export function reportCapture(): Buffer {
  return writePcap(reportPackets());
}
