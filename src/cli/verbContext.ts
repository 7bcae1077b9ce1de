import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import { createAppContext, type AppContext } from '../appContext.js';
import { CaptureReports } from '../report/CaptureReports.js';
import { CaptureFiles } from '../captures/CaptureFiles.js';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { CliError, EXIT } from './exitCodes.js';

/** The streams the command uses; tests pass their own. */
export interface CliStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

/** What the entry point (or a test) gives the operator verbs besides the arguments. */
export interface RunCliOptions {
  /** The environment (app settings, `IDENTITY_ENDPOINT`...). Default: none. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where `local.settings.json` is looked for. Default `process.cwd()`. */
  cwd?: string;
  /** Default `DefaultAzureCredential` (az login, managed identity...). */
  credential?: TokenCredential;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
  /** Waits between status reads of `--wait`/`wait`. Default a real timer; tests move an emulated clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Wait between status reads in ms. Default 5 000. */
  pollIntervalInMs?: number;
  /** Whether stdout is a terminal (tables, progress bar). Default false. */
  isTTY?: boolean;
}

/** Everything a verb needs. */
export interface VerbContext {
  io: CliStreams;
  /** The app's context (settings, ledger, ARM gateway, capture files), built on first use. */
  app(): AppContext;
  /** {@link VerbContext.app} once the ledger table exists (created on first use, as the app does). */
  ready(): Promise<AppContext>;
  /** The credential every ARM and storage call uses (built with the app context). */
  credential(): TokenCredential;
  /** The capture files in storage (found, streamed, deleted), with the same credential. */
  files(): CaptureFiles;
  /** The capture reports in storage (built on first use). */
  reports(): CaptureReports;
  /** The folder relative paths (`-o`) are read from. */
  cwd: string;
  now(): number;
  sleep(ms: number): Promise<void>;
  pollIntervalInMs: number;
  isTTY: boolean;
}

/** Builds a verb's context from the settings the CLI loaded. */
export function createVerbContext(
  io: CliStreams,
  settings: Record<string, string | undefined>,
  options: RunCliOptions,
): VerbContext {
  let app: AppContext | undefined;
  let files: CaptureFiles | undefined;
  let reports: CaptureReports | undefined;
  let credential = options.credential;
  const now = options.now ?? Date.now;
  return {
    io,
    app() {
      if (!app) {
        try {
          credential ??= new DefaultAzureCredential();
          app = createAppContext(settings, {
            credential,
            logger: silentLogger,
            now: options.now,
          });
        } catch (e) {
          if (e instanceof ConfigError) throw new CliError(EXIT.usage, e.message);
          throw e;
        }
      }
      return app;
    },
    credential() {
      this.app();
      return credential!;
    },
    async ready() {
      const context = this.app();
      await context.ensureReady();
      return context;
    },
    files() {
      const { config } = this.app();
      files ??= new CaptureFiles(config, credential!);
      return files;
    },
    reports() {
      const { config } = this.app();
      reports ??= new CaptureReports(config, credential!);
      return reports;
    },
    cwd: options.cwd ?? process.cwd(),
    now,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    pollIntervalInMs: options.pollIntervalInMs ?? 5_000,
    isTTY: options.isTTY ?? false,
  };
}
