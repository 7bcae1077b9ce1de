import { describe, expect, it } from 'vitest';
import { toTeamsPayload } from '../../../src/notify/toTeamsPayload.js';
import { BLOB_URL, completed, conversations, failed, SAS, summary } from './sampleNotification.js';

/**
 * A validator for the Adaptive Card 1.4 subset Teams renders and this app uses: every element of a known type,
 * its required properties present, no property outside the schema, enum values from the schema.
 * Returns the problems found (empty when valid).
 */
function validateCard(card: unknown): string[] {
  const problems: string[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const spacing = ['None', 'Small', 'Default', 'Medium', 'Large', 'ExtraLarge', 'Padding'];
  const common = ['type', 'id', 'spacing', 'separator', 'isVisible', 'height', 'fallback', 'requires'];
  const allowed: Record<string, string[]> = {
    TextBlock: [
      ...common,
      'text',
      'wrap',
      'size',
      'weight',
      'color',
      'isSubtle',
      'fontType',
      'maxLines',
      'horizontalAlignment',
      'style',
    ],
    FactSet: [...common, 'facts'],
    ColumnSet: [...common, 'columns', 'style', 'bleed', 'minHeight', 'horizontalAlignment', 'selectAction'],
    Container: [
      ...common,
      'items',
      'style',
      'bleed',
      'minHeight',
      'verticalContentAlignment',
      'selectAction',
    ],
  };
  const enums: Record<string, string[]> = {
    spacing,
    size: ['Small', 'Default', 'Medium', 'Large', 'ExtraLarge'],
    weight: ['Lighter', 'Default', 'Bolder'],
    color: ['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention'],
    fontType: ['Default', 'Monospace'],
  };
  const element = (e: unknown, at: string): void => {
    if (!isObj(e) || typeof e.type !== 'string') return void problems.push(`${at}: not an element`);
    const props = allowed[e.type];
    if (!props) return void problems.push(`${at}: unknown element type ${e.type}`);
    for (const k of Object.keys(e))
      if (!props.includes(k)) problems.push(`${at}: ${e.type} has no property ${k}`);
    for (const [k, values] of Object.entries(enums)) {
      if (k in e && !values.includes(String(e[k])))
        problems.push(`${at}.${k}: ${String(e[k])} is not allowed`);
    }
    if (e.type === 'TextBlock' && (typeof e.text !== 'string' || e.text === ''))
      problems.push(`${at}: TextBlock needs text`);
    if (e.type === 'FactSet') {
      if (!Array.isArray(e.facts) || e.facts.length === 0) problems.push(`${at}: FactSet needs facts`);
      else
        e.facts.forEach((f, i) => {
          if (
            !isObj(f) ||
            typeof f.title !== 'string' ||
            typeof f.value !== 'string' ||
            Object.keys(f).length !== 2
          )
            problems.push(`${at}.facts[${i}]: a fact is exactly { title, value } strings`);
        });
    }
    if (e.type === 'ColumnSet') {
      if (!Array.isArray(e.columns)) return void problems.push(`${at}: ColumnSet needs columns`);
      e.columns.forEach((c, i) => {
        if (!isObj(c) || c.type !== 'Column') return void problems.push(`${at}.columns[${i}]: not a Column`);
        for (const k of Object.keys(c))
          if (
            !['type', 'items', 'width', 'spacing', 'separator', 'style', 'verticalContentAlignment'].includes(
              k,
            )
          )
            problems.push(`${at}.columns[${i}]: Column has no property ${k}`);
        if (!Array.isArray(c.items)) return void problems.push(`${at}.columns[${i}]: Column needs items`);
        c.items.forEach((item, j) => element(item, `${at}.columns[${i}].items[${j}]`));
      });
    }
  };
  if (!isObj(card)) return ['card is not an object'];
  if (card.type !== 'AdaptiveCard') problems.push('type must be AdaptiveCard');
  if (card.$schema !== 'http://adaptivecards.io/schemas/adaptive-card.json') problems.push('wrong $schema');
  if (card.version !== '1.4') problems.push('version must be 1.4');
  if (!Array.isArray(card.body) || card.body.length === 0) problems.push('body must be a non-empty array');
  else card.body.forEach((e, i) => element(e, `body[${i}]`));
  if ('actions' in card) {
    if (!Array.isArray(card.actions)) problems.push('actions must be an array');
    else
      card.actions.forEach((a, i) => {
        if (
          !isObj(a) ||
          a.type !== 'Action.OpenUrl' ||
          typeof a.title !== 'string' ||
          typeof a.url !== 'string'
        )
          problems.push(`actions[${i}]: only Action.OpenUrl { title, url } is used`);
      });
  }
  return problems;
}

function cardOf(payload: ReturnType<typeof toTeamsPayload>): Record<string, unknown> {
  expect(payload.attachments).toHaveLength(1);
  return payload.attachments[0]!.content as unknown as Record<string, unknown>;
}

function allText(payload: unknown): string {
  return JSON.stringify(payload);
}

describe('toTeamsPayload', () => {
  it('is a Workflows webhook message with one Adaptive Card attachment', () => {
    const payload = toTeamsPayload(completed());
    expect(payload.type).toBe('message');
    expect(payload.attachments).toHaveLength(1);
    expect(payload.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(payload.attachments[0]!.content.type).toBe('AdaptiveCard');
  });

  it('renders a valid Adaptive Card 1.4 for a completed capture', () => {
    expect(validateCard(cardOf(toTeamsPayload(completed())))).toEqual([]);
  });

  it('renders a valid Adaptive Card 1.4 for a failed capture', () => {
    expect(validateCard(cardOf(toTeamsPayload(failed())))).toEqual([]);
  });

  it('the validator catches an element type outside the subset', () => {
    const card = cardOf(toTeamsPayload(completed()));
    (card.body as unknown[]).push({ type: 'Table', rows: [] });
    expect(validateCard(card)).toContain(
      'body[' + String((card.body as unknown[]).length - 1) + ']: unknown element type Table',
    );
  });

  it('says what happened in plain words: VM, full target, rule, severity, status, stop reason, size, duration', () => {
    const text = allText(toTeamsPayload(completed()));
    expect(text).toContain('Packet capture finished on vm1');
    expect(text).toContain(completed().capture.target);
    expect(text).toContain('High CPU on web tier');
    expect(text).toContain('Sev2');
    expect(text).toContain('"value":"stopped"');
    expect(text).toContain('time limit reached');
    expect(text).toContain('4.50 MB');
    expect(text).toContain('4 min 12 s');
  });

  it('shows an unknown stop reason as given', () => {
    const n = completed();
    n.capture.stopReason = 'SomethingNew';
    expect(allText(toTeamsPayload(n))).toContain('"value":"SomethingNew"');
  });

  it('puts the failure reason right after the title', () => {
    const body = cardOf(toTeamsPayload(failed())).body as Array<{ text?: string; color?: string }>;
    expect(body[0]!.text).toBe('Packet capture failed on vm1');
    expect(body[1]!.text).toBe('Why: Network Watcher agent not installed on vm1');
    expect(body[1]!.color).toBe('Attention');
    expect(body[2]!.text).toBe('• the Network Watcher agent on the VM stopped');
  });

  it('shows the capture file without its SAS query string', () => {
    const text = allText(toTeamsPayload(completed()));
    expect(text).toContain('packetcapture_10_00_00_000.cap"');
    expect(text).not.toMatch(/sig=|sv=|\?sv/);
    expect(text).not.toContain(SAS);
  });

  it('carries no SAS when a failure reason or capture error quotes one', () => {
    const n = failed({ reason: `upload to https://st.blob.core.windows.net/c/f.cap${SAS} failed` });
    n.capture.errors = [`StorageFailed at https://st.blob.core.windows.net/c/f.cap${SAS}`];
    expect(allText(toTeamsPayload(n))).not.toContain('SECRETsignature');
  });

  it('offers the explicit short-lived link as a download action', () => {
    const link = `https://st.blob.core.windows.net/c/f.cap${SAS}`;
    const n = completed();
    n.capture.link = link;
    const card = cardOf(toTeamsPayload(n));
    expect(card.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Download capture (short-lived link)', url: link },
    ]);
    expect(validateCard(card)).toEqual([]);
  });

  it('drops a link that is not http(s)', () => {
    const n = completed();
    n.capture.link = 'javascript:alert(1)';
    expect(cardOf(toTeamsPayload(n)).actions).toBeUndefined();
  });

  it('shows the idempotency key', () => {
    expect(allText(toTeamsPayload(completed()))).toContain('Idempotency key: alert-123:ac-vm1');
  });

  it('lists totals, protocol mix and signals', () => {
    const text = allText(toTeamsPayload(completed()));
    expect(text).toContain('12,345 packets, 4.50 MB over 1 min');
    expect(text).toContain('Protocols: tcp 80% · udp 15% · icmp 5%');
    expect(text).toContain('42 TCP resets from 10.0.0.4:443 in 3 s');
  });

  it('counts the conversations of the whole capture, "about" when estimated', () => {
    const s = { ...summary(10), conversationsTotal: 996_109, conversationsTotalEstimated: true };
    expect(allText(toTeamsPayload(completed({ summary: s })))).toContain(
      'Top conversations (10 of about 996,109, by bytes)',
    );
  });

  it('shows the top 10 of 500 conversations as table rows, biggest first', () => {
    const payload = toTeamsPayload(completed({ summary: summary(500) }));
    const body = cardOf(payload).body as Array<{
      type: string;
      columns?: Array<{ items: Array<{ text: string }> }>;
    }>;
    const rows = body.filter((e) => e.type === 'ColumnSet');
    expect(rows).toHaveLength(11); // header + 10
    expect(rows[1]!.columns![1]!.items[0]!.text).toBe(conversations(500)[0]!.a);
    expect(allText(payload)).toContain('Top conversations (10 of 500, by bytes)');
  });

  it('stays under the 28 KB Teams message limit with 500 conversations and long texts', () => {
    const n = completed({ summary: summary(500), reason: 'x'.repeat(50_000) });
    n.capture.errors = Array.from({ length: 200 }, () => 'e'.repeat(1000));
    n.summary!.signals = Array.from({ length: 200 }, () => ({
      kind: 'retransmissions' as const,
      severity: 'info' as const,
      message: 'm'.repeat(1000),
      count: 1,
    }));
    const payload = toTeamsPayload(n);
    expect(Buffer.byteLength(JSON.stringify(payload))).toBeLessThan(28_000);
    expect(validateCard(cardOf(payload))).toEqual([]);
  });

  it('drops trailing details but keeps reason and facts when every text is long and multi-byte', () => {
    const long = '漢'.repeat(5000);
    const n = failed({ reason: long, summary: summary(500) });
    n.alert.rule = long;
    n.alert.severity = long;
    n.capture.region = long;
    n.capture.storagePath = `${BLOB_URL}/${long}${SAS}`;
    n.capture.errors = Array.from({ length: 50 }, () => long);
    n.summary!.signals = Array.from({ length: 50 }, () => ({
      kind: 'partial' as const,
      severity: 'warning' as const,
      message: long,
      count: 1,
    }));
    const payload = toTeamsPayload(n);
    const text = allText(payload);
    expect(Buffer.byteLength(text)).toBeLessThan(28_000);
    expect(validateCard(cardOf(payload))).toEqual([]);
    expect(text).toContain('Why: 漢漢漢');
    expect(text).toContain('"title":"Rule"');
    expect(text).toContain('Idempotency key: alert-456:ac-vm1');
  });

  it('stays under the limit when every text is made of characters JSON escapes to six bytes', () => {
    const long = '\u0001'.repeat(5000);
    const n = failed({ reason: long, summary: summary(20), idempotencyKey: long });
    n.alert.rule = long;
    n.capture.target = `${n.capture.target}${long}`;
    n.capture.errors = Array.from({ length: 50 }, () => long);
    expect(Buffer.byteLength(JSON.stringify(toTeamsPayload(n)))).toBeLessThan(28_000);
  });

  it('renders a completed capture with no summary, size or times', () => {
    const n = completed({ summary: undefined });
    delete n.capture.sizeBytes;
    delete n.capture.startedAt;
    const payload = toTeamsPayload(n);
    expect(validateCard(cardOf(payload))).toEqual([]);
    expect(allText(payload)).not.toContain('Traffic');
  });
});
