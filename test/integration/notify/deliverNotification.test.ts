import { once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/logger.js';
import { toWebhookPayload } from '../../../src/notify/captureNotification.js';
import { deliverNotification } from '../../../src/notify/deliverNotification.js';
import { toSlackPayload } from '../../../src/notify/toSlackPayload.js';
import { toTeamsPayload } from '../../../src/notify/toTeamsPayload.js';
import { completed, failed } from '../../unit/notify/sampleNotification.js';

interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback receiver that records every request; `handle` decides the answer (200 by default). */
async function startReceiver(handle: Handler = (_req, res) => res.writeHead(200).end('ok')) {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(text),
      });
      handle(req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = async (): Promise<void> => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  };
  receivers.push(stop);
  return { base, requests, stop };
}

const receivers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((stop) => stop()));
});

/** URL parts that are secrets: none may appear in a result or a log line. */
const SECRETS = ['T0SECRET', 'B0SECRET', 'XoxSecretToken', 'sig=', 'FunctionKey123', 'workflows'];

function targetsAt(base: string) {
  return {
    webhookUrl: `${base}/hooks/capture?code=FunctionKey123`,
    teamsWebhookUrl: `${base}/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=TeamsSig`,
    slackWebhookUrl: `${base}/services/T0SECRET/B0SECRET/XoxSecretToken`,
  };
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (message: string, ...args: unknown[]): void => {
    lines.push([message, ...args.map((a) => JSON.stringify(a))].join(' '));
  };
  return { lines, info: push, warn: push, error: push };
}

function expectNoSecrets(text: string, base: string): void {
  for (const s of SECRETS) expect(text).not.toContain(s);
  expect(text).not.toContain(base);
}

