import { describe, expect, it } from 'vitest';
import { readDnsMessage, type DnsMessage } from '../../../src/pcap/readDnsMessage.js';

const out = (): DnsMessage => ({ id: 0, isResponse: false, rcode: 0, answers: 0, name: undefined });

function message(name: Buffer, flags = 0x0100, questions = 1): Buffer {
  const h = Buffer.from([0x12, 0x34, flags >> 8, flags & 255, 0, questions, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([h, name, Buffer.from([0, 1, 0, 1])]);
}

const labels = (...parts: (string | Buffer)[]): Buffer =>
  Buffer.concat([
    ...parts.map((p) => {
      const b = typeof p === 'string' ? Buffer.from(p, 'latin1') : p;
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
    Buffer.from([0]),
  ]);

describe('readDnsMessage', () => {
  it('reads the id, the response bit, the rcode and the question name', () => {
    const m = out();
    expect(readDnsMessage(message(labels('www', 'example', 'com'), 0x8183), 0, 100, m)).toBe(true);
    expect(m).toEqual({ id: 0x1234, isResponse: true, rcode: 3, answers: 0, name: 'www.example.com' });
  });

  it('escapes every byte that is not a letter, digit, "-" or "_" as \\DDD, so no output can be injected', () => {
    const m = out();
    readDnsMessage(message(labels('<img src=x>', Buffer.from([0, 0x2e, 0x5c, 0xff]), 'ok_-1')), 0, 200, m);
    expect(m.name).toBe('\\060img\\032src\\061x\\062.\\000\\046\\092\\255.ok_-1');
    expect(m.name).toMatch(/^[A-Za-z0-9_.\\-]+$/);
  });

  it('writes the root as "." and follows a compression pointer', () => {
    const m = out();
    readDnsMessage(message(Buffer.from([0])), 0, 100, m);
    expect(m.name).toBe('.');
    const withPointer = Buffer.concat([
      message(Buffer.from([0xc0, 18])),
      Buffer.from([3, 0x61, 0x62, 0x63, 0]),
    ]);
    readDnsMessage(withPointer, 0, withPointer.length, m);
    expect(m.name).toBe('abc');
  });

  it('refuses what is not a DNS query or response: no single question, a pointer loop, a cut name', () => {
    expect(readDnsMessage(message(labels('a'), 0x0100, 0), 0, 100, out())).toBe(false);
    expect(readDnsMessage(message(labels('a'), 0x0100, 2), 0, 100, out())).toBe(false);
    expect(readDnsMessage(message(Buffer.from([0xc0, 12])), 0, 100, out())).toBe(false);
    expect(readDnsMessage(message(labels('abcdef')), 0, 15, out())).toBe(false);
    expect(readDnsMessage(Buffer.alloc(11), 0, 11, out())).toBe(false);
    expect(readDnsMessage(message(Buffer.from([0x40, 1, 2])), 0, 100, out())).toBe(false);
  });

  it('refuses a name longer than 255 bytes', () => {
    const long = labels(...Array.from({ length: 5 }, () => 'x'.repeat(60)));
    expect(readDnsMessage(message(long), 0, 1000, out())).toBe(false);
  });
});
