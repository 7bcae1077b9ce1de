/**
 * The report in a real browser (Debian's Chromium through playwright-core): made by `alert-capture report` from a
 * generated capture with public peers, checked against tshark and `summarize --json`, clicked and typed at, scanned
 * by axe-core, and photographed view by view under test-results/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/runCli.js';
import type { CaptureSummary } from '../../../src/pcap/types.js';
import { defaultRenderOptions } from '../../../src/report/makeReport.js';
import { renderReport } from '../../../src/report/renderReport.js';
import { hasChromium, launchBrowser } from '../../support/browser.js';
import { conversationKey, hasTshark, tsharkView } from '../../unit/pcap/tsharkOracle.js';
import { HOSTILE_NAME, REPORT_T0, reportCapture } from '../../unit/report/reportCapture.js';

const run = promisify(execFile);
const SHOTS = join(process.cwd(), 'test-results', 'report');
const AXE = readFileSync(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const parts: Buffer[] = [];
  const errs: Buffer[] = [];
  out.on('data', (d: Buffer) => parts.push(d));
  err.on('data', (d: Buffer) => errs.push(d));
  const code = await runCli(argv, { stdout: out, stderr: err, stdin: Readable.from([]) });
  return {
    code,
    stdout: Buffer.concat(parts).toString('utf8'),
    stderr: Buffer.concat(errs).toString('utf8'),
  };
}

// CI installs both (.ci/run); there a missing one fails the run instead of skipping the browser tests.
const ready = (hasChromium() && (await hasTshark())) || process.env['CI'] === 'true';

describe.skipIf(!ready)('the capture report in Chromium', () => {
  let dir: string;
  let capturePath: string;
  let reportPath: string;
  let browser: Browser;
  let server: Server;
  let baseUrl: string;
  const requests: string[] = [];

  /** A fresh page on the report; every request it makes is recorded, and anything but the page itself is refused. */
  async function open(
    url: string,
    options: { colorScheme?: 'dark' | 'light' } = {},
  ): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: options.colorScheme ?? 'light',
    });
    await context.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.request().url() === url.split('#')[0] ? route.continue() : route.abort();
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.goto(url);
    await page.waitForSelector('html[data-ready=true]');
    expect(problems).toEqual([]);
    return { page, context };
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'report-browser-'));
    capturePath = join(dir, 'capture.pcap');
    await writeFile(capturePath, reportCapture());
    const made = await cli([
      'report',
      capturePath,
      '-o',
      join(dir, 'r.html'),
      '--fired-at',
      new Date((REPORT_T0 + 3) * 1000).toISOString(),
    ]);
    expect(made.code).toBe(0);
    reportPath = join(dir, 'r.html');
    browser = await launchBrowser();
    // The report as a blob link would serve it: over HTTP, from 127.0.0.1.
    const html = readFileSync(reportPath);
    server = createServer((req, res) => {
      if (req.url?.startsWith('/r.html')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(html);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('makes no request but the page itself, from disk and over HTTP', async () => {
    for (const url of [pathToFileURL(reportPath).href, `${baseUrl}/r.html`]) {
      requests.length = 0;
      const { page, context } = await open(url);
      // Use every view so that lazy requests, if any, would show.
      await page.getByRole('button', { name: 'Next page' }).first().click();
      await page.locator('#map path[data-cc="US"]').click();
      await page.waitForTimeout(200);
      expect(requests).toEqual([url]);
      await context.close();
    }
  });

  it('embeds the same JSON as summarize --json, and sends a CSP that forbids every fetch', async () => {
    const { page, context } = await open(pathToFileURL(reportPath).href);
    const embedded = JSON.parse(
      (await page.locator('#capture-summary').textContent()) ?? '',
    ) as CaptureSummary;
    const summarized = await cli(['summarize', capturePath, '--json']);
    expect(embedded).toEqual(JSON.parse(summarized.stdout));
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/);
    // A fetch from the page is refused by the CSP itself, not merely unused.
    // (Browser code as text: the tests compile without the DOM library.)
    const violated = await page.evaluate<string>(`new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective));
      fetch('http://127.0.0.1:9/x').catch(() => undefined);
      setTimeout(() => resolve('no violation'), 2000);
    })`);
    expect(violated).toBe('connect-src');
    await context.close();
  });

  it("shows tshark's totals and top conversation, AS and country for 8.8.8.8, 168.63.129.16 as Azure platform, and a drawn map", async () => {
    const tshark = await tsharkView(capturePath);
    const { page, context } = await open(pathToFileURL(reportPath).href);
    await expect(page.locator('#verdict dd').filter({ hasText: 'packets' }).textContent()).resolves.toContain(
      `${tshark.frames} packets`,
    );
    const top = [...tshark.conversations].sort(
      (x, y) => y.bytesAtoB + y.bytesBtoA - (x.bytesAtoB + x.bytesBtoA),
    )[0]!;
    const firstRow = page.locator('#conversations-table tbody tr').first();
    await expect(firstRow.locator('td').nth(1).textContent()).resolves.toBe(top.a);
    await expect(firstRow.locator('td').nth(2).textContent()).resolves.toBe(top.b);
    await expect(firstRow.locator('td').nth(6).textContent()).resolves.toBe(
      String(top.packetsAtoB + top.packetsBtoA),
    );
    const google = page.locator('#endpoints-table tbody tr', {
      has: page.locator('td:first-child', { hasText: /^8\.8\.8\.8$/ }),
    });
    await expect(google.textContent()).resolves.toMatch(/United States of America.*AS15169 Google LLC/);
    const wire = page.locator('#endpoints-table tbody tr', {
      has: page.locator('td:first-child', { hasText: /^168\.63\.129\.16$/ }),
    });
    const wireText = await wire.textContent();
    expect(wireText).toContain('Azure platform');
    expect(wireText).not.toContain('Hong Kong'); // where DB-IP puts it
    expect(await page.locator('#map path').count()).toBeGreaterThan(150);
    await expect(page.locator('#map path[data-cc="US"]').getAttribute('class')).resolves.toMatch(/^c[1-5]$/);
    await expect(page.locator('#map path[data-cc="FR"]').getAttribute('class')).resolves.toBe('c0');
    // Every conversation tshark sees is in the embedded summary with the same counts.
    const embedded = JSON.parse(
      (await page.locator('#capture-summary').textContent()) ?? '',
    ) as CaptureSummary;
    expect(embedded.conversations.map((c) => conversationKey(c)).sort()).toEqual(
      tshark.conversations.map(conversationKey).sort(),
    );
    await context.close();
  });

  it('sorts, pages, searches and filters by clicking and typing, and keeps the filter in the hash', async () => {
    const { page, context } = await open(pathToFileURL(reportPath).href);
    const table = page.locator('#conversations-table');
    const packetsColumn = async (): Promise<number[]> =>
      (await table.locator('tbody tr td:nth-child(7)').allTextContents()).map(Number);
    await table.getByRole('button', { name: 'Packets' }).click();
    const descending = await packetsColumn();
    expect(descending).toEqual([...descending].sort((x, y) => y - x));
    await expect(table.locator('th').nth(6).getAttribute('aria-sort')).resolves.toBe('descending');
    await table.getByRole('button', { name: 'Packets' }).press('Enter'); // keyboard works the same
    const ascending = await packetsColumn();
    expect(ascending).toEqual([...ascending].sort((x, y) => x - y));
    await page.locator('#conversations-table-pager').getByRole('button', { name: 'Next page' }).click();
    await expect(page.locator('#conversations-table-pager .pageinfo').textContent()).resolves.toMatch(
      /^rows 26–/,
    );

    await page.locator('#f-q').fill('8.8.8.8');
    const rows = await table.locator('tbody tr').allTextContents();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r).toContain('8.8.8.8');
    expect(page.url()).toContain('#q=8.8.8.8');
    await expect(page.locator('#endpoints-table tbody tr').count()).resolves.toBe(2);

    // The hash alone sets the filter (a link someone pasted).
    await page.goto(`${pathToFileURL(reportPath).href}#proto=udp&cc=azure-platform`);
    await page.waitForFunction(`document.querySelector('#f-proto').value === 'udp'`);
    const udp = await table.locator('tbody tr td:first-child').allTextContents();
    expect(new Set(udp)).toEqual(new Set(['udp']));
    for (const r of await table.locator('tbody tr').allTextContents()) expect(r).toContain('168.63.129.16');

    // A signal filters the page to its conversations; the map's country buttons do too.
    await page.getByRole('button', { name: 'Clear filter' }).click();
    expect(page.url()).not.toContain('#');
    await page.locator('#signals li', { hasText: '[rst-storm' }).getByRole('button').click();
    await expect(page.locator('#filter-status').textContent()).resolves.toMatch(
      /^25 of 40 listed conversations, /,
    );
    for (const r of await table.locator('tbody tr').allTextContents()) expect(r).toContain('1.1.1.1:8443');
    await page.locator('#signals li', { hasText: '[rst-storm' }).getByRole('button').click();
    await page.locator('[data-set-cc="AU"]').click();
    expect(page.url()).toContain('cc=AU');
    await expect(page.locator('#filter-status').textContent()).resolves.toMatch(
      /^25 of 40 listed conversations, /,
    );

    // A time range typed in seconds from the first packet.
    await page.getByRole('button', { name: 'Clear filter' }).click();
    await page.locator('#f-from').fill('6.5');
    await page.locator('#f-to').fill('8');
    const inRange = await table.locator('tbody tr td:nth-child(9)').allTextContents();
    expect(inRange.length).toBeGreaterThan(0);
    expect(await page.locator('#tl-selection').getAttribute('width')).not.toBe('0');

    // Dragging across the timeline sets the range too.
    await page.getByRole('button', { name: 'Clear filter' }).click();
    await page.locator('#timeline').scrollIntoViewIfNeeded();
    const box = (await page.locator('#timeline').boundingBox())!;
    const y = box.y + box.height * 0.6;
    await page.mouse.move(box.x + box.width * 0.5, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.8, y);
    await page.mouse.up();
    const hash = new URLSearchParams(new URL(page.url()).hash.slice(1));
    const [from, to] = [Number(hash.get('from')), Number(hash.get('to'))];
    expect(from).toBeGreaterThan(0);
    expect(to).toBeGreaterThan(from);
    await expect(page.locator('#f-from').inputValue()).resolves.toBe(hash.get('from'));
    await context.close();
  });

  it('copies Wireshark and BPF filters that select exactly the row, per tshark and tcpdump', async () => {
    const { page, context } = await open(pathToFileURL(reportPath).href);
    const rows = page.locator('#conversations-table tbody tr');
    for (const index of [0, 4]) {
      const row = rows.nth(index);
      const packets = Number(await row.locator('td').nth(6).textContent());
      await row.getByRole('button', { name: /^Copy Wireshark filter/ }).click();
      const wireshark = (await page.locator('#copy-status').textContent())!.replace(
        /^Wireshark filter copied: /,
        '',
      );
      const shown = await run('tshark', [
        '-r',
        capturePath,
        '-n',
        '-Y',
        wireshark,
        '-T',
        'fields',
        '-e',
        'frame.number',
      ]);
      expect(shown.stdout.trim().split('\n')).toHaveLength(packets);
      await row.getByRole('button', { name: /^Copy BPF filter/ }).click();
      const bpf = (await page.locator('#copy-status').textContent())!.replace(/^BPF filter copied: /, '');
      const dumped = await run('tcpdump', ['-r', capturePath, '-n', bpf]);
      expect(dumped.stdout.trim().split('\n')).toHaveLength(packets);
    }
    await context.close();
  });

  it('shows markup from packets and from the alert as text and never runs it', async () => {
    // From the packets: the DNS query name carrying <img src=x onerror=...>, in the NXDOMAIN signal of the summary.
    const real = await open(pathToFileURL(reportPath).href);
    const nxdomain = real.page.locator('#signals li', { hasText: '[dns-nxdomain' });
    await expect(nxdomain.textContent()).resolves.toContain('\\060img\\032src\\061x\\032onerror');
    expect(await real.page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await real.page.locator('img').count()).toBe(0);
    await real.context.close();

    const made = await cli(['summarize', capturePath, '--json']);
    const summary = JSON.parse(made.stdout) as CaptureSummary;
    // What v2 signals carry: DNS names from the packets (here the hostile query name) as targets.
    summary.signals.push({
      kind: 'dns-nxdomain',
      severity: 'warning',
      message: `1 DNS query answered NXDOMAIN: ${HOSTILE_NAME}`,
      count: 1,
      targets: [{ name: HOSTILE_NAME, count: 1 }],
    });
    const html = renderReport(
      {
        summary,
        capture: {
          fileName: '<img src=x onerror=window.__pwned=2>.pcap',
          target:
            '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"><script>window.__pwned=3</script>',
          alert: { rule: '<svg onload=window.__pwned=4>', firedAt: new Date(REPORT_T0 * 1000).toISOString() },
          settings: { filter: '</script><script>window.__pwned=5</script>' },
        },
      },
      defaultRenderOptions(),
    );
    const file = join(dir, 'hostile.html');
    await writeFile(file, html);
    const { page, context } = await open(pathToFileURL(file).href);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('img, #verdict svg, script:not([type="application/json"])').count()).toBe(1); // the page's own script
    await expect(page.locator('#signals').textContent()).resolves.toContain(HOSTILE_NAME);
    await expect(page.locator('#verdict').textContent()).resolves.toContain('<svg onload=window.__pwned=4>');
    await expect(page.locator('h1').textContent()).resolves.toContain('vm"><script>');
    await expect(page.locator('#provenance').textContent()).resolves.toContain(
      '</script><script>window.__pwned=5</script>',
    );
    await page.locator('#signals').screenshot({ path: join(SHOTS, 'hostile-signals.png') });
    await context.close();
  });

  it('has no serious or critical accessibility violation (axe-core), light and dark', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page, context } = await open(pathToFileURL(reportPath).href, { colorScheme });
      // page.evaluate runs outside the page's CSP, so the engine can be loaded into a page that forbids scripts.
      await page.evaluate(AXE);
      const result = await page.evaluate<{ id: string; impact: string; nodes: string[] }[]>(
        `axe.run().then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`,
      );
      expect(result.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
      await context.close();
    }
  });

  it('writes a screenshot of every view, in light, dark and print', async () => {
    const { page, context } = await open(pathToFileURL(reportPath).href);
    for (const id of [
      'verdict',
      'signals',
      'timeline-section',
      'conversations',
      'endpoints',
      'protocols',
      'map-section',
      'provenance',
    ]) {
      await page.locator(`#${id}`).screenshot({ path: join(SHOTS, `${id}.png`) });
    }
    await page.screenshot({ path: join(SHOTS, 'full-light.png'), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    await page.screenshot({ path: join(SHOTS, 'full-print.png'), fullPage: true });
    await context.close();
    const dark = await open(pathToFileURL(reportPath).href, { colorScheme: 'dark' });
    await dark.page.screenshot({ path: join(SHOTS, 'full-dark.png'), fullPage: true });
    await dark.context.close();
  });
});