describe('deliverNotification', () => {
  it('posts the JSON body for each target to its URL', async () => {
    const r = await startReceiver();
    const n = completed();
    const result = await deliverNotification(n, targetsAt(r.base));

    expect(result).toEqual({
      ok: true,
      results: [
        { target: 'webhook', ok: true, status: 200 },
        { target: 'teams', ok: true, status: 200 },
        { target: 'slack', ok: true, status: 200 },
      ],
    });
    const byPath = (prefix: string) => r.requests.find((q) => q.path.startsWith(prefix))!;
    expect(r.requests).toHaveLength(3);
    expect(
      r.requests.every((q) => q.method === 'POST' && q.headers['content-type'] === 'application/json'),
    ).toBe(true);
    expect(byPath('/hooks/').body).toEqual(toWebhookPayload(n));
    expect(byPath('/workflows/').body).toEqual(toTeamsPayload(n));
    expect(byPath('/services/').body).toEqual(toSlackPayload(n));
  });

  it('sends the idempotency key as the Idempotency-Key header of the generic webhook', async () => {
    const r = await startReceiver();
    await deliverNotification(completed(), { webhookUrl: `${r.base}/hook` });
    expect(r.requests[0]!.headers['idempotency-key']).toBe('alert-123:ac-vm1');
  });

  it('sends the same key on a retry of the same notification', async () => {
    const r = await startReceiver();
    await deliverNotification(completed(), { webhookUrl: `${r.base}/hook` });
    await deliverNotification(completed(), { webhookUrl: `${r.base}/hook` });
    expect(r.requests.map((q) => q.headers['idempotency-key'])).toEqual([
      'alert-123:ac-vm1',
      'alert-123:ac-vm1',
    ]);
  });

  it('the generic webhook body carries no SAS from the storage path', async () => {
    const r = await startReceiver();
    await deliverNotification(completed(), { webhookUrl: `${r.base}/hook` });
    expect(JSON.stringify(r.requests[0]!.body)).not.toContain('sig=');
  });

  it('a 500 from one target fails that target only', async () => {
    const r = await startReceiver((req, res) => {
      if (req.url?.startsWith('/workflows/')) res.writeHead(500).end('Internal Server Error');
      else res.writeHead(202).end();
    });
    const result = await deliverNotification(failed(), targetsAt(r.base));

    expect(result.ok).toBe(false);
    expect(result.results).toEqual([
      { target: 'webhook', ok: true, status: 202 },
      { target: 'teams', ok: false, status: 500, error: 'teams: HTTP 500 (Internal Server Error)' },
      { target: 'slack', ok: true, status: 202 },
    ]);
  });

  it('reports a short error token from the answer (Slack style)', async () => {
    const r = await startReceiver((_req, res) => res.writeHead(400).end('invalid_blocks'));
    const result = await deliverNotification(completed(), {
      slackWebhookUrl: targetsAt(r.base).slackWebhookUrl,
    });
    expect(result.results[0]!.error).toBe('slack: HTTP 400 (invalid_blocks)');
  });

  it('never repeats an answer body that could echo the URL', async () => {
    const r = await startReceiver((req, res) => res.writeHead(404).end(`No route for ${req.url ?? ''}`));
    const result = await deliverNotification(completed(), targetsAt(r.base));
    expect(result.results.map((x) => x.error)).toEqual([
      'webhook: HTTP 404',
      'teams: HTTP 404',
      'slack: HTTP 404',
    ]);
  });

  it('never repeats an answer that is a piece of the URL', async () => {
    const r = await startReceiver((_req, res) => res.writeHead(403).end('XoxSecretToken'));
    const result = await deliverNotification(completed(), {
      slackWebhookUrl: targetsAt(r.base).slackWebhookUrl,
    });
    expect(result.results[0]!.error).toBe('slack: HTTP 403');
  });

  it('a receiver that never answers fails with a timeout error', async () => {
    const r = await startReceiver(() => {
      /* never answers */
    });
    const started = Date.now();
    const result = await deliverNotification(completed(), targetsAt(r.base), { timeoutInMs: 200 });

    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.ok).toBe(false);
    expect(result.results.map((x) => x.error)).toEqual([
      'webhook: no answer within 200 ms',
      'teams: no answer within 200 ms',
      'slack: no answer within 200 ms',
    ]);
  });

  it('a refused connection fails with the error code and no URL', async () => {
    const r = await startReceiver();
    const targets = targetsAt(r.base);
    await r.stop();
    receivers.length = 0;
    const result = await deliverNotification(completed(), targets, { timeoutInMs: 2000 });
    expect(result.results.map((x) => x.error)).toEqual([
      'webhook: request failed (ECONNREFUSED)',
      'teams: request failed (ECONNREFUSED)',
      'slack: request failed (ECONNREFUSED)',
    ]);
  });

  it('an invalid URL fails that target without quoting the URL', async () => {
    const result = await deliverNotification(completed(), {
      slackWebhookUrl: 'hooks.slack.com/services/T0SECRET/B0SECRET/XoxSecretToken',
    });
    expect(result.results).toEqual([
      { target: 'slack', ok: false, error: 'slack: request failed (invalid URL)' },
    ]);
  });

  it('errors and log lines never contain the URL, its path or its query', async () => {
    const r = await startReceiver((req, res) => {
      if (req.url?.startsWith('/hooks/')) res.writeHead(503, { 'Retry-After': '120' }).end();
      else if (req.url?.startsWith('/workflows/'))
        res.writeHead(302, { Location: `${r.base}/elsewhere` }).end();
      else res.writeHead(401).end(`bad token at ${req.url ?? ''}`);
    });
    const logger = recordingLogger();
    const result = await deliverNotification(completed(), targetsAt(r.base), { logger });

    expect(result.results.every((x) => !x.ok)).toBe(true);
    expect(logger.lines).toHaveLength(3);
    expectNoSecrets(JSON.stringify(result), r.base);
    expectNoSecrets(logger.lines.join('\n'), r.base);
  });

  it('logs never contain the message body', async () => {
    const r = await startReceiver();
    const logger = recordingLogger();
    await deliverNotification(completed(), targetsAt(r.base), { logger });
    const logs = logger.lines.join('\n');
    expect(logs).not.toContain('High CPU on web tier');
    expect(logs).not.toContain('10.0.0.1');
  });

  it('does not follow a redirect: the message would be lost as a GET', async () => {
    const r = await startReceiver((req, res) => {
      if (req.url === '/moved') res.writeHead(200).end();
      else res.writeHead(301, { Location: '/moved' }).end();
    });
    const result = await deliverNotification(completed(), { webhookUrl: `${r.base}/hook` });
    expect(result.results).toEqual([
      { target: 'webhook', ok: false, status: 301, error: 'webhook: HTTP 301' },
    ]);
    expect(r.requests).toHaveLength(1);
  });

  it('passes on the Retry-After a throttling target asks for', async () => {
    const r = await startReceiver((_req, res) => res.writeHead(429, { 'Retry-After': '17' }).end());
    const result = await deliverNotification(completed(), { teamsWebhookUrl: `${r.base}/t` });
    expect(result.results[0]).toMatchObject({
      target: 'teams',
      ok: false,
      status: 429,
      retryAfterSeconds: 17,
    });
  });

  it('skips targets that already accepted this notification', async () => {
    const r = await startReceiver();
    const result = await deliverNotification(completed(), targetsAt(r.base), {
      skip: new Set(['webhook', 'slack']),
    });
    expect(result).toEqual({ ok: true, results: [{ target: 'teams', ok: true, status: 200 }] });
    expect(r.requests.map((q) => q.path.split('/')[1])).toEqual(['workflows']);
  });

  it('does nothing and succeeds when no target is configured', async () => {
    expect(await deliverNotification(completed(), {})).toEqual({ ok: true, results: [] });
  });

  it('stops every request when the caller aborts', async () => {
    const r = await startReceiver(() => {
      /* never answers */
    });
    const controller = new AbortController();
    const pending = deliverNotification(completed(), targetsAt(r.base), { abortSignal: controller.signal });
    while (r.requests.length < 3) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const result = await pending;
    expect(result.results.map((x) => x.error)).toEqual([
      'webhook: request cancelled',
      'teams: request cancelled',
      'slack: request cancelled',
    ]);
  });
});
