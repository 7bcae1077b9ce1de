import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { KEPT_CONTAINER } from '../../../src/captures/keepRingFiles.js';
import type { CaptureNotification } from '../../../src/notify/captureNotification.js';
import type { CaptureSummary } from '../../../src/pcap/types.js';
import { REPORT_CONTAINER } from '../../../src/report/CaptureReports.js';
import { firedMetricAlert } from '../../support/alertPayloads.js';
import { startSandbox, SANDBOX_SUBSCRIPTION_ID } from '../../sandbox/index.js';

/**
 * Issue 15's "done when" on the sandbox (the app in the local Functions runner, the emulator's realistic Azure at
 * 60x): a VM tagged `alert-capture:ring=on` gets a ring from the poller on its own; traffic changes at t0 (a new
 * peer), the alert fires at t0 + 5 min with its window starting at t0, and the message links a report whose
 * "before" part starts before t0 and shows the new peer; the kept files are in storage and tshark reads them.
 */

const SUB = `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}`;
const VM = `${SUB}/resourceGroups/ring-rg/providers/Microsoft.Compute/virtualMachines/vm-ring-1`;
const PEER = '203.0.113.77';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, seconds = 90) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** The JSON a report embeds in `<script type="application/json" id="…">`. */
function embedded<T>(html: string, id: string): T | undefined {
  const match = new RegExp(`<script type="application/json" id="${id}">([\\s\\S]*?)</script>`).exec(html);
  return match ? (JSON.parse(match[1]!) as T) : undefined;
}

const talksWithPeer = (c: { a: string; b: string }) =>
  c.a.startsWith(`${PEER}:`) || c.b.startsWith(`${PEER}:`);

describe('the sandbox, done when (rings)', () => {
  it(
    'an alert on a tagged VM links a report whose before part starts before the change and shows it',
    { timeout: 180_000 },
    async () => {
      const outputDirectory = await mkdtemp(path.join(tmpdir(), 'sandbox-ring-'));
      const sandbox = await startSandbox({
        env: { RING_FILE_COUNT: '20', RING_FILE_SIZE_BYTES: '65536', CAPTURE_SESSION_BUDGET: '10' },
        outputDirectory,
      });
      try {
        const { emulator } = sandbox;
        emulator.registerVm({ id: VM, location: 'westeurope', tags: { 'alert-capture:ring': 'on' } });

        // Nobody asks for the ring: the poller finds the tag and arms it.
        const ring = await until('the ring to run', () =>
          emulator
            .captures()
            .find((c) => c.target === VM && c.name.includes('-ring-') && c.status === 'Running'),
        );

        // Traffic changes at t0; the metric's 5-minute window starts there and the alert fires at its end.
        const t0 = emulator.now() + 180_000;
        emulator.addTrafficEvent({
          vmId: VM,
          at: new Date(t0).toISOString(),
          remoteIp: PEER,
          packetsPerSecond: 2,
        });
        await until('t0 + 5 min', () => (emulator.now() >= t0 + 300_000 ? true : undefined));
        const alert = firedMetricAlert(VM, { firedAt: new Date(t0 + 300_000).toISOString() });
        alert.data.alertContext.condition.windowStartTime = new Date(t0).toISOString();
        alert.data.alertContext.condition.windowEndTime = new Date(t0 + 300_000).toISOString();
        const response = await fetch(sandbox.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-functions-key': sandbox.functionKey },
          body: JSON.stringify(alert),
        });
        expect(response.status).toBe(202);
        expect(((await response.json()) as { outcome: string }).outcome).toBe('started');

        const message = await until('the message', async () => {
          const messages = (await (await fetch(sandbox.notificationsUrl)).json()) as CaptureNotification[];
          return messages.find((m) => m.alert.id === alert.data.essentials.alertId);
        });
        expect(message.type).toBe('capture.completed');
        // The ring is not the alert's capture, and it is still running.
        expect(message.capture.name).not.toBe(ring.name);
        expect(emulator.captures().find((c) => c.name === ring.name)?.status).toBe('Running');

        // The message's before part: from before t0 to the fired time, with the new peer in it.
        const before = message.before!;
        expect(before).toMatchObject({ coversStart: true, complete: true });
        expect(Date.parse(before.keptFrom!)).toBeLessThan(t0);
        expect(before.summary?.conversations.some(talksWithPeer)).toBe(true);

        // The report it links: the before summary embedded, starting before t0 and showing the change.
        const reportUrl = message.capture.reportUrl!;
        const reports = BlobServiceClient.fromConnectionString(
          sandbox.azuriteConnectionString,
        ).getContainerClient(REPORT_CONTAINER);
        expect(reportUrl.startsWith(`${reports.url}/`), reportUrl).toBe(true);
        const html = (
          await reports
            .getBlobClient(decodeURIComponent(reportUrl.slice(reports.url.length + 1)))
            .downloadToBuffer()
        ).toString('utf8');
        const reportBefore = embedded<CaptureSummary>(html, 'capture-before');
        expect(Date.parse(reportBefore!.startTime!)).toBeLessThan(t0);
        expect(reportBefore!.conversations.some(talksWithPeer)).toBe(true);
        expect(html).toContain('Before and after');

        // The kept files are in storage, and tshark reads them: the first one starts before t0.
        const kept = BlobServiceClient.fromConnectionString(
          sandbox.azuriteConnectionString,
        ).getContainerClient(KEPT_CONTAINER);
        expect(before.keptFiles.length).toBe(before.keptFileCount);
        const first = await kept.getBlobClient(before.keptFiles[0]!).downloadToBuffer();
        const file = path.join(outputDirectory, 'first-kept.cap');
        await writeFile(file, first);
        const { stdout } = await promisify(execFile)('tshark', [
          '-r',
          file,
          '-c',
          '1',
          '-T',
          'fields',
          '-e',
          'frame.time_epoch',
        ]);
        expect(Number(stdout.trim()) * 1000).toBeLessThan(t0);
        for (const name of before.keptFiles) expect(await kept.getBlobClient(name).exists()).toBe(true);
      } finally {
        await sandbox.stop();
        await rm(outputDirectory, { recursive: true, force: true });
      }
    },
  );
});
