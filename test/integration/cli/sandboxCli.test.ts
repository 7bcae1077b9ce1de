import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CaptureView } from '../../../src/cli/captureView.js';
import type { DownloadOutput } from '../../../src/cli/verbs/download.js';
import type { StartOutput } from '../../../src/cli/verbs/start.js';
import { firedMetricAlert } from '../../support/alertPayloads.js';
import { SANDBOX_SUBSCRIPTION_ID, startSandbox, type Sandbox } from '../../sandbox/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const RG = `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}/resourceGroups/sandbox-rg`;
const vm = (name: string) => `${RG}/providers/Microsoft.Compute/virtualMachines/${name}`;

// The "done when", end to end: a real sandbox (app in its own process, poller on its schedule), and the
// CLI as a person runs it — a child process whose only settings come from `set -a; . .sandbox/cli.env`, reaching
// the emulator through DefaultAzureCredential and NODE_EXTRA_CA_CERTS.
describe('alert-capture against the sandbox with .sandbox/cli.env sourced', () => {
  let sandbox: Sandbox;
  let dir: string;
  let alertId: string;

  /** `sh -c 'set -a; . cli.env; alert-capture …'` with nothing else in the environment but PATH and HOME. */
  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const script = 'set -a; . "$1"; shift; exec "$@"';
    return new Promise((resolve) => {
      execFile(
        '/bin/sh',
        [
          '-c',
          script,
          'sh',
          sandbox.cliEnvFile!,
          process.execPath,
          '--import',
          TSX,
          path.join(REPO, 'src/cli/main.ts'),
          ...argv,
        ],
        { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sandbox-cli-'));
    sandbox = await startSandbox({ env: {}, outputDirectory: dir });
    sandbox.emulator.registerVm({ id: vm('web-01'), location: 'westeurope' });
    sandbox.emulator.registerVm({ id: vm('web-02'), location: 'westeurope' });
    const answer = await fetch(sandbox.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': sandbox.functionKey },
      // Short, so the poller (on real time) looks at it within seconds.
      body: JSON.stringify(
        firedMetricAlert(vm('web-01'), { customProperties: { captureDurationSeconds: '5' } }),
      ),
    });
    const body = (await answer.json()) as { outcome: string; alertId: string };
    expect(body.outcome).toBe('started');
    alertId = body.alertId;
    // The sandbox's poller follows the capture and notifies.
    await vi.waitFor(
      async () => {
        const sent = (await (await fetch(sandbox.notificationsUrl)).json()) as unknown[];
        expect(sent.length).toBeGreaterThan(0);
      },
      { timeout: 60_000, interval: 500 },
    );
  }, 120_000);

  afterAll(async () => {
    await sandbox?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes cli.env readable by its owner only', async () => {
    expect(sandbox.cliEnvFile).toBe(path.join(dir, 'cli.env'));
    expect((await stat(sandbox.cliEnvFile!)).mode & 0o077).toBe(0);
    const text = await readFile(sandbox.cliEnvFile!, 'utf8');
    expect(text).toContain(`ARM_ENDPOINT='${sandbox.emulatorUrl}'`);
    expect(text).toContain(`NODE_EXTRA_CA_CERTS='${sandbox.emulatorCaFile}'`);
  });

  it('list --json shows the alert with state, status and file', async () => {
    const run = await cli('list', '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const views = (JSON.parse(run.stdout) as { captures: CaptureView[] }).captures;
    expect(views.find((v) => v.alertId === alertId)).toMatchObject({
      kind: 'alert',
      state: expect.stringMatching(/^(finished|notified)$/) as string,
      status: 'Stopped',
      file: expect.stringMatching(/\.cap$/) as string,
    });
  }, 60_000);

  it('download <alertId> -o x.pcap gives a file tshark reads, with the printed SHA-256', async () => {
    const run = await cli('download', alertId, '-o', 'x.pcap', '--json');
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as DownloadOutput;
    const file = await readFile(path.join(dir, 'x.pcap'));
    expect(out.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    const { stdout } = await promisify(execFile)('tshark', [
      '-r',
      path.join(dir, 'x.pcap'),
      '-T',
      'fields',
      '-e',
      'frame.number',
    ]);
    expect(stdout.trim().split('\n').length).toBeGreaterThan(0);
  }, 60_000);

  it('stop on a capture made by a person exits 4 and leaves it', async () => {
    sandbox.emulator.plantCapture({
      watcherId: `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope`,
      name: 'by-a-person',
      target: vm('web-02'),
      status: 'Running',
    });
    const run = await cli('stop', 'by-a-person');
    expect(run.code).toBe(4);
    expect(sandbox.emulator.captures().find((c) => c.name === 'by-a-person')?.status).toBe('Running');
  }, 60_000);

  it("start --filter with the seed's bad range exits 2 naming it", async () => {
    const run = await cli(
      'start',
      '--vm',
      vm('web-02'),
      '--filter',
      'protocol=TCP,remoteIPAddress=1.1.1.1-255.255.255',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('remoteIPAddress "1.1.1.1-255.255.255"');
  }, 60_000);

  it('start --wait exits 0 with a Stopped capture and its file', async () => {
    const run = await cli('start', '--vm', vm('web-01'), '--duration', '5', '--wait', '--json');
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as StartOutput;
    expect(out.wait).toMatchObject({ outcome: 'stopped', status: 'Stopped' });
    expect(out.wait?.file).toMatch(/web-01\/.*\.cap$/);
  }, 90_000);
});
