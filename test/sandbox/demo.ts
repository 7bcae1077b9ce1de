/**
 * `npm run demo`: one alert, from the webhook to the on-call message, on the local sandbox, narrated for a person.
 * Starts the sandbox, registers a VM, posts a Fired common-schema metric alert to the webhook (with the function
 * key, through the local Functions runner), follows the alert's ledger record while the app's poller ticks until
 * it is final, then shows the notification and the file in Azurite, stops everything and exits 0 (1 if any step
 * did not happen). It never depends on catching a passing state: the record's final state and the received
 * notification stay once they exist.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import type { EffectiveCaptureSettings } from '../../src/captures/captureParameters.js';
import { CaptureLedger, type CaptureRecord, type CaptureState } from '../../src/ledger/index.js';
import type { CaptureNotification } from '../../src/notify/captureNotification.js';
import { formatSummaryText } from '../../src/pcap/formatSummaryText.js';
import { firedMetricAlert } from '../support/alertPayloads.js';
import { hasChromium, launchBrowser } from '../support/browser.js';
import { SANDBOX_SUBSCRIPTION_ID, startSandbox, type Sandbox } from './index.js';

const VM_ID = `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}/resourceGroups/shop-rg/providers/Microsoft.Compute/virtualMachines/web-01`;
/** How long each wait may take; generous, because the demo also runs on a loaded 2-core machine. */
const DEADLINE_IN_MS = 90_000;

