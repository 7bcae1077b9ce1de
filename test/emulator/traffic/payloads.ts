import type { Prng } from './createPrng.js';

/** A DNS query for `name` (RFC 1035), recursion desired. `type` 1 = A, 28 = AAAA. */
export function dnsQuery(id: number, name: string, type: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, dnsQuestion(name, type)]);
}

/** The recursive resolver's answer to {@link dnsQuery}: one A record per address (none for AAAA: NODATA). */
export function dnsResponse(
  id: number,
  name: string,
  type: number,
  addresses: readonly number[],
  ttl: number,
): Buffer {
  const answers = type === 1 ? addresses : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map((address) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // compression pointer to the question's name
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    rr.writeUInt32BE(address >>> 0, 12);
    return rr;
  });
  return Buffer.concat([header, dnsQuestion(name, type), ...records]);
}

function dnsQuestion(name: string, type: number): Buffer {
  const labels = name
    .split('.')
    .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')]));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  return Buffer.concat([...labels, tail]);
}

const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

function writeNtpTime(buf: Buffer, offset: number, unixUs: number): void {
  const seconds = Math.floor(unixUs / 1e6);
  buf.writeUInt32BE((seconds + NTP_UNIX_OFFSET_SECONDS) >>> 0, offset);
  buf.writeUInt32BE(Math.floor(((unixUs % 1e6) * 4294967296) / 1e6) >>> 0, offset + 4);
}

/** An NTPv4 client request (mode 3) sent at `unixUs`. */
export function ntpRequest(unixUs: number): Buffer {
  const msg = Buffer.alloc(48);
  msg[0] = 0x23; // LI 0, version 4, mode 3
  msg[2] = 6; // poll 64 s
  msg[3] = 0xe9; // precision 2^-23
  writeNtpTime(msg, 40, unixUs);
  return msg;
}

/** An NTPv4 server reply (mode 4) to a request sent at `requestUnixUs`, received and answered at `serverUnixUs`. */
export function ntpResponse(requestUnixUs: number, serverUnixUs: number, referenceId: number): Buffer {
  const msg = Buffer.alloc(48);
  msg[0] = 0x24; // LI 0, version 4, mode 4
  msg[1] = 2; // stratum
  msg[2] = 6;
  msg[3] = 0xe7;
  msg.writeUInt32BE(0x00000290, 4); // root delay, 16.16 seconds
  msg.writeUInt32BE(0x00000455, 8); // root dispersion
  msg.writeUInt32BE(referenceId >>> 0, 12);
  writeNtpTime(msg, 16, serverUnixUs - 31_000_000);
  writeNtpTime(msg, 24, requestUnixUs);
  writeNtpTime(msg, 32, serverUnixUs);
  writeNtpTime(msg, 40, serverUnixUs + 25);
  return msg;
}

/** The 56-byte payload Linux `ping` sends: a little-endian `struct timeval` then the bytes 0x10, 0x11, ... */
export function pingPayload(unixUs: number): Buffer {
  const payload = Buffer.alloc(56);
  payload.writeBigUInt64LE(BigInt(Math.floor(unixUs / 1e6)), 0);
  payload.writeBigUInt64LE(BigInt(unixUs % 1e6), 8);
  for (let i = 16; i < 56; i++) payload[i] = i;
  return payload;
}

/**
 * TLS 1.2-framed application data records totalling exactly `length` bytes (records and their 5-byte headers), so
 * a dissector sees well-formed records however the stream is cut into segments.
 */
export function tlsApplicationData(prng: Prng, length: number): Buffer {
  const parts: Buffer[] = [];
  let left = Math.max(length, 6);
  while (left > 0) {
    let body = Math.min(left - 5, prng.int(600, 16_384));
    // Never leave a remainder too short to hold a record header and one byte.
    if (left - 5 - body > 0 && left - 5 - body < 6) body = left - 5;
    const header = Buffer.from([0x17, 0x03, 0x03, 0, 0]);
    header.writeUInt16BE(body, 3);
    parts.push(header, prng.bytes(body));
    left -= 5 + body;
  }
  return Buffer.concat(parts);
}

/** An HTTP/1.1 request. */
export function httpRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Buffer {
  const all = body === '' ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`);
  return Buffer.from(`${method} ${path} HTTP/1.1\r\n${lines.join('')}\r\n${body}`, 'utf8');
}

/** An HTTP/1.1 response with a `Content-Length` matching `body`. */
export function httpResponse(status: string, headers: Record<string, string>, body: string): Buffer {
  const all = { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`);
  return Buffer.from(`HTTP/1.1 ${status}\r\n${lines.join('')}\r\n${body}`, 'utf8');
}

const WORDS = [
  'alert',
  'capture',
  'network',
  'watcher',
  'packet',
  'virtual',
  'machine',
  'latency',
  'region',
  'gateway',
  'subnet',
  'policy',
  'metric',
  'incident',
  'storage',
  'session',
  'traffic',
  'probe',
  'health',
  'service',
];

/** Readable filler text of exactly `length` characters. */
export function loremText(prng: Prng, length: number): string {
  let text = '';
  while (text.length < length) text += prng.pick(WORDS) + (prng.chance(0.1) ? '.\n' : ' ');
  return text.slice(0, length);
}

/** An HTML page of roughly `length` bytes. */
export function htmlPage(prng: Prng, title: string, length: number): string {
  const head = `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body>\n<p>`;
  const tail = '</p>\n</body></html>\n';
  return head + loremText(prng, Math.max(0, length - head.length - tail.length)) + tail;
}
