import type { CaptureSummary, ConversationStat, SignalKind, TalkerStat } from './types.js';

/** What changed from before an alert (the kept ring files) to after it (the post-alert capture). */
export interface SummaryChange {
  /** Conversations listed after that were not listed before, most bytes first. */
  newConversations: ConversationStat[];
  /** Top talkers after that were not among the top talkers before. */
  newTalkers: TalkerStat[];
  /** Signal kinds raised after and not before. */
  newSignals: SignalKind[];
  /** Bytes per second before and after (undefined for a side without a duration). */
  bytesPerSecond: { before?: number; after?: number };
  /**
   * True when "before" does not list every conversation (its table or the message's top N was full): a
   * conversation absent from its list may still have existed before, so `newConversations` may over-report.
   */
  beforeTruncated: boolean;
}

/**
 * Compares the summary of the minutes before an alert with the one after: new conversations (both directions
 * treated as one), new top talkers, new signal kinds and the byte rate. Only what the summaries list is compared,
 * and `beforeTruncated` says when that list was not complete.
 */
export function compareSummaries(before: CaptureSummary, after: CaptureSummary): SummaryChange {
  const key = (c: ConversationStat): string => `${c.protocol}|${[c.a, c.b].sort().join('|')}`;
  const seen = new Set(before.conversations.map(key));
  const talkers = new Set(before.topTalkers.map((t) => t.address));
  const signals = new Set(before.signals.map((s) => s.kind));
  const rate = (s: CaptureSummary): number | undefined =>
    s.durationSeconds > 0 ? s.bytes / s.durationSeconds : undefined;
  const beforeRate = rate(before);
  const afterRate = rate(after);
  return {
    newConversations: after.conversations.filter((c) => !seen.has(key(c))),
    newTalkers: after.topTalkers.filter((t) => !talkers.has(t.address)),
    newSignals: [...new Set(after.signals.map((s) => s.kind))].filter((k) => !signals.has(k)),
    bytesPerSecond: {
      ...(beforeRate === undefined ? {} : { before: beforeRate }),
      ...(afterRate === undefined ? {} : { after: afterRate }),
    },
    beforeTruncated:
      before.conversationsTruncated === true ||
      (before.conversationsTotal !== undefined && before.conversationsTotal > before.conversations.length),
  };
}