const t0 = performance.now();
const say = (line: string): void =>
  console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}`);

/** The payload Azure Monitor posts for a metric alert with the common alert schema on. */
function firedAlert(): unknown {
  return firedMetricAlert(VM_ID, {
    ruleName: 'web-01 network out high',
    firedAt: new Date().toISOString(),
    customProperties: { captureDurationSeconds: '120' },
  });
}

/**
 * Polls `probe` until it gives a value. Only ever used on things that stay once they exist (a ledger record in a
 * terminal state, a received notification), so a slow sample can be late but never miss what it waits for.
 */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const giveUpAt = performance.now() + DEADLINE_IN_MS;
  while (performance.now() < giveUpAt) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`gave up waiting for ${what} after ${DEADLINE_IN_MS / 1000} s`);
}

/** Ledger states after which the poller does nothing more with a record. */
const FINAL_STATES: ReadonlySet<CaptureState> = new Set(['notified', 'failed', 'notifyFailed']);

/** Fetches the report the message links, writes it under .sandbox/ and opens it in headless Chromium (when installed). */
async function showReport(sandbox: Sandbox, notification: CaptureNotification): Promise<void> {
  const reportUrl = notification.capture.reportUrl;
  if (!reportUrl) throw new Error('the notification links no report');
  const reports = BlobServiceClient.fromConnectionString(sandbox.azuriteConnectionString).getContainerClient(
    'capture-reports',
  );
  const name = decodeURIComponent(
    reportUrl.slice(reportUrl.indexOf('/capture-reports/') + '/capture-reports/'.length),
  );
  const html = await reports.getBlobClient(name).downloadToBuffer();
  const file = path.resolve('.sandbox', 'report.html');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, html);
  say(`report linked from the message: capture-reports/${name} (${html.length} bytes), saved as ${file}`);
  if (!hasChromium()) return;
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('html[data-ready=true]');
    const rows = await page.locator('#conversations-table tbody tr').count();
    say(
      `opened in headless Chromium: "${await page.title()}", ${rows} conversation rows on the first page, ` +
        `${requests.length - 1} requests beyond the page itself`,
    );
  } finally {
    await browser.close();
  }
}

async function run(sandbox: Sandbox): Promise<void> {
  say(
    `sandbox up: Azurite, Network Watcher emulator (clock x${sandbox.timeScale}, the app on the same clock), notification receiver, app at ${sandbox.functionsUrl}`,
  );
  // The demo reads the app's own ledger (Azurite table) to follow the alert: the record is what the app acts on,
  // and its final state stays, unlike the capture resource, which the poller deletes once it has notified.
  const ledger = CaptureLedger.fromConfig({
    connectionString: sandbox.azuriteConnectionString,
    tableName: sandbox.appSettings.LEDGER_TABLE_NAME ?? 'captures',
  });

  sandbox.emulator.registerVm({ id: VM_ID, location: 'westeurope', osType: 'Linux', agentInstalled: true });
  say('registered VM web-01 in westeurope (Network Watcher agent installed); its regional watcher exists');

  say('Azure Monitor posts a Fired "Network Out Total" alert for web-01 to the webhook...');
  const posted = performance.now();
  const response = await fetch(sandbox.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': sandbox.functionKey },
    body: JSON.stringify(firedAlert()),
  });
  const answer = (await response.json()) as {
    outcome?: string;
    alertId?: string;
    captureName?: string;
    reason?: string;
  };
  say(
    `webhook answered ${response.status} ${JSON.stringify(answer.outcome)} in ${Math.round(performance.now() - posted)} ms, ` +
      `capture ${answer.captureName ?? '?'}${answer.reason ? ` (${answer.reason})` : ''}`,
  );
  // `pending` is a 202 too: the webhook recorded the alert and left the start to the poller (a slow or throttled
  // ARM); the record below shows the rest either way.
  if (response.status !== 202 || !answer.alertId || !['started', 'pending'].includes(answer.outcome ?? ''))
    throw new Error('the webhook did not accept the alert for capture');
  const alertId = answer.alertId;
  const arm = sandbox.emulator.requests().filter((r) => !r.path.startsWith('/msi'));
  say(
    `ARM requests made for it: ${arm.map((r) => `${r.method} ${r.path.split('?')[0]?.split('/').slice(-2).join('/')} ${r.status}`).join(', ')}`,
  );
  say(
    'the poller ticks every 2 s and queries the capture; the emulated clock runs 60x, so 120 s pass in 2 s...',
  );

  // Each state the ledger record is seen in, narrated; the record's final state is what the demo waits for.
  let lastState: string | undefined;
  const record = await waitFor('the ledger record to reach a final state', async () => {
    const current = await ledger.get(alertId);
    if (current && current.state !== lastState) {
      lastState = current.state;
      say(`ledger record: ${describeRecord(current)}`);
    }
    return current && FINAL_STATES.has(current.state) ? current : undefined;
  });
  if (record.state !== 'notified') throw new Error(`the alert ended ${record.state}: ${record.reason ?? ''}`);

  const notification = await waitFor('the notification', async () => {
    const list = (await (await fetch(sandbox.notificationsUrl)).json()) as CaptureNotification[];
    return list.find((n) => n.alert.id === alertId);
  });
  say(
    `notification received: ${notification.type} for ${notification.capture.target.split('/').pop() ?? ''}, rule "${notification.alert.rule}", idempotency key ...${notification.idempotencyKey.slice(-24)}`,
  );
  say(
    `capture ${notification.capture.status ?? '?'}: ${notification.capture.stopReason ?? 'no stop reason'}, ` +
      `from ${notification.capture.startedAt ?? '?'} to ${notification.capture.endedAt ?? '?'}`,
  );
  if (notification.summary) {
    console.log(
      formatSummaryText(notification.summary, { topConversations: 5 })
        .split('\n')
        .map((l) => `          | ${l}`)
        .join('\n'),
    );
  }

  const storagePath = notification.capture.storagePath;
  if (!storagePath) throw new Error('the notification names no file');
  const blobPath = new URL(storagePath).pathname.split('/').slice(3).join('/');
  const container = BlobServiceClient.fromConnectionString(
    sandbox.azuriteConnectionString,
  ).getContainerClient('network-watcher-logs');
  // Network Watcher may upload the file after it reports Stopped; once there, it stays.
  const blob = container.getBlobClient(decodeURIComponent(blobPath));
  const properties = await waitFor('the capture file in storage', async () =>
    (await blob.exists()) ? await blob.getProperties() : undefined,
  );
  say(
    `file in Azurite: network-watcher-logs/${decodeURIComponent(blobPath)} (${properties.contentLength ?? 0} bytes)`,
  );

  await showReport(sandbox, notification);

  // `notified` is set only once the capture resource is deleted (the file stays).
  say(
    'capture resource deleted by the poller after notifying (the file stays): the VM is ready for the next alert',
  );
}

/** One line about a ledger record: its state and what it says about the capture. */
function describeRecord(r: CaptureRecord): string {
  const parts: string[] = [r.state];
  if (r.settingsJson && r.state === 'running') {
    const settings = JSON.parse(r.settingsJson) as Partial<EffectiveCaptureSettings>;
    parts.push(
      `${settings.timeLimitInSeconds ?? '?'} s limit (the alert asked for 120 s), ${settings.totalBytesPerSession ?? '?'} bytes max`,
    );
  }
  if (r.captureStatus) parts.push(`capture ${r.captureStatus}${r.stopReason ? ` (${r.stopReason})` : ''}`);
  if (r.reason) parts.push(r.reason);
  return parts.join(', ');
}

async function main(): Promise<number> {
  say('starting the sandbox...');
  const sandbox = await startSandbox({ writeFile: false });
  let code = 0;
  try {
    await run(sandbox);
    say('done: one alert, one capture, one message.');
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
    code = 1;
  } finally {
    await sandbox.stop();
    say('sandbox stopped');
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
