/** What {@link readDnsMessage} found; the object is reused. */
export interface DnsMessage {
  id: number;
  isResponse: boolean;
  /** RCODE: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN (RFC 1035 §4.1.1, RFC 6895). */
  rcode: number;
  answers: number;
  /** The question's name in escaped presentation form. */
  name: string | undefined;
}

/** Longest name read (RFC 1035 §2.3.4: 255 octets). */
const MAX_NAME_BYTES = 255;
/** Compression pointers followed before giving up (a loop or a hostile message). */
const MAX_POINTERS = 16;

/**
 * Reads a DNS message's header and its question from `b[start, end)`; false when it is not DNS-shaped (no single
 * question, or a name that does not parse within the captured bytes).
 * The name is returned in a presentation form that is safe in every output (JSON, HTML, Markdown, Slack, a
 * terminal): letters, digits, `-` and `_` as they are, labels joined by `.`, and every other byte as `\DDD`
 * (its decimal value), the escape RFC 1035 §5.1 defines for master files. A root query is `.`.
 */
export function readDnsMessage(b: Uint8Array, start: number, end: number, out: DnsMessage): boolean {
  if (end - start < 12) return false;
  out.id = (b[start]! << 8) | b[start + 1]!;
  const flags = (b[start + 2]! << 8) | b[start + 3]!;
  out.isResponse = (flags & 0x8000) !== 0;
  out.rcode = flags & 0x0f;
  const questions = (b[start + 4]! << 8) | b[start + 5]!;
  out.answers = (b[start + 6]! << 8) | b[start + 7]!;
  // Real queries and their responses carry exactly one question (RFC 9619); anything else on port 53 is not
  // counted as DNS, so random data there cannot make up failures.
  if (questions !== 1) return false;
  out.name = readName(b, start, start + 12, end);
  return out.name !== undefined;
}

function readName(b: Uint8Array, message: number, at: number, end: number): string | undefined {
  let p = at;
  let pointers = 0;
  let length = 0;
  let text = '';
  for (;;) {
    if (p >= end) return undefined;
    const len = b[p]!;
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++pointers > MAX_POINTERS) return undefined;
      p = message + (((len & 0x3f) << 8) | b[p + 1]!);
      continue;
    }
    if (len & 0xc0 || p + 1 + len > end) return undefined;
    length += len + 1;
    if (length > MAX_NAME_BYTES) return undefined;
    if (text !== '') text += '.';
    for (let i = p + 1; i <= p + len; i++) text += escapeByte(b[i]!);
    p += len + 1;
  }
  return text === '' ? '.' : text;
}

function escapeByte(c: number): string {
  const safe =
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d ||
    c === 0x5f;
  return safe ? String.fromCharCode(c) : `\\${c.toString().padStart(3, '0')}`;
}
