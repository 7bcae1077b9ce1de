import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListOutput } from '../../../src/cli/verbs/list.js';
import type { DownloadOutput } from '../../../src/cli/verbs/download.js';
import type { ShowOutput } from '../../../src/cli/verbs/show.js';
import type { StartOutput } from '../../../src/cli/verbs/start.js';
import type { WaitResult } from '../../../src/cli/waitForCapture.js';
import type { CaptureView } from '../../../src/cli/captureView.js';
import { SUB, firedMetricAlert, vmId } from '../../support/appHarness.js';
import { downloadCaptureFile } from '../poller/pollerSupport.js';
import { startCliHarness, type CliHarness } from './cliHarness.js';

const REGION = 'westeurope';
const WATCHER_ID = `${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_${REGION}`;
const ALERT_ID = `${SUB}/providers/Microsoft.AlertsManagement/alerts/11111111-2222-3333-4444-555555555555`;

describe('alert-capture operator verbs after one alert', () => {
  let h: CliHarness;
  let alertCapture: string;
  const alertVm = vmId('web-01');
  const personVm = vmId('db-01');

  beforeAll(async () => {
    h = await startCliHarness({ settings: { CAPTURE_TIME_LIMIT_SECONDS: '60' } });
    await h.ctx.ensureReady();
    h.emulator.registerVm({ id: alertVm, location: REGION });
    h.emulator.registerVm({ id: personVm, location: REGION });
    const answer = await h.post(firedMetricAlert(alertVm, { alertId: ALERT_ID }));
    expect(answer.body.outcome).toBe('started');
    alertCapture = answer.body.captureName ?? '';
    // Past the time limit and the upload; then the poller records the end, notifies and deletes the resource.
    await h.emulator.advanceClock(75);
    for (let i = 0; i < 10 && (await h.ctx.ledger.get(ALERT_ID))?.state !== 'notified'; i++) {
      await h.tick();
      await h.emulator.advanceClock(5);
    }
    expect((await h.ctx.ledger.get(ALERT_ID))?.state).toBe('notified');
    h.emulator.plantCapture({
      watcherId: WATCHER_ID,
      name: 'person-capture',
      target: personVm,
      status: 'Running',
    });
    h.emulator.plantCapture({
      watcherId: WATCHER_ID,
      name: 'person-broken',
      target: personVm,
      status: 'Error',
    });
  });
  afterAll(async () => h.stop());

  it('list --json shows the alert with its state, last status and file', async () => {
    const run = await h.cli(['list', '--json']);
    expect(run.code).toBe(0);
    const { captures } = JSON.parse(run.stdout) as ListOutput;
    expect(captures).toHaveLength(1);
    expect(captures[0]).toMatchObject({
      name: alertCapture,
      kind: 'alert',
      alertId: ALERT_ID,
      ruleName: 'vm-network-out-high',
      target: alertVm.toLowerCase(), // as the alert sent it
      vmName: 'web-01',
      region: REGION,
      state: 'notified',
      status: 'Stopped',
      statusSource: 'ledger',
      stopReason: 'TimeExceeded',
    });
    // From the PUT to when the poller saw it Stopped: the 60 s limit plus the start and a tick or two.
    expect(captures[0]?.durationSeconds).toBeGreaterThanOrEqual(60);
    expect(captures[0]?.durationSeconds).toBeLessThan(120);
    expect(captures[0]?.file).toMatch(
      /\/network-watcher-logs\/.*\/web-01\/\d{4}\/\d{2}\/\d{2}\/packetcapture_.*\.cap$/,
    );
  });

  it('list prints an aligned table (golden)', async () => {
    const run = await h.cli(['list'], { isTTY: true });
    expect(run.code).toBe(0);
    const normalised = run.stdout
      .replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z/g, 'YYYY-MM-DD hh:mm:ssZ')
      .replace(/ 1m\d*s? +/, ' 1mSSs     ')
      .replace(
        /\d{4}\/\d{2}\/\d{2}\/packetcapture_\d{2}_\d{2}_\d{2}_\d{3}\.cap/g,
        'YYYY/MM/DD/packetcapture_hh_mm_ss_fff.cap',
      );
    expect(normalised).toBe(
      [
        'NAME                             TARGET  ALERT/RULE           STATE     STATUS   STOP REASON   STARTED               DURATION  FILE',
        `${alertCapture}  web-01  vm-network-out-high  notified  Stopped  TimeExceeded  YYYY-MM-DD hh:mm:ssZ  1mSSs     YYYY/MM/DD/packetcapture_hh_mm_ss_fff.cap`,
        '',
      ].join('\n'),
    );
  });

  it('list --all adds the captures people made, read-only, with their live status; --ndjson gives one per line', async () => {
    const run = await h.cli(['list', '--all', '--ndjson']);
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as CaptureView);
    expect(lines.map((v) => [v.name, v.kind, v.status])).toEqual([
      [alertCapture, 'alert', 'Stopped'],
      ['person-capture', 'foreign', 'Running'],
      ['person-broken', 'foreign', 'Error'],
    ]);
    expect(lines[1]).toMatchObject({ target: personVm, vmName: 'db-01', region: REGION });
  });

  it('list filters by --vm, --state and --since', async () => {
    const none = async (argv: string[]) =>
      (JSON.parse((await h.cli([...argv, '--json'])).stdout) as ListOutput).captures.length;
    expect(await none(['list', '--vm', personVm])).toBe(0);
    expect(await none(['list', '--vm', alertVm.toLowerCase()])).toBe(1);
    expect(await none(['list', '--state', 'running'])).toBe(0);
    expect(await none(['list', '--since', '1h'])).toBe(1);
    expect((await h.cli(['list', '--state', 'bogus'])).code).toBe(2);
    expect((await h.cli(['list', '--since', 'yesterday'])).code).toBe(2);
  });

  it('download <alertId> -o x.pcap writes the blob byte for byte, prints its SHA-256, and tshark reads it', async () => {
    const out = path.join(h.cwd, 'x.pcap');
    const run = await h.cli(['download', ALERT_ID, '-o', out, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as DownloadOutput;
    const record = await h.ctx.ledger.get(ALERT_ID);
    const blob = await downloadCaptureFile(record?.storagePath ?? '');
    const file = await readFile(out);
    expect(file.equals(blob)).toBe(true);
    expect(result).toMatchObject({ path: out, bytes: blob.length, format: 'pcap', name: alertCapture });
    expect(result.sha256).toBe(createHash('sha256').update(blob).digest('hex'));
    const { stdout } = await promisify(execFile)('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.number']);
    expect(stdout.trim().split('\n').length).toBeGreaterThan(0);
  });

  it('download by capture name prints "sha256  path" and a progress bar only on a terminal', async () => {
    const out = path.join(h.cwd, 'by-name.cap');
    const plain = await h.cli(['download', alertCapture, '-o', out]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    const sha = createHash('sha256')
      .update(await readFile(out))
      .digest('hex');
    expect(plain.stdout.split('\n')[0]).toBe(`${sha}  ${out}`);
    const byDefault = await h.cli(['download', alertCapture, '--json']);
    expect((JSON.parse(byDefault.stdout) as DownloadOutput).path).toBe(
      path.join(h.cwd, `${alertCapture}.cap`),
    );
    const tty = await h.cli(['download', alertCapture, '-o', out], { isTTY: true });
    expect(tty.stderr).toMatch(/\[#{30}\] 100% \d+\/\d+ bytes\n$/);
  });

  it('summarize <alertId> summarizes the file from storage as summarize <file> does', async () => {
    const out = path.join(h.cwd, 'for-summary.cap');
    expect((await h.cli(['download', ALERT_ID, '-o', out])).code).toBe(0);
    const local = await h.cli(['summarize', out, '--json']);
    const remote = await h.cli(['summarize', ALERT_ID, '--json']);
    expect(remote.code, remote.stderr).toBe(0);
    expect(JSON.parse(remote.stdout)).toEqual(JSON.parse(local.stdout));
    const byName = await h.cli(['summarize', alertCapture]);
    expect(byName.stdout).toMatch(/^Capture \(pcap\): \d+ packets/);
    expect((await h.cli(['summarize', 'manual:no-such'])).code).toBe(3);
  });

  it('report <alertId> writes the page the file would give, with the alert and settings of its record', async () => {
    const out = path.join(h.cwd, 'for-report.cap');
    expect((await h.cli(['download', ALERT_ID, '-o', out])).code).toBe(0);
    const embedded = (html: string): unknown =>
      JSON.parse(
        /<script type="application\/json" id="capture-summary">([^]*?)<\/script>/.exec(html)?.[1] ?? '',
      );
    const local = await h.cli(['summarize', out, '--json']);
    const remote = await h.cli(['report', ALERT_ID, '-o', path.join(h.cwd, 'remote.html')]);
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.stderr).toMatch(/report written to .*remote\.html \(\d+ bytes\)/);
    const html = await readFile(path.join(h.cwd, 'remote.html'), 'utf8');
    expect(embedded(html)).toEqual(JSON.parse(local.stdout));
    // The record names the VM the alert fired on: the page says so, where a file alone cannot.
    expect(html).toContain('web-01');
    const byName = await h.cli(['report', alertCapture]);
    expect(byName.code, byName.stderr).toBe(0);
    expect(await readFile(path.join(h.cwd, `${alertCapture}.html`), 'utf8')).toContain('<!doctype html>');
    expect((await h.cli(['report', 'manual:no-such'])).code).toBe(3);
  });

  it('show <alertId> gives the history, the file, the deliveries and the summary head', async () => {
    const run = await h.cli(['show', ALERT_ID]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`capture:     ${alertCapture}`);
    expect(run.stdout).toMatch(/state: +notified/);
    expect(run.stdout).toMatch(/resource: +gone/);
    expect(run.stdout).toMatch(/notified: +\S+ \S+ to webhook/);
    expect(run.stdout).toMatch(
      /History:\n.*alert received \(rule vm-network-out-high\)\n.*capture alertcap-web-01-\w+-\w+ started in westeurope\n/,
    );
    expect(run.stdout).toContain('capture resource deleted (budget slot freed)');
    expect(run.stdout).toMatch(/Summary:\n {2}Capture \(pcap\): \d+ packets/);
    const json = JSON.parse((await h.cli(['show', alertCapture, '--json'])).stdout) as ShowOutput;
    expect(json).toMatchObject({
      capture: { name: alertCapture, state: 'notified' },
      resource: null,
      liveStatus: null,
      notification: { targets: ['webhook'], attempts: expect.any(Number) as number },
    });
    expect(json.summary?.packets).toBeGreaterThan(0);
  });

  it("stop and delete refuse a person's capture with exit 4 and leave it running", async () => {
    const stop = await h.cli(['stop', 'person-capture']);
    expect(stop.code).toBe(4);
    expect(stop.stderr).toContain('capture person-capture was not made by alert-capture');
    const del = await h.cli(['delete', 'person-capture', '--purge-file']);
    expect(del.code).toBe(4);
    const planted = h.emulator.captures().find((c) => c.name === 'person-capture');
    expect(planted?.status).toBe('Running');
    expect(
      h.emulator
        .requests()
        .filter(
          (r) => r.path.includes('person-capture') && r.method !== 'GET' && !/\/querystatus$/i.test(r.path),
        ),
    ).toEqual([]);
  });

  it("show works on a person's capture, read-only", async () => {
    const json = JSON.parse((await h.cli(['show', 'person-capture', '--json'])).stdout) as ShowOutput;
    expect(json.capture).toMatchObject({ kind: 'foreign', status: 'Running', target: personVm });
    expect(json.history).toEqual([]);
  });

  it('wait exits 6 on a capture that ended in Error', async () => {
    const run = await h.cli(['wait', 'person-broken', '--json']);
    expect(run.code).toBe(6);
    expect(JSON.parse(run.stdout) as WaitResult).toMatchObject({ outcome: 'error', status: 'Error' });
  });

  it('exits 3 for an unknown capture or alert', async () => {
    for (const verb of ['show', 'stop', 'delete', 'wait', 'download']) {
      const run = await h.cli([verb, 'no-such-capture']);
      expect(run.code, verb).toBe(3);
      expect(run.stderr).toContain('no alert or capture "no-such-capture"');
    }
  });

  it('start, stop --wait (Manual, with its file), delete refused while the ledger says running, then delete --purge-file', async () => {
    const vm = vmId('app-02');
    h.emulator.registerVm({ id: vm, location: REGION });
    const started = JSON.parse(
      (await h.cli(['start', '--vm', vm, '--duration', '3600', '--json'])).stdout,
    ) as StartOutput;
    expect(started.outcome).toBe('started');
    await h.emulator.advanceClock(20);
    const stop = await h.cli(['stop', started.captureName, '--wait', '--json']);
    expect(stop.code).toBe(0);
    const waited = JSON.parse(stop.stdout) as WaitResult;
    expect(waited).toMatchObject({ outcome: 'stopped', stopReason: 'Manual' });
    expect(waited.file).toContain('/app-02/');
    const refused = await h.cli(['delete', started.captureName]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('still running');
    // The poller records the end and releases the capture resource.
    // ... then summarizes it, writes its report and notifies.
    for (let i = 0; i < 8 && (await h.ctx.ledger.get(started.alertId))?.state !== 'notified'; i++) {
      await h.tick();
      await h.emulator.advanceClock(30);
    }
    const del = await h.cli(['delete', started.alertId, '--purge-file', '--json']);
    expect(del.code).toBe(0);
    // The poller's DELETE may still be running: a second one is accepted too, and harmless.
    expect(JSON.parse(del.stdout)).toMatchObject({
      resource: expect.stringMatching(/^(accepted|missing)$/) as string,
      purgedFile: waited.file,
      // The report holds the capture's peers and names: it goes with the file.
      purgedReport: expect.stringMatching(/\/capture-reports\/.*\/app-02\/.*\.html$/) as string,
    });
    await expect(downloadCaptureFile(waited.file ?? '')).rejects.toThrow();
    expect((await h.cli(['download', started.alertId])).code).toBe(3);

    // A later capture of the same VM writes into the same day folder: purging the first one again takes nothing.
    const second = JSON.parse(
      (await h.cli(['start', '--vm', vm, '--duration', '3600', '--json'])).stdout,
    ) as StartOutput;
    expect(second.outcome).toBe('started');
    await h.emulator.advanceClock(20);
    const secondStop = JSON.parse(
      (await h.cli(['stop', second.captureName, '--wait', '--json'])).stdout,
    ) as WaitResult;
    expect(secondStop.file).toContain('/app-02/');
    const again = await h.cli(['delete', started.alertId, '--purge-file', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ purgedFile: null, purgedReport: null });
    await expect(downloadCaptureFile(secondStop.file ?? '')).resolves.toBeDefined();
  });

  it('wait --timeout exits 5 while the capture goes on', async () => {
    const vm = vmId('app-03');
    h.emulator.registerVm({ id: vm, location: REGION });
    const started = JSON.parse(
      (await h.cli(['start', '--vm', vm, '--duration', '3600', '--json'])).stdout,
    ) as StartOutput;
    const run = await h.cli(['wait', started.captureName, '--timeout', '30', '--json']);
    expect(run.code).toBe(5);
    expect(JSON.parse(run.stdout) as WaitResult).toMatchObject({ outcome: 'timedOut' });
    expect(h.emulator.captures().find((c) => c.name === started.captureName)?.status).toBe('Running');
    // --force stops it anyway (ours needs no --force; this checks the flag is accepted).
    expect((await h.cli(['stop', started.captureName, '--force'])).code).toBe(0);
  });

  it('reads local.settings.json Values like func, the environment winning', async () => {
    await writeFile(
      path.join(h.cwd, 'local.settings.json'),
      JSON.stringify({ IsEncrypted: false, Values: { ...h.settings, LEDGER_TABLE_NAME: 'elsewhere' } }),
    );
    try {
      const fromFile = await h.cli(['list', '--json'], { replaceEnv: {} });
      expect(fromFile.code).toBe(0);
      expect((JSON.parse(fromFile.stdout) as ListOutput).captures).toEqual([]);
      const envWins = await h.cli(['list', '--json'], {
        replaceEnv: { LEDGER_TABLE_NAME: h.settings.LEDGER_TABLE_NAME! },
      });
      expect((JSON.parse(envWins.stdout) as ListOutput).captures.length).toBeGreaterThan(0);
      await writeFile(path.join(h.cwd, 'local.settings.json'), '{ not json');
      const bad = await h.cli(['list'], { replaceEnv: {} });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('local.settings.json: not valid JSON');
    } finally {
      await writeFile(path.join(h.cwd, 'local.settings.json'), '{}');
    }
  });

  it("--force stops and deletes a person's capture, file and all", async () => {
    const stop = await h.cli(['stop', 'person-capture', '--force', '--json']);
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout)).toEqual({ name: 'person-capture', outcome: 'accepted', ours: false });
    expect(h.emulator.captures().find((c) => c.name === 'person-capture')?.status).toBe('Stopped');
    const del = await h.cli(['delete', 'person-capture', '--force']);
    expect(del.code).toBe(0);
    expect(del.stdout).toBe('capture person-capture: resource delete accepted\n');
    const again = await h.cli(['stop', 'person-broken', '--force']);
    expect(again.code).toBe(0);
    // Once its delete ran it is nowhere: wait (like every verb) exits 3.
    await h.emulator.advanceClock(30);
    const gone = await h.cli(['wait', 'person-capture', '--subscription', SUB]);
    expect([gone.code, gone.stderr]).toEqual([
      3,
      expect.stringContaining('no alert or capture "person-capture"'),
    ]);
  });

  it('wait on an alert the poller already finished ends at once from the ledger, with the file', async () => {
    const slept = h.sleptSeconds();
    const run = await h.cli(['wait', ALERT_ID, '--json']);
    expect(run.code).toBe(0);
    expect(h.sleptSeconds()).toBe(slept); // no waiting at all
    const result = JSON.parse(run.stdout) as WaitResult;
    expect(result).toMatchObject({ outcome: 'stopped', status: 'Stopped', stopReason: 'TimeExceeded' });
    expect(result.file).toBe((await h.ctx.ledger.get(ALERT_ID))?.storagePath);
  });

  it('prints the operator usage for --help', async () => {
    const run = await h.cli(['list', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'Exit codes: 0 done, 1 operation failed, 2 usage or invalid input, 3 not found',
    );
  });
});
