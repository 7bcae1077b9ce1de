import type { CaptureNotification } from './captureNotification.js';
import type { ConversationRow } from './describeCapture.js';
import { describeCapture } from './describeCapture.js';
import { truncate } from './truncate.js';

/**
 * Slack Block Kit limits this renderer respects (https://docs.slack.dev/reference/block-kit/blocks):
 * Slack rejects the whole message (`invalid_blocks`) when one is exceeded, so every text is cut to fit.
 */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  buttonUrl: 3000,
  /** Our own cap on the notification fallback `text` (Slack's hard limit is far higher). */
  fallbackText: 3000,
} as const;

/** A Slack text object. */
export interface SlackText {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

/** The Block Kit blocks this renderer emits. */
export type SlackBlock =
  | { type: 'header'; text: SlackText & { type: 'plain_text' } }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' }
  | { type: 'actions'; elements: SlackButton[] };

/** A link button. */
export interface SlackButton {
  type: 'button';
  text: SlackText & { type: 'plain_text' };
  url: string;
  action_id: string;
}

/** The body posted to a Slack incoming webhook: `text` is the notification/accessibility fallback. */
export interface SlackPayload {
  text: string;
  blocks: SlackBlock[];
}

/** Escapes the three characters Slack mrkdwn treats as control characters. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code that cannot be broken out of by a backtick in the value. */
function code(text: string): string {
  return `\`${escapeSlack(text.replace(/`/g, "'"))}\``;
}

function mrkdwnSection(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SLACK_LIMITS.sectionText) } };
}

/** The conversations as a fixed-width table inside a code block, cut by whole rows to fit a section. */
function conversationTable(rows: ConversationRow[], total: string): string {
  const width = (pick: (r: ConversationRow) => string, header: string, max: number): number =>
    Math.min(max, Math.max(header.length, ...rows.map((r) => pick(r).length)));
  const wp = width((r) => r.protocol, 'proto', 8);
  const wa = width((r) => r.a, 'endpoint A', 48);
  const wb = width((r) => r.b, 'endpoint B', 48);
  const wy = width((r) => r.bytes, 'bytes', 10);
  const line = (p: string, a: string, b: string, y: string, k: string): string =>
    `${truncate(p, wp).padEnd(wp)}  ${truncate(a, wa).padEnd(wa)}  ${truncate(b, wb).padEnd(wb)}  ${truncate(y, wy).padStart(wy)}  ${truncate(k, 14)}`;
  const heading = `*Top conversations* (${rows.length} of ${total}, by bytes)\n`;
  const open = '```\n';
  const close = '\n```';
  const lines = [line('proto', 'endpoint A', 'endpoint B', 'bytes', 'packets')];
  let used = heading.length + open.length + close.length + lines[0]!.length;
  for (const r of rows) {
    const l = escapeSlack(line(r.protocol, r.a, r.b, r.bytes, r.packets));
    if (used + 1 + l.length > SLACK_LIMITS.sectionText) break;
    lines.push(l);
    used += 1 + l.length;
  }
  return `${heading}${open}${lines.join('\n')}${close}`;
}

/**
 * Renders a notification as a Slack incoming-webhook message: a header, the reason first for failures, the
 * key facts as fields, target and file, the traffic summary (totals, protocol mix, top conversations, signals),
 * a download button when `capture.link` is set, and a context line with the idempotency key. Pure; always within
 * {@link SLACK_LIMITS}; never carries a storage query string.
 */
export function toSlackPayload(n: CaptureNotification): SlackPayload {
  const d = describeCapture(n);
  const blocks: SlackBlock[] = [];

  blocks.push({
    type: 'header',
    text: {
      type: 'plain_text',
      text: truncate(`${d.failed ? '❌' : '✅'} ${d.title}`, SLACK_LIMITS.headerText),
      emoji: true,
    },
  });

  if (d.failed) {
    const lines = [`:rotating_light: *Why:* ${escapeSlack(d.reason ?? 'no reason given')}`];
    for (const e of d.errors) lines.push(`• ${escapeSlack(e)}`);
    blocks.push(mrkdwnSection(lines.join('\n')));
  }

  blocks.push({
    type: 'section',
    fields: d.facts.slice(0, SLACK_LIMITS.fields).map((f) => ({
      type: 'mrkdwn',
      text: truncate(`*${f.label}*\n${escapeSlack(f.value)}`, SLACK_LIMITS.fieldText),
    })),
  });

  const where = [`*Target*\n${code(d.target)}`];
  if (d.storagePath !== undefined) where.push(`*Capture file*\n${code(d.storagePath)}`);
  if (!d.failed && d.errors.length > 0)
    where.push(`*Capture errors*\n${d.errors.map((e) => `• ${escapeSlack(e)}`).join('\n')}`);
  blocks.push(mrkdwnSection(where.join('\n')));

  const report = d.report;
  const buttons: SlackButton[] = [];
  if (report !== undefined && report.length <= SLACK_LIMITS.buttonUrl) {
    buttons.push({
      type: 'button',
      text: { type: 'plain_text', text: 'Open report' },
      url: report,
      action_id: 'open-report',
    });
  }
  if (d.link !== undefined && d.link.length <= SLACK_LIMITS.buttonUrl) {
    buttons.push({
      type: 'button',
      text: { type: 'plain_text', text: 'Download capture (short-lived link)' },
      url: d.link,
      action_id: 'download-capture',
    });
  }
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });

  const b = d.before;
  if (b) {
    blocks.push({ type: 'divider' });
    const lines = [`*${escapeSlack(b.heading)}*`];
    if (b.totals) lines.push(escapeSlack(b.totals));
    for (const w of b.warnings) lines.push(`:warning: ${escapeSlack(w)}`);
    blocks.push(mrkdwnSection(lines.join('\n')));
    if (b.changes.length > 0) {
      blocks.push(
        mrkdwnSection(
          `*What changed after the alert*\n${b.changes.map((c) => `• ${escapeSlack(c)}`).join('\n')}`,
        ),
      );
    }
    if (b.files.length > 0)
      blocks.push({
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: truncate(
              `Kept files (capture-kept): ${b.files.map(code).join(', ')}`,
              SLACK_LIMITS.sectionText,
            ),
          },
        ],
      });
  }

  const t = d.traffic;
  if (t) {
    blocks.push({ type: 'divider' });
    const lines = [`*Traffic:* ${escapeSlack(t.totals)}`];
    if (t.protocolMix) lines.push(`*Protocols:* ${escapeSlack(t.protocolMix)}`);
    if (t.partial) lines.push(`_${escapeSlack(t.partial)}_`);
    blocks.push(mrkdwnSection(lines.join('\n')));
    if (t.conversations.length > 0)
      blocks.push(mrkdwnSection(conversationTable(t.conversations, t.conversationCountText)));
    if (t.signals.length > 0) {
      blocks.push(mrkdwnSection(`*Signals*\n${t.signals.map((s) => `• ${escapeSlack(s)}`).join('\n')}`));
    }
  }

  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: truncate(`Idempotency key: ${code(d.idempotencyKey)}`, SLACK_LIMITS.sectionText),
      },
    ],
  });

  return {
    text: truncate(escapeSlack(d.oneLine), SLACK_LIMITS.fallbackText),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
  };
}
