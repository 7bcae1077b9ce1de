/**
 * `npm run demo`: one alert, from the webhook to the on-call message, on the local sandbox, narrated for a person.
 * Starts the sandbox, registers a VM, posts a Fired common-schema metric alert to the webhook (with the function
 * key, through the local Functions runner), follows the capture in the emulator while the app's poller ticks, then
 * shows the notification and the file in Azurite, stops everything and exits 0 (1 if any step did not happen).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { formatSummaryText } from '../../src/pcap/formatSummaryText.js';
import type { CaptureNotification } from '../../src/notify/captureNotification.js';
import { firedMetricAlert } from '../support/alertPayloads.js';
import { hasChromium, launchBrowser } from '../support/browser.js';
import { SANDBOX_SUBSCRIPTION_ID, startSandbox, type Sandbox } from './index.js';

const VM_ID = `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}/resourceGroups/shop-rg/providers/Microsoft.Compute/virtualMachines/web-01`;
const DEADLINE_IN_MS = 45_000;

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

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  while (performance.now() - t0 < DEADLINE_IN_MS) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`gave up waiting for ${what} after ${DEADLINE_IN_MS / 1000} s`);
}

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
    `sandbox up: Azurite, Network Watcher emulator (clock x60), notification receiver, app at ${sandbox.functionsUrl}`,
  );

  sandbox.emulator.registerVm({ id: VM_ID, location: 'westeurope', osType: 'Linux', agentInstalled: true });
  say('registered VM web-01 in westeurope (Network Watcher agent installed); its regional watcher exists');

  say('Azure Monitor posts a Fired "Network Out Total" alert for web-01 to the webhook...');
  const posted = performance.now();
  const response = await fetch(sandbox.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': sandbox.functionKey },
    body: JSON.stringify(firedAlert()),
  });
  const answer = (await response.json()) as { outcome?: string; captureName?: string; reason?: string };
  say(
    `webhook answered ${response.status} ${JSON.stringify(answer.outcome)} in ${Math.round(performance.now() - posted)} ms, ` +
      `capture ${answer.captureName ?? '?'}${answer.reason ? ` (${answer.reason})` : ''}`,
  );
  if (response.status !== 202 || answer.outcome !== 'started')
    throw new Error('the webhook did not start a capture');
  const arm = sandbox.emulator.requests().filter((r) => r.startedAt >= Date.now() - 60_000);
  say(
    `ARM requests made for it: ${arm.map((r) => `${r.method} ${r.path.split('/').slice(-2).join('/')} ${r.status}`).join(', ')}`,
  );

  const running = await waitFor('the capture to run', () =>
    sandbox.emulator.captures().find((c) => c.name === answer.captureName && c.status === 'Running'),
  );
  say(
    `capture running on web-01: ${running.timeLimitInSeconds} s limit (the alert asked for 120 s), ${running.totalBytesPerSession} bytes max`,
  );
  say(
    'the poller ticks every 2 s and queries its status; the emulated clock runs 60x, so 120 s pass in 2 s...',
  );

  const stopped = await waitFor('the capture to stop', () =>
    sandbox.emulator
      .captures()
      .find((c) => c.name === answer.captureName && c.status !== 'Running' && c.status !== 'NotStarted'),
  );
  say(`capture ${stopped.status}: ${stopped.stopReason ?? 'no stop reason'}`);

  const notification = await waitFor('the notification', async () => {
    const list = (await (await fetch(sandbox.notificationsUrl)).json()) as CaptureNotification[];
    return list.find((n) => n.capture.name === answer.captureName);
  });
  say(
    `notification received: ${notification.type} for ${notification.capture.target.split('/').pop() ?? ''}, rule "${notification.alert.rule}", idempotency key ...${notification.idempotencyKey.slice(-24)}`,
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
  const properties = await container.getBlobClient(decodeURIComponent(blobPath)).getProperties();
  say(
    `file in Azurite: network-watcher-logs/${decodeURIComponent(blobPath)} (${properties.contentLength ?? 0} bytes)`,
  );

  await showReport(sandbox, notification);

  await waitFor('the capture resource to be cleaned up', () =>
    sandbox.emulator.captures().some((c) => c.name === answer.captureName) ? undefined : true,
  );
  say(
    'capture resource deleted by the poller after notifying (the file stays): the VM is ready for the next alert',
  );
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
