import type { CaptureSummary, ConversationRef, ConversationStat, Signal } from '../pcap/types.js';
import { classifyAddress } from './classifyAddress.js';
import { countryName } from './countryNames.js';
import type { GeoAnswer } from './GeoDatabase.js';
import { endpointAddress } from './parseAddress.js';

/** A source of country and AS answers: the real {@link GeoDatabase}, or anything answering the same way. */
export interface GeoLookup {
  lookup(address: string): GeoAnswer;
}

/** Microsoft's autonomous systems (8075 and its regional siblings, 12076 for ExpressRoute). */
export const MICROSOFT_ASNS: ReadonlySet<number> = new Set([
  8068, 8069, 8070, 8071, 8072, 8073, 8074, 8075, 12076,
]);

/** What the page knows about one address, in short keys because a report can hold thousands. */
export interface AddressInfo {
  /** Country code from the geo database. */
  c?: string;
  /** AS number and organisation. */
  a?: number;
  o?: string;
  /** Bucket that wins over the country: `private`, `azure-platform`, `special`, `microsoft`. */
  k?: string;
  /** Words for that bucket, e.g. "Azure platform (Instance Metadata Service)". */
  l?: string;
}

/** Names of the buckets that are not countries, as the filter and the map show them. */
export const BUCKET_NAMES: Readonly<Record<string, string>> = {
  private: 'Private',
  'azure-platform': 'Azure platform',
  microsoft: 'Microsoft',
  special: 'Special-purpose',
};

/** The data the page's script needs besides the summary. */
export interface ReportContext {
  addresses: Record<string, AddressInfo>;
  countries: Record<string, string>;
  /** Per summary signal, the indices of the embedded conversations it concerns. */
  signals: number[][];
  /** The capture's own address (the one in most conversations): the other side of a conversation is "remote". */
  local: string;
  /** Epoch milliseconds of the first packet (0 without packets) and of the alert. */
  start: number;
  firedAt?: number;
  /** Conversations in the whole capture (the summary's `conversationsTotal`, else those listed). */
  total: number;
  /** Conversations left out of the page (the rest rolled up), when there were too many. */
  omitted?: { conversations: number; packets: number; bytes: number };
}

/** The address found in the most conversations (ties: more bytes), taken as the captured VM's own. */
export function localAddress(conversations: readonly ConversationStat[]): string {
  const counts = new Map<string, { n: number; bytes: number }>();
  for (const c of conversations) {
    for (const endpoint of [c.a, c.b]) {
      const address = endpointAddress(endpoint);
      const entry = counts.get(address) ?? { n: 0, bytes: 0 };
      entry.n++;
      entry.bytes += c.bytes;
      counts.set(address, entry);
    }
  }
  let best = '';
  let bestEntry = { n: 0, bytes: 0 };
  for (const [address, entry] of counts) {
    if (entry.n > bestEntry.n || (entry.n === bestEntry.n && entry.bytes > bestEntry.bytes)) {
      best = address;
      bestEntry = entry;
    }
  }
  return best;
}

/** The label and geo answer of one address; known labels are decided before the databases are asked. */
export function describeAddress(address: string, geo: GeoLookup): AddressInfo {
  const label = classifyAddress(address);
  if (label !== undefined) return { k: label.kind, l: label.description };
  const answer = geo.lookup(address);
  const info: AddressInfo = {};
  if (answer.country !== undefined) info.c = answer.country;
  if (answer.asn !== undefined) {
    info.a = answer.asn;
    if (answer.asOrganization !== undefined) info.o = answer.asOrganization;
    if (MICROSOFT_ASNS.has(answer.asn)) {
      info.k = 'microsoft';
      // Azure's anycast and regional ranges are often placed in the wrong country; say where the database put it.
      info.l = `Microsoft${answer.country !== undefined ? ` (geo data says ${answer.country})` : ''}`;
    }
  }
  return info;
}

function sameConversation(c: ConversationStat, ref: ConversationRef): boolean {
  if (ref.protocol !== c.protocol) return false;
  return (ref.a === c.a && ref.b === c.b) || (ref.a === c.b && ref.b === c.a);
}

/** Whether a conversation shows what a signal of this kind counts (for the kinds a conversation can show). */
function showsSignal(kind: Signal['kind'], c: ConversationStat): boolean {
  const tcp = c.tcp;
  switch (kind) {
    case 'rst-storm':
    case 'resets':
      return tcp !== undefined && tcp.rst > 0;
    case 'unanswered-syn':
    case 'syn-flood':
      return c.connState === 'S0' || (tcp !== undefined && tcp.syn > 0 && c.packetsBtoA === 0);
    case 'rejected':
      return c.connState === 'REJ';
    case 'retransmissions':
      return (tcp?.retransmissions ?? 0) > 0;
    case 'zero-window':
      return (tcp?.zeroWindows ?? 0) > 0;
    default:
      return false;
  }
}

/**
 * The conversations a signal concerns: those it lists (`{protocol, a, b}` references, at most ten) and every
 * listed conversation that shows what the signal counts (resets, unanswered SYNs, REJ, retransmissions...).
 */
export function signalConversations(signal: Signal, conversations: readonly ConversationStat[]): number[] {
  const out = new Set<number>();
  for (const ref of signal.conversations ?? []) {
    const index = conversations.findIndex((c) => sameConversation(c, ref));
    if (index >= 0) out.add(index);
  }
  conversations.forEach((c, index) => {
    if (showsSignal(signal.kind, c)) out.add(index);
  });
  if (signal.kind === 'retransmissions' && out.size === 0) {
    // A first-generation summary counts retransmissions per capture and names only the worst conversation.
    const named = / in (\S+) <-> (\S+):/.exec(signal.message);
    const index = named ? conversations.findIndex((c) => c.a === named[1] && c.b === named[2]) : -1;
    if (index >= 0) out.add(index);
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * Builds the page's context: a label, country and AS for every address the embedded conversations and top
 * talkers name, each signal's conversations, and the rolled-up rest when conversations were cut.
 */
export function buildReportContext(
  summary: CaptureSummary,
  embedded: readonly ConversationStat[],
  geo: GeoLookup,
  firedAt?: string,
): ReportContext {
  const addresses: Record<string, AddressInfo> = {};
  const countries: Record<string, string> = {};
  const note = (address: string): void => {
    if (Object.hasOwn(addresses, address)) return;
    const info = describeAddress(address, geo);
    addresses[address] = info;
    if (info.c !== undefined) countries[info.c] = countryName(info.c);
  };
  for (const c of embedded) {
    note(endpointAddress(c.a));
    note(endpointAddress(c.b));
  }
  for (const t of summary.topTalkers) note(t.address);
  const context: ReportContext = {
    addresses,
    countries,
    signals: summary.signals.map((s) => signalConversations(s, embedded)),
    local: localAddress(embedded),
    total: summary.conversationsTotal ?? summary.conversations.length,
    start: summary.startTime !== undefined ? Date.parse(summary.startTime) : 0,
  };
  const fired = firedAt !== undefined ? Date.parse(firedAt) : NaN;
  if (!Number.isNaN(fired)) context.firedAt = fired;
  const left = summary.conversations.length - embedded.length;
  if (left > 0) {
    const rest = summary.conversations.slice(embedded.length);
    context.omitted = {
      conversations: left,
      packets: rest.reduce((n, c) => n + c.packets, 0),
      bytes: rest.reduce((n, c) => n + c.bytes, 0),
    };
  }
  return context;
}
