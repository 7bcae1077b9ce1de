import { describe, expect, it } from 'vitest';
import type { SlackBlock, SlackPayload } from '../../../src/notify/toSlackPayload.js';
import { toSlackPayload } from '../../../src/notify/toSlackPayload.js';
import { BLOB_URL, completed, failed, SAS, summary } from './sampleNotification.js';

/** Checks a payload against the Block Kit limits Slack enforces; returns the problems found. */
function slackProblems(p: SlackPayload): string[] {
  const problems: string[] = [];
  if (typeof p.text !== 'string' || p.text.trim() === '') problems.push('text fallback missing');
  if (p.blocks.length > 50) problems.push(`${p.blocks.length} blocks`);
  p.blocks.forEach((b: SlackBlock, i) => {
    switch (b.type) {
      case 'header':
        if (b.text.type !== 'plain_text') problems.push(`blocks[${i}]: header must be plain_text`);
        if (b.text.text.length > 150) problems.push(`blocks[${i}]: header ${b.text.text.length} chars`);
        break;
      case 'section':
        if (!b.text && !b.fields) problems.push(`blocks[${i}]: section needs text or fields`);
        if (b.text && (b.text.text.length > 3000 || b.text.text.length === 0))
          problems.push(`blocks[${i}]: section text ${b.text.text.length} chars`);
        if (b.fields && b.fields.length > 10) problems.push(`blocks[${i}]: ${b.fields.length} fields`);
        for (const f of b.fields ?? [])
          if (f.text.length > 2000 || f.text.length === 0)
            problems.push(`blocks[${i}]: field ${f.text.length} chars`);
        break;
      case 'context':
        if (b.elements.length === 0 || b.elements.length > 10)
          problems.push(`blocks[${i}]: context elements`);
        for (const e of b.elements)
          if (e.text.length > 3000) problems.push(`blocks[${i}]: context text too long`);
        break;
      case 'actions':
        for (const e of b.elements) {
          if (e.text.text.length > 75) problems.push(`blocks[${i}]: button text too long`);
          if (e.url.length > 3000) problems.push(`blocks[${i}]: button url too long`);
        }
        break;
      case 'divider':
        break;
    }
  });
  return problems;
}

const json = (p: unknown): string => JSON.stringify(p);

