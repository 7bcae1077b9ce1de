import type { Conversation } from './Conversation.js';
import {
  conversationProtocol,
  formatAddressWords,
  formatEndpointWords,
  isoTime,
  RST_STORM_THRESHOLD,
  type IcmpTally,
  type SignalInputs,
} from './SummaryBuilder.js';
import type { ConversationRef, CountedName, Signal } from './types.js';

/** How many conversations, sources and targets a signal lists. */
const LISTED = 10;
/** Unanswered connection attempts from which they are called a SYN flood. */
export const SYN_FLOOD_THRESHOLD = 1000;
/** Retransmitted share of TCP segments from which retransmissions are a warning (with at least 10). */
const RETRANSMISSION_WARNING_RATE = 0.01;

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

const ICMP4_UNREACHABLE: Readonly<Record<number, string>> = {
  0: 'network unreachable',
  1: 'host unreachable',
  2: 'protocol unreachable',
  3: 'port unreachable',
  5: 'source route failed',
  6: 'network unknown',
  7: 'host unknown',
  9: 'network prohibited',
  10: 'host prohibited',
  13: 'administratively prohibited',
};
const ICMP6_UNREACHABLE: Readonly<Record<number, string>> = {
  0: 'no route',
  1: 'administratively prohibited',
  2: 'beyond scope',
  3: 'address unreachable',
  4: 'port unreachable',
  5: 'source policy failed',
  6: 'reject route',
};

const numberFormat = new Intl.NumberFormat('en-US');
const n = (x: number): string => numberFormat.format(x);
const plural = (count: number, one: string, many = `${one}s`): string =>
  `${n(count)} ${count === 1 ? one : many}`;

const endpointName = (k: Uint32Array): string => formatEndpointWords(k[0]!, k.subarray(1, 5), k[5]!, true);
const addressName = (k: Uint32Array): string => formatAddressWords(k[0]!, k.subarray(1, 5));

function ref(c: Conversation, count: number): ConversationRef {
  return {
    protocol: conversationProtocol(c.ipVersion, c.proto),
    a: formatEndpointWords(c.ipVersion, c.aAddress, c.aPort, c.hasPorts),
    b: formatEndpointWords(c.ipVersion, c.bAddress, c.bPort, c.hasPorts),
    count,
  };
}

/** The kept conversations `measure` gives a positive count for, most first. */
function concerned(kept: Conversation[], measure: (c: Conversation) => number): ConversationRef[] {
  const hits: [Conversation, number][] = [];
  for (const c of kept) {
    const m = measure(c);
    if (m > 0) hits.push([c, m]);
  }
  hits.sort((x, y) => y[1] - x[1] || y[0].bytes - x[0].bytes);
  return hits.slice(0, LISTED).map(([c, m]) => ref(c, m));
}

function examples(names: CountedName[], count = 3): string {
  return names
    .slice(0, count)
    .map((x) => `${x.name} (${n(x.count)})`)
    .join(', ');
}

/** The quoted datagrams of ICMP errors as conversation references. */
function quoted(tally: IcmpTally): ConversationRef[] {
  return tally.tuples.entries(LISTED).map(({ key: k, count }) => {
    const version = k[0]! >>> 8;
    const proto = k[0]! & 255;
    const hasPorts = proto === 6 || proto === 17;
    return {
      protocol: conversationProtocol(version, proto),
      a: formatEndpointWords(version, k.subarray(1, 5), k[9]! >>> 16, hasPorts),
      b: formatEndpointWords(version, k.subarray(5, 9), k[9]! & 0xffff, hasPorts),
      count,
    };
  });
}

function codeWords(tally: IcmpTally): string {
  return [...tally.codes.entries()]
    .sort((x, y) => y[1] - x[1])
    .map(([key, count]) => {
      const version = key >> 8;
      const code = key & 255;
      const word = (version === 4 ? ICMP4_UNREACHABLE : ICMP6_UNREACHABLE)[code] ?? `code ${code}`;
      return `${word} ×${n(count)}`;
    })
    .join(', ');
}

