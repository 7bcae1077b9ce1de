import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../../src/cli/runCli.js';
import { emulatorCredential } from '../../emulator/index.js';
import { startAppHarness, type AppHarness, type StartAppHarnessOptions } from '../../support/appHarness.js';

/** What one CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one CLI run. */
export interface CliRunOptions {
  /** Added to the harness's settings. */
  env?: Record<string, string>;
  /** The whole environment instead of the harness's settings (to test `local.settings.json`). */
  replaceEnv?: Record<string, string>;
  isTTY?: boolean;
}

/** The app harness plus the operator CLI run in-process against the same emulator, Azurite and ledger. */
export interface CliHarness extends AppHarness {
  /** A fresh folder the CLI runs in (where `local.settings.json` would be read from). */
  cwd: string;
  /** Runs `alert-capture <argv>` with the harness's settings and the emulator's managed identity. */
  cli(argv: string[], options?: CliRunOptions): Promise<CliRun>;
  /** Emulated seconds the CLI slept so far (each sleep moves the emulator's and the app's clock). */
  sleptSeconds(): number;
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const parts: Buffer[] = [];
  stream.on('data', (d: Buffer) => parts.push(d));
  return { stream, text: () => Buffer.concat(parts).toString('utf8') };
}

/**
 * Starts the app harness and gives a CLI whose waits never sleep: each `sleep` advances the emulator's clock
 * (captures run and upload on it) and the CLI's own clock by as much.
 */
export async function startCliHarness(options: StartAppHarnessOptions = {}): Promise<CliHarness> {
  const harness = await startAppHarness(options);
  const stopHarness = harness.stop.bind(harness);
  const cwd = await mkdtemp(path.join(tmpdir(), 'alert-capture-cli-'));
  let sleptInMs = 0;
  const credential = emulatorCredential(harness.emulator);
  const extra: Pick<CliHarness, 'cwd' | 'sleptSeconds' | 'cli' | 'stop'> = {
    cwd,
    sleptSeconds: () => sleptInMs / 1000,
    async cli(argv: string[], runOptions: CliRunOptions = {}) {
      const out = collect();
      const err = collect();
      const code = await runCli(
        argv,
        { stdout: out.stream, stderr: err.stream, stdin: Readable.from([]) },
        {
          env: runOptions.replaceEnv ?? { ...harness.settings, ...runOptions.env },
          cwd,
          credential,
          now: () => Date.now() + sleptInMs,
          sleep: async (ms: number) => {
            sleptInMs += ms;
            await harness.emulator.advanceClock(ms / 1000);
          },
          pollIntervalInMs: 5_000,
          isTTY: runOptions.isTTY ?? false,
        },
      );
      return { code, stdout: out.text(), stderr: err.text() };
    },
    async stop() {
      await stopHarness();
      await rm(cwd, { recursive: true, force: true });
    },
  };
  return Object.assign(harness, extra);
}
