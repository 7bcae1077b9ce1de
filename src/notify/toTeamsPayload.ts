import type { CaptureNotification } from './captureNotification.js';
import type { CaptureDescription, ConversationRow } from './describeCapture.js';
import { describeCapture } from './describeCapture.js';
import { truncate } from './truncate.js';

/** The Adaptive Card schema version emitted: 1.4 renders everywhere Teams does (Table needs 1.5, so none is used). */
export const ADAPTIVE_CARD_VERSION = '1.4';

/** The `$schema` every card carries. */
export const ADAPTIVE_CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';

/** Longest texts put into the card, by kind; later entries are the fallbacks for very large inputs. */
interface TextCaps {
  /** Reason, target, file path, other TextBlocks. */
  text: number;
  /** Title, one capture error, one signal. */
  item: number;
  /** One fact value. */
  fact: number;
}
/** The idempotency key is shown whole up to this length (ARM alert id plus capture name fit). */
const MAX_KEY = 1000;

const CAPS: readonly TextCaps[] = [
  { text: 2000, item: 300, fact: 500 },
  { text: 500, item: 120, fact: 150 },
  // Even if every character took 6 bytes of JSON (`\u0001`), this stays well under the limit.
  { text: 200, item: 60, fact: 60 },
];

/**
 * Largest message body in bytes. Teams rejects messages over about 28 KB ("Request Entity Too Large"), counted
 * on its side after wrapping, so this keeps a margin.
 */
export const TEAMS_MAX_PAYLOAD_BYTES = 24_000;

/** An Adaptive Card TextBlock (subset of properties used here). */
export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap?: boolean;
  size?: 'Small' | 'Default' | 'Medium' | 'Large';
  weight?: 'Lighter' | 'Default' | 'Bolder';
  color?: 'Default' | 'Good' | 'Warning' | 'Attention' | 'Accent';
  isSubtle?: boolean;
  fontType?: 'Default' | 'Monospace';
  spacing?: 'None' | 'Small' | 'Default' | 'Medium' | 'Large';
  separator?: boolean;
}

/** An Adaptive Card FactSet. */
export interface FactSet {
  type: 'FactSet';
  facts: Array<{ title: string; value: string }>;
  spacing?: TextBlock['spacing'];
}

/** An Adaptive Card Column. */
export interface Column {
  type: 'Column';
  width: 'auto' | 'stretch' | number;
  items: CardElement[];
}

/** An Adaptive Card ColumnSet. */
export interface ColumnSet {
  type: 'ColumnSet';
  columns: Column[];
  spacing?: TextBlock['spacing'];
  separator?: boolean;
}

/** The card elements this renderer emits. */
export type CardElement = TextBlock | FactSet | ColumnSet;

/** An `Action.OpenUrl`, the only action used (the download link). */
export interface OpenUrlAction {
  type: 'Action.OpenUrl';
  title: string;
  url: string;
}

/** An Adaptive Card, version {@link ADAPTIVE_CARD_VERSION}. */
export interface AdaptiveCard {
  $schema: typeof ADAPTIVE_CARD_SCHEMA;
  type: 'AdaptiveCard';
  version: typeof ADAPTIVE_CARD_VERSION;
  body: CardElement[];
  actions?: OpenUrlAction[];
  msteams?: { width: 'Full' };
}

/**
 * The body posted to a Teams Workflows webhook ("Send webhook alerts to a channel"): one message with one
 * Adaptive Card attachment.
 */
export interface TeamsPayload {
  type: 'message';
  attachments: Array<{
    contentType: 'application/vnd.microsoft.card.adaptive';
    contentUrl: null;
    content: AdaptiveCard;
  }>;
}

function textBlock(value: string, max: number, extra: Omit<TextBlock, 'type' | 'text'> = {}): TextBlock {
  return { type: 'TextBlock', text: truncate(value, max), wrap: true, ...extra };
}

function conversationRow(r: ConversationRow, header: boolean): ColumnSet {
  const cell = (value: string, width: Column['width']): Column => ({
    type: 'Column',
    width,
    items: [
      {
        type: 'TextBlock',
        text: truncate(value, 60),
        wrap: true,
        size: 'Small',
        ...(header ? { weight: 'Bolder' as const } : { fontType: 'Monospace' as const }),
      },
    ],
  });
  // Same widths on every row, so the rows line up as a table.
  return {
    type: 'ColumnSet',
    spacing: 'None',
    columns: [cell(r.protocol, 1), cell(r.a, 4), cell(r.b, 4), cell(r.bytes, 2), cell(r.packets, 2)],
  };
}

/**
 * Renders a notification as a Teams Workflows webhook message holding one Adaptive Card 1.4: the title, the
 * reason first for failures, the facts (VM, rule, severity, status, stop reason, size, duration...), target and
 * file, the traffic summary with the top conversations as a table of ColumnSets, a download action when
 * `capture.link` is set, and the idempotency key in small print. Pure; never carries a storage query string.
 */
export function toTeamsPayload(n: CaptureNotification): TeamsPayload {
  const d = describeCapture(n);
  let payload: TeamsPayload | undefined;
  for (const caps of CAPS) {
    payload = render(d, caps);
    if (Buffer.byteLength(JSON.stringify(payload)) <= TEAMS_MAX_PAYLOAD_BYTES) return payload;
  }
  return payload!;
}

