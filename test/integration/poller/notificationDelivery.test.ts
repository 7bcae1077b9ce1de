import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
} from '@azure/storage-blob';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import {
  PAST_TIME_LIMIT_SECONDS,
  alertStartsCapture,
  recordOf,
  startPollerHarness,
} from './pollerSupport.js';
import { startRecordingReceiver, type ReceivedRequest } from './recordingReceiver.js';

async function startReceiver(failFirst = 0) {
  const receiver = await startRecordingReceiver({ failFirst });
  onTestFinished(() => receiver.stop());
  return receiver;
}

const statuses = (requests: ReceivedRequest[]) => requests.map((r) => r.status);

/** Every http(s) URL in a text (JSON strings, Slack `<url|label>` links, Markdown links). */
function urlsIn(text: string): string[] {
  return text.match(/https?:\/\/[^\s"'<>|()\\]+/g) ?? [];
}

/** A connection string for the run's Azurite that authenticates with an account SAS instead of the key. */
function sasConnectionString(): string {
  const connectionString = inject('azuriteConnectionString');
  const part = (name: string) => new RegExp(`(?:^|;)${name}=([^;]+)`).exec(connectionString)?.[1] ?? '';
  const sas = generateAccountSASQueryParameters(
    {
      expiresOn: new Date(Date.now() + 3600_000),
      permissions: AccountSASPermissions.parse('rwdlac'),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('b').toString(),
    },
    new StorageSharedKeyCredential(part('AccountName'), part('AccountKey')),
  ).toString();
  return `BlobEndpoint=${part('BlobEndpoint')};SharedAccessSignature=${sas}`;
}

describe('capture poller: notification delivery', () => {
  it('retries a notification endpoint that is down for three ticks and delivers exactly once when it is back', async () => {
    const endpoint = await startReceiver(3);
    const h = await startPollerHarness({ settings: { NOTIFY_WEBHOOK_URL: `${endpoint.url}/oncall` } });
    const { alertId } = await alertStartsCapture(h);
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);

    await h.tick();
    expect(statuses(endpoint.requests())).toEqual([500]);
    await h.tick(); // Before the retry time: no second request.
    expect(statuses(endpoint.requests())).toEqual([500]);
    expect((await recordOf(h, alertId)).state).toBe('finished');

    // Backoff 30 s, 60 s, 120 s between tries.
    for (const seconds of [31, 61, 121]) {
      h.advanceAppClock(seconds);
      await h.tick();
    }
    expect(statuses(endpoint.requests())).toEqual([500, 500, 500, 200]);

    h.advanceAppClock(3600);
    await h.tick();
    const requests = endpoint.requests();
    expect(statuses(requests)).toEqual([500, 500, 500, 200]);
    // The same message every time, with one idempotency key the receiver can deduplicate on.
    const keys = new Set(requests.map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect(new Set(requests.map((r) => r.text)).size).toBe(1);
    expect(requests[3]?.body).toMatchObject({ type: 'capture.completed', alert: { id: alertId } });
    expect(await recordOf(h, alertId)).toMatchObject({ state: 'notified', notifyAttempts: 4 });
  });

  it('gives up after NOTIFY_MAX_ATTEMPTS when the endpoint stays down, and tries no more', async () => {
    const endpoint = await startReceiver(Number.POSITIVE_INFINITY);
    const h = await startPollerHarness({
      settings: { NOTIFY_WEBHOOK_URL: `${endpoint.url}/oncall`, NOTIFY_MAX_ATTEMPTS: '2' },
    });
    const { alertId, captureName } = await alertStartsCapture(h);
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);

    await h.tick();
    h.advanceAppClock(31);
    await h.tick();
    expect(statuses(endpoint.requests())).toEqual([500, 500]);
    const record = await recordOf(h, alertId);
    expect(record.state).toBe('notifyFailed');
    expect(record.lastError).toBe('notification failed after 2 attempts: webhook: HTTP 500 (down)');

    h.advanceAppClock(86_400);
    await h.tick();
    await h.tick();
    expect(endpoint.requests()).toHaveLength(2);
    // Given up is done too: the capture resource does not hold a budget slot forever.
    await h.emulator.advanceClock(0);
    expect(h.emulator.captures().map((c) => c.name)).not.toContain(captureName);
  });

  it('retries only the target that failed: the webhook that accepted gets one message, Teams gets its retry', async () => {
    const webhook = await startReceiver();
    const teams = await startReceiver(1);
    const h = await startPollerHarness({
      settings: {
        NOTIFY_WEBHOOK_URL: `${webhook.url}/oncall`,
        NOTIFY_TEAMS_WEBHOOK_URL: `${teams.url}/teams`,
      },
    });
    const { alertId } = await alertStartsCapture(h);
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);

    await h.tick();
    expect(statuses(webhook.requests())).toEqual([200]);
    expect(statuses(teams.requests())).toEqual([500]);
    expect((await recordOf(h, alertId)).state).toBe('finished');

    h.advanceAppClock(31);
    await h.tick();
    h.advanceAppClock(3600);
    await h.tick();

    expect(statuses(webhook.requests())).toEqual([200]);
    expect(statuses(teams.requests())).toEqual([500, 200]);
    expect(await recordOf(h, alertId)).toMatchObject({ state: 'notified', notifiedTargets: 'webhook,teams' });
  });

  it('posts a Teams Adaptive Card and a Slack message besides the JSON webhook for a completed capture', async () => {
    const endpoint = await startReceiver();
    const h = await startPollerHarness({
      settings: {
        NOTIFY_WEBHOOK_URL: `${endpoint.url}/hook`,
        NOTIFY_TEAMS_WEBHOOK_URL: `${endpoint.url}/teams`,
        NOTIFY_SLACK_WEBHOOK_URL: `${endpoint.url}/slack`,
      },
    });
    const { captureName } = await alertStartsCapture(h);
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);

    await h.tick();

    const byPath = new Map(endpoint.requests().map((r) => [r.url, r]));
    expect([...byPath.keys()].sort()).toEqual(['/hook', '/slack', '/teams']);
    expect(endpoint.requests()).toHaveLength(3);
    const teams = byPath.get('/teams')?.body as {
      type: string;
      attachments: Array<{ contentType: string; content: { type: string; body: unknown[] } }>;
    };
    expect(teams.type).toBe('message');
    expect(teams.attachments).toHaveLength(1);
    expect(teams.attachments[0]).toMatchObject({
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: { type: 'AdaptiveCard' },
    });
    expect(JSON.stringify(teams)).toContain(captureName);
    const slack = byPath.get('/slack')?.body as { text: string; blocks: Array<{ type: string }> };
    expect(typeof slack.text).toBe('string');
    expect(slack.text).toContain('web-01');
    expect(slack.blocks.length).toBeGreaterThan(0);
    expect(slack.blocks[0]?.type).toBe('header');
    for (const request of endpoint.requests()) {
      for (const url of urlsIn(request.text)) expect(url).not.toContain('?');
    }
  });

  it('never puts a key, token or SAS query string in a notification', async () => {
    const functionKey = 'fnKEY-0123456789abcdefABCDEF==';
    const slackToken = 'xoxSLACKsecret42';
    const teamsSig = 'TEAMSsig0123456789';
    const endpoint = await startReceiver();
    const sasConnection = sasConnectionString();
    const h = await startPollerHarness({
      settings: {
        NOTIFY_WEBHOOK_URL: `${endpoint.url}/api/oncall?code=${functionKey}`,
        NOTIFY_TEAMS_WEBHOOK_URL: `${endpoint.url}/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig=${teamsSig}`,
        NOTIFY_SLACK_WEBHOOK_URL: `${endpoint.url}/services/T000/B000/${slackToken}`,
      },
      // The emulator writes the file with a SAS: its signature must not reach any message either.
      emulator: { blobConnectionString: sasConnection },
    });
    await alertStartsCapture(h);
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    const sasSignature = /sig=([^&;]+)/.exec(sasConnection)?.[1] ?? 'missing';
    expect(sasSignature).not.toBe('missing');

    await h.tick();

    const requests = endpoint.requests();
    expect(requests).toHaveLength(3);
    for (const request of requests) {
      for (const secret of [
        functionKey,
        slackToken,
        teamsSig,
        sasSignature,
        decodeURIComponent(sasSignature),
      ]) {
        expect(request.text).not.toContain(secret);
      }
      expect(request.text).not.toMatch(/[?&](sig|code|sv|se|sp)=/);
      for (const url of urlsIn(request.text)) expect(url).not.toContain('?');
    }
    const message = requests.find((r) => r.url.startsWith('/api/oncall'))?.body as {
      capture: { storagePath?: string };
    };
    expect(message.capture.storagePath).toBeDefined();
  });
});