describe('toSlackPayload', () => {
  it('has a text fallback naming the VM, rule and outcome', () => {
    expect(toSlackPayload(completed()).text).toBe(
      'Packet capture finished on vm1 (rule High CPU on web tier, Sev2): time limit reached, 4.50 MB',
    );
  });

  it('is within Block Kit limits for a completed capture', () => {
    expect(slackProblems(toSlackPayload(completed()))).toEqual([]);
  });

  it('is within Block Kit limits for a failed capture', () => {
    expect(slackProblems(toSlackPayload(failed()))).toEqual([]);
  });

  it('starts with a header and, for a failure, the reason right below it', () => {
    const p = toSlackPayload(failed());
    expect(p.blocks[0]).toMatchObject({ type: 'header', text: { text: '❌ Packet capture failed on vm1' } });
    const reason = p.blocks[1] as { text: { text: string } };
    expect(reason.text.text).toContain('*Why:* Network Watcher agent not installed on vm1');
    expect(reason.text.text).toContain('the Network Watcher agent on the VM stopped');
  });

  it('names the failure reason in the fallback text', () => {
    expect(toSlackPayload(failed()).text).toContain('Network Watcher agent not installed on vm1');
  });

  it('shows VM, rule, severity, status and stop reason as fields in plain words', () => {
    const fields = (toSlackPayload(completed()).blocks[1] as { fields: Array<{ text: string }> }).fields.map(
      (f) => f.text,
    );
    expect(fields).toEqual(
      expect.arrayContaining([
        '*VM*\nvm1',
        '*Rule*\nHigh CPU on web tier',
        '*Severity*\nSev2',
        '*Status*\nstopped',
        '*Stop reason*\ntime limit reached',
        '*Size*\n4.50 MB',
        '*Duration*\n4 min 12 s',
      ]),
    );
  });

  it('shows the full target and the capture file without its SAS', () => {
    const text = json(toSlackPayload(completed()));
    expect(text).toContain(completed().capture.target);
    expect(text).toContain(BLOB_URL);
    expect(text).not.toMatch(/sig=|sv=/);
  });

  it('carries no SAS when a failure reason or capture error quotes one', () => {
    const n = failed({ reason: `upload to ${BLOB_URL}${SAS} failed` });
    n.capture.errors = [`StorageFailed: ${BLOB_URL}${SAS}`];
    expect(json(toSlackPayload(n))).not.toContain('SECRETsignature');
  });

  it('escapes &, < and > from names so they cannot form links or mentions', () => {
    const n = completed();
    n.alert.rule = 'a <!channel> & <https://evil.example|click>';
    const text = json(toSlackPayload(n));
    expect(text).toContain('a &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    expect(text).not.toContain('<!channel>');
  });

  it('shows the idempotency key in a context block', () => {
    const p = toSlackPayload(completed());
    expect(p.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'Idempotency key: `alert-123:ac-vm1`' }],
    });
  });

  it('summarises totals, protocol mix, conversations and signals', () => {
    const text = json(toSlackPayload(completed()));
    expect(text).toContain('*Traffic:* 12,345 packets, 4.50 MB over 1 min');
    expect(text).toContain('*Protocols:* tcp 80% · udp 15% · icmp 5%');
    expect(text).toContain('Top conversations* (3 of 3, by bytes)');
    expect(text).toContain('42 TCP resets from 10.0.0.4:443 in 3 s');
  });

  it('lists the top 10 of 500 conversations and stays within limits', () => {
    const p = toSlackPayload(completed({ summary: summary(500) }));
    expect(slackProblems(p)).toEqual([]);
    const table = p.blocks
      .map((b) => (b.type === 'section' && b.text ? b.text.text : ''))
      .find((t) => t.includes('Top conversations'))!;
    expect(table).toContain('(10 of 500, by bytes)');
    expect(table.split('\n').filter((l) => l.includes('[2001:db8'))).toHaveLength(10);
    expect(table).toContain('10.0.0.1:40000');
    expect(table).not.toContain('10.0.0.11:40010');
  });

  it('counts the conversations of the whole capture, "about" when estimated, as the poller stores only 10', () => {
    const s = { ...summary(10), conversationsTotal: 996_109, conversationsTotalEstimated: true };
    expect(json(toSlackPayload(completed({ summary: s })))).toContain('(10 of about 996,109, by bytes)');
  });

  it('stays within limits when every text is huge', () => {
    const long = 'z'.repeat(10_000);
    const n = failed({ reason: long, summary: summary(500), idempotencyKey: long });
    n.alert.rule = long;
    n.capture.target = `${n.capture.target}/${long}`;
    n.capture.storagePath = `${BLOB_URL}/${long}${SAS}`;
    n.capture.errors = Array.from({ length: 100 }, () => `<${long}>`);
    n.summary!.signals = Array.from({ length: 100 }, () => ({
      kind: 'rst-storm' as const,
      severity: 'warning' as const,
      message: `&${long}`,
      count: 1,
    }));
    n.summary!.conversations[0]!.a = `${'a'.repeat(3000)}&<>`;
    const p = toSlackPayload(n);
    expect(slackProblems(p)).toEqual([]);
    expect(json(p)).not.toContain('SECRETsignature');
  });

  it('offers the explicit short-lived link as a button', () => {
    const link = `${BLOB_URL}${SAS}`;
    const n = completed();
    n.capture.link = link;
    const p = toSlackPayload(n);
    expect(p.blocks).toContainEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Download capture (short-lived link)' },
          url: link,
          action_id: 'download-capture',
        },
      ],
    });
    expect(slackProblems(p)).toEqual([]);
  });

  it('has no button without a link', () => {
    expect(toSlackPayload(completed()).blocks.some((b) => b.type === 'actions')).toBe(false);
  });

  it('lists capture errors of a completed capture under the file', () => {
    const n = completed();
    n.capture.errors = ['LocalFileFailed'];
    expect(json(toSlackPayload(n))).toContain(
      '*Capture errors*\\n• the capture file could not be written on the VM',
    );
  });

  it('renders a failure with no reason and no errors', () => {
    const n = failed();
    delete n.reason;
    n.capture.errors = [];
    const p = toSlackPayload(n);
    expect(slackProblems(p)).toEqual([]);
    expect(p.text).toContain('no reason given');
  });
});