/**
 * The signals of a capture, most severe first, each with an exact count, the conversations it concerns (from the
 * kept ones) and, where they apply, its sources and targets from the bounded tallies.
 */
export function buildSignals(s: SignalInputs): Signal[] {
  const signals: Signal[] = [];
  if (s.partialReason !== undefined) {
    signals.push({
      kind: 'partial',
      severity: 'warning',
      message: `Only part of the capture was read (${n(s.packets)} packets): ${s.partialReason}.`,
      count: 1,
      conversations: [],
    });
  }
  if (s.headersCut > 0) {
    signals.push({
      kind: 'headers-cut',
      severity: s.headersCutNoPorts > 0 ? 'warning' : 'info',
      message:
        `${plural(s.headersCut, 'packet')} had headers cut by the snap length (bytes captured per packet)` +
        (s.headersCutNoPorts > 0
          ? `; ${n(s.headersCutNoPorts)} lost even their ports and count in the totals only`
          : '; all of them still count in their conversations, by their ports'),
      count: s.headersCut,
      conversations: [],
    });
  }
  const settled = s.settled;
  if (settled.unansweredSyn > 0) {
    const flood = settled.unansweredSyn >= SYN_FLOOD_THRESHOLD;
    const targets = settled.synTargets.top(LISTED, endpointName);
    const sources = settled.synSources.top(LISTED, addressName);
    const distinctSources = Math.max(sources.length, settled.synSourceCount.estimate());
    signals.push({
      kind: flood ? 'syn-flood' : 'unanswered-syn',
      severity: flood ? 'critical' : 'warning',
      message:
        `${plural(settled.unansweredSyn, 'TCP connection attempt')} got no answer (SYN never answered, ` +
        `Zeek S0) from ${flood ? 'about ' : ''}${plural(distinctSources, 'source')}` +
        (targets.length > 0 ? `; most to ${examples(targets)}` : ''),
      count: settled.unansweredSyn,
      conversations: concerned(s.kept, (c) => (c.connState() === 'S0' ? c.syn : 0)),
      sources,
      targets,
    });
  }
  if (settled.rejected > 0) {
    const targets = settled.rejectedTargets.top(LISTED, endpointName);
    signals.push({
      kind: 'rejected',
      severity: 'warning',
      message:
        `${plural(settled.rejected, 'TCP connection attempt')} refused (reset in reply to the SYN, Zeek REJ)` +
        (targets.length > 0 ? `, e.g. to ${examples(targets)}` : ''),
      count: settled.rejected,
      conversations: concerned(s.kept, (c) => (c.connState() === 'REJ' ? c.packets : 0)),
      targets,
    });
  }
  if (s.rstTotal > 0) {
    const sources = s.rstSenders.top(LISTED, endpointName);
    const resets = concerned(s.kept, (c) => c.rst);
    const byOriginator = (settled.states.get('RSTO') ?? 0) + (settled.states.get('RSTOS0') ?? 0);
    const byResponder = (settled.states.get('RSTR') ?? 0) + (settled.states.get('RSTRH') ?? 0);
    if (s.rstPeak >= RST_STORM_THRESHOLD) {
      signals.push({
        kind: 'rst-storm',
        severity: 'warning',
        message:
          `${n(s.rstPeak)} TCP resets within 1 s around ${isoTime(s.rstPeakSeconds, 0)} ` +
          `(${n(s.rstTotal)} in all; most from ${examples(sources, 1)})`,
        count: s.rstPeak,
        conversations: resets,
        sources,
      });
    }
    signals.push({
      kind: 'resets',
      severity: 'info',
      message:
        `${plural(s.rstTotal, 'TCP reset')}: ${plural(byOriginator, 'connection')} aborted by the originator ` +
        `(RSTO), ${n(byResponder)} by the responder (RSTR), ${n(settled.rejected)} refused (REJ)`,
      count: s.rstTotal,
      conversations: resets,
      sources,
    });
  }
  if (s.retransmissions > 0) {
    const rate = s.tcpSegments > 0 ? s.retransmissions / s.tcpSegments : 0;
    const conversations = concerned(s.kept, (c) => c.retransmissions);
    const worst = conversations[0];
    signals.push({
      kind: 'retransmissions',
      severity: s.retransmissions >= 10 && rate >= RETRANSMISSION_WARNING_RATE ? 'warning' : 'info',
      message:
        `${plural(s.retransmissions, 'TCP retransmission')} (segments sent again), ` +
        `${(rate * 100).toFixed(rate < 0.001 ? 3 : 1)}% of TCP segments` +
        (worst !== undefined ? `; most in ${worst.a} <-> ${worst.b}: ${n(worst.count)}` : ''),
      count: s.retransmissions,
      conversations,
      rate: Math.round(rate * 1e6) / 1e6,
    });
  }
  if (s.zeroWindows > 0) {
    const conversations = concerned(s.kept, (c) => c.zeroWindows);
    const worst = conversations[0];
    signals.push({
      kind: 'zero-window',
      severity: 'warning',
      message:
        `${plural(s.zeroWindows, 'TCP segment')} advertised a zero window (a receiver not reading)` +
        (worst !== undefined ? `; most in ${worst.a} <-> ${worst.b}: ${n(worst.count)}` : ''),
      count: s.zeroWindows,
      conversations,
    });
  }
  for (const [kind, tally] of [
    ['icmp-unreachable', s.unreachable],
    ['icmp-frag-needed', s.fragNeeded],
  ] as const) {
    if (tally.count === 0) continue;
    const conversations = quoted(tally);
    const sources = tally.reporters.top(LISTED, addressName);
    const first = conversations[0];
    const example = first === undefined ? '' : `, e.g. for ${first.protocol} ${first.a} -> ${first.b}`;
    const mtus = [...tally.mtus.keys()].sort((x, y) => x - y).join(', ');
    signals.push({
      kind,
      severity: 'warning',
      message:
        kind === 'icmp-unreachable'
          ? `${plural(tally.count, 'ICMP destination unreachable message')} (${codeWords(tally)})${example}`
          : `${plural(tally.count, 'ICMP fragmentation-needed / packet-too-big message')}` +
            `${mtus === '' ? '' : ` (next-hop MTU ${mtus})`}${example}`,
      count: tally.count,
      conversations,
      sources,
    });
  }
  const dns = s.dns;
  for (const [kind, outcome, count, words] of [
    ['dns-nxdomain', 3, dns.nxdomain, 'answered NXDOMAIN (no such name)'],
    ['dns-servfail', 2, dns.servfail, 'answered SERVFAIL (server failure)'],
    ['dns-no-answer', 255, dns.noAnswer, 'got no response in the capture'],
  ] as const) {
    if (count === 0) continue;
    const targets = dns.names.top(
      LISTED,
      (_k, label) => label ?? '(no name)',
      (k) => k[0] === outcome,
    );
    signals.push({
      kind,
      severity: kind === 'dns-nxdomain' ? 'info' : 'warning',
      message:
        `${plural(count, 'DNS query', 'DNS queries')} ${words}` +
        (targets.length > 0 ? `, e.g. ${examples(targets)}` : ''),
      count,
      conversations: dns.pairs
        .entries(LISTED, (k) => (k[0]! & 255) === outcome)
        .map(({ key: k, count: n }) => ({
          protocol: 'udp',
          a: formatEndpointWords(k[0]! >>> 8, k.subarray(1, 5), k[9]! >>> 16, true),
          b: formatEndpointWords(k[0]! >>> 8, k.subarray(5, 9), k[9]! & 0xffff, true),
          count: n,
        })),
      ...(kind !== 'dns-no-answer'
        ? { sources: dns.servers.top(LISTED, endpointName, (k) => k[6] === outcome) }
        : {}),
      targets,
    });
  }
  return signals
    .map((signal, i) => ({ signal, i }))
    .sort((x, y) => SEVERITY_ORDER[x.signal.severity] - SEVERITY_ORDER[y.signal.severity] || x.i - y.i)
    .map((x) => x.signal);
}
