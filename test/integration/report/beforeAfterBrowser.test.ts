/**
 * The "Before and after" section of a ring VM's alert in a real browser (Debian's Chromium through playwright-core):
 * the report of a capture with the kept files' summary beside it, the conversation that appears only after named,
 * scanned by axe-core and photographed under test-results/report/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSummaries } from '../../../src/pcap/compareSummaries.js';
import { summarizeStream } from '../../../src/pcap/summarizeStream.js';
import type { CaptureSummary, ConversationStat } from '../../../src/pcap/types.js';
import { makeReport } from '../../../src/report/makeReport.js';
import type { ReportBefore } from '../../../src/report/types.js';
import { hasChromium, launchBrowser } from '../../support/browser.js';
import { writePcap } from '../../unit/pcap/captureWriter.js';
import { REPORT_T0, reportCapture, reportPackets } from '../../unit/report/reportCapture.js';

const SHOTS = join(process.cwd(), 'test-results', 'report');
const AXE = readFileSync(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

describe.skipIf(!hasChromium() && process.env['CI'] !== 'true')(
  'before and after in the report, in Chromium',
  () => {
    let dir: string;
    let url: string;
    let browser: Browser;
    let fresh: ConversationStat;
    let before: CaptureSummary;

    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true });
      dir = await mkdtemp(join(tmpdir(), 'before-after-'));
      // "Before": the report capture's first 2 s (as the kept ring files would hold them); "after": all of it.
      const earlier = writePcap(reportPackets().filter((p) => p.time < REPORT_T0 + 2));
      before = await summarizeStream(Readable.from([earlier]), { listConversations: 10 });
      const after = await summarizeStream(Readable.from([reportCapture()]));
      fresh = compareSummaries(before, after).newConversations[0]!;
      const evidence: ReportBefore = {
        windowStart: iso(REPORT_T0 - 60),
        windowEnd: iso(REPORT_T0 + 2),
        keptFrom: before.startTime!,
        startsBeforeWindowSeconds: -60,
        coversStart: false,
        complete: true,
        keptFiles: ['kept/alert-1-1a2b3c4d/0a1b2c-ring_1.cap'],
        keptFileCount: 1,
        summary: before,
      };
      const { html } = await makeReport(
        Readable.from([reportCapture()]),
        {
          fileName: 'capture.cap',
          target: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/ring-vm',
          alert: { rule: 'vm-network-out-high', firedAt: iso(REPORT_T0 + 2) },
          startedAt: iso(REPORT_T0),
          endedAt: iso(REPORT_T0 + 8),
        },
        { before: evidence },
      );
      const path = join(dir, 'r.html');
      await writeFile(path, html);
      url = pathToFileURL(path).href;
      browser = await launchBrowser();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('shows the section, names the conversation only after, embeds the before once, and passes axe', async () => {
      expect(fresh).toBeDefined();
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });
        await context.route('**/*', (route) =>
          route.request().url() === url ? route.continue() : route.abort(),
        );
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(url);
        await page.waitForSelector('html[data-ready=true]');
        expect(problems).toEqual([]);

        const section = page.locator('#before-after');
        await expect(section.isVisible()).resolves.toBe(true);
        await expect(page.locator('nav.toc a[href="#before-after"]').isVisible()).resolves.toBe(true);
        await expect(section.locator('.new-conversations').textContent()).resolves.toContain(
          `${fresh.a} ↔ ${fresh.b}`,
        );
        await expect(section.textContent()).resolves.toContain("The window's start was already rotated out");
        const embedded = JSON.parse(
          (await page.locator('#capture-before').textContent()) ?? '',
        ) as CaptureSummary;
        expect(embedded.packets).toBe(before.packets);

        await page.evaluate(AXE);
        const result = await page.evaluate<{ id: string; impact: string; nodes: string[] }[]>(
          `axe.run().then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`,
        );
        expect(result.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
        await section.screenshot({ path: join(SHOTS, `before-after-${colorScheme}.png`) });
        await context.close();
      }
    });
  },
);