/**
 * The message with texts cut to `caps`. When it is still too large, trailing details (signals, conversations,
 * traffic) are dropped one element at a time, keeping the title, reason, facts, target and file.
 */
function render(d: CaptureDescription, caps: TextCaps): TeamsPayload {
  const text = (value: string, extra: Omit<TextBlock, 'type' | 'text'> = {}): TextBlock =>
    textBlock(value, caps.text, extra);
  const body: CardElement[] = [
    textBlock(d.title, caps.item, {
      size: 'Large',
      weight: 'Bolder',
      color: d.failed ? 'Attention' : 'Good',
    }),
  ];

  if (d.failed) {
    body.push(text(`Why: ${d.reason ?? 'no reason given'}`, { weight: 'Bolder', color: 'Attention' }));
    for (const e of d.errors)
      body.push(textBlock(`• ${e}`, caps.item, { color: 'Attention', spacing: 'None' }));
  }

  body.push({
    type: 'FactSet',
    facts: d.facts.map((f) => ({ title: f.label, value: truncate(f.value, caps.fact) })),
  });

  const where: FactSet = {
    type: 'FactSet',
    facts: [{ title: 'Target', value: truncate(d.target, caps.text) }],
  };
  if (d.storagePath !== undefined)
    where.facts.push({ title: 'Capture file', value: truncate(d.storagePath, caps.text) });
  if (!d.failed && d.errors.length > 0)
    where.facts.push({ title: 'Capture errors', value: truncate(d.errors.join('; '), caps.text) });
  body.push(where);
  // What the message keeps whatever else has to go.
  const essentials = body.length;

  // Before the capture's own traffic, so that the chat message drops the traffic details first: for a capture
  // that failed, the kept files are the only evidence.
  const b = d.before;
  if (b) {
    body.push(text(b.heading, { weight: 'Bolder', separator: true, spacing: 'Medium' }));
    if (b.totals) body.push(text(b.totals, { spacing: 'None' }));
    for (const w of b.warnings) body.push(text(`⚠️ ${w}`, { color: 'Warning', spacing: 'None' }));
    if (b.changes.length > 0) {
      body.push(text('What changed after the alert', { weight: 'Bolder', spacing: 'Small' }));
      for (const c of b.changes) body.push(textBlock(`• ${c}`, caps.item, { spacing: 'None' }));
    }
    if (b.files.length > 0)
      body.push(text(`Kept files (capture-kept): ${b.files.join(', ')}`, { isSubtle: true, size: 'Small' }));
  }

  const t = d.traffic;
  if (t) {
    body.push(text('Traffic', { weight: 'Bolder', separator: true, spacing: 'Medium' }));
    body.push(text(t.totals, { spacing: 'None' }));
    if (t.protocolMix) body.push(text(`Protocols: ${t.protocolMix}`, { spacing: 'None' }));
    if (t.partial) body.push(text(t.partial, { color: 'Warning', spacing: 'None' }));
    if (t.conversations.length > 0) {
      body.push(
        text(`Top conversations (${t.conversations.length} of ${t.conversationCountText}, by bytes)`, {
          weight: 'Bolder',
          spacing: 'Medium',
        }),
      );
      body.push(
        conversationRow(
          { protocol: 'proto', a: 'endpoint A', b: 'endpoint B', bytes: 'bytes', packets: 'packets' },
          true,
        ),
      );
      for (const r of t.conversations) body.push(conversationRow(r, false));
    }
    if (t.signals.length > 0) {
      body.push(text('Signals', { weight: 'Bolder', spacing: 'Medium' }));
      for (const s of t.signals) body.push(textBlock(`• ${s}`, caps.item, { spacing: 'None' }));
    }
  }

  const footer = textBlock(`Idempotency key: ${d.idempotencyKey}`, MAX_KEY, {
    size: 'Small',
    isSubtle: true,
    separator: true,
  });
  const card: AdaptiveCard = {
    $schema: ADAPTIVE_CARD_SCHEMA,
    type: 'AdaptiveCard',
    version: ADAPTIVE_CARD_VERSION,
    body: [...body, footer],
    // Teams-only hint: the conversations table needs the full message width.
    msteams: { width: 'Full' },
  };
  const report = d.report;
  const actions: OpenUrlAction[] = [];
  if (report !== undefined) actions.push({ type: 'Action.OpenUrl', title: 'Open report', url: report });
  if (d.link !== undefined) {
    actions.push({ type: 'Action.OpenUrl', title: 'Download capture (short-lived link)', url: d.link });
  }
  if (actions.length > 0) card.actions = actions;
  const payload: TeamsPayload = {
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
    ],
  };

  // Safety net for extreme inputs (every text at its cap): drop trailing details, keeping the title, the reason
  // and the facts, rather than have Teams refuse the whole message.
  while (Buffer.byteLength(JSON.stringify(payload)) > TEAMS_MAX_PAYLOAD_BYTES && body.length > essentials) {
    body.pop();
    card.body = [
      ...body,
      text('(message shortened: the webhook JSON has every detail)', { isSubtle: true }),
      footer,
    ];
  }
  return payload;
}
