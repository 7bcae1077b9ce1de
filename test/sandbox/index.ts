import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig, SETTING_NAMES } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { redact } from '../../src/logger.js';
import { createCertificate, startEmulator, writeCertificateFile, type Emulator } from '../emulator/index.js';
import { startAzurite, stopChild, type AzuriteInstance } from '../support/azurite.js';
import { writeCliEnv } from './cliEnv.js';
import { startNotificationReceiver, type NotificationReceiver } from './notificationReceiver.js';
import { formatClockAnchor, SANDBOX_CLOCK_SETTING } from './sandboxClock.js';

/** The repository root (this file is test/sandbox/index.ts). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The sandbox's one subscription: the only scope the app is allowed to capture in by default. */
export const SANDBOX_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';

/** The storage account the app names in its capture requests (Azurite's development account). */
export const SANDBOX_CAPTURE_STORAGE_ACCOUNT_ID = `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}/resourceGroups/captures-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;

/** What `.sandbox/sandbox.json` holds: everything a client needs to drive the sandbox. */
export interface SandboxInfo {
  /** `<functions url>/api/alertWebhook`; add `?code=<functionKey>` or the `x-functions-key` header. */
  webhookUrl: string;
  functionKey: string;
  /** The Network Watcher emulator (ARM endpoint), `https://127.0.0.1:<port>`. */
  emulatorUrl: string;
  /** The emulator's CA certificate (PEM): `--cacert` for curl, `NODE_EXTRA_CA_CERTS` for Node. */
  emulatorCaFile: string;
  /** The emulator's App Service managed-identity endpoint and its secret header value. */
  identityEndpoint: string;
  identityHeader: string;
  azuriteBlobUrl: string;
  azuriteConnectionString: string;
  /** `GET` lists the notifications the app sent, `DELETE` clears them. */
  notificationsUrl: string;
}

/** A running sandbox. */
export interface Sandbox extends SandboxInfo {
  /** The in-process emulator, to register VMs, inject faults or advance its clock. */
  emulator: Emulator;
  /** The local Functions host, `http://127.0.0.1:<port>`. */
  functionsUrl: string;
  /** The app settings the app was started with (includes the identity header and connection strings). */
  appSettings: Record<string, string>;
  /** Where sandbox.json was written, if it was (removed again by {@link Sandbox.stop}). */
  sandboxFile?: string;
  /** The emulator's clock speed, which the app follows too (emulated seconds per real second). */
  timeScale: number;
  /** The app settings taken from the environment instead of the sandbox's defaults, secrets masked. */
  overrides: Record<string, string>;
  /** Where cli.env (the operator CLI's environment, mode 600) was written, if it was. */
  cliEnvFile?: string;
  /** Stops the app, the emulator, the receiver and Azurite, and removes the files the sandbox wrote. */
  stop(): Promise<void>;
}

/** The sandbox refused to start: its settings (app settings from the environment, or its own) are bad. */
export class SandboxSettingsError extends Error {
  override readonly name = 'SandboxSettingsError';
  constructor(readonly problems: readonly string[]) {
    super(`the sandbox did not start: bad settings\n- ${problems.join('\n- ')}`);
  }
}

/** Options for {@link startSandbox}. */
export interface StartSandboxOptions {
  /**
   * Where app-setting overrides are read from: any app setting named in `SETTING_NAMES` (or `AzureWebJobsStorage`)
   * present here replaces the sandbox default; so does `SANDBOX_TIME_SCALE` the clock speed. Default
   * `process.env`.
   */
  env?: Record<string, string | undefined>;
  /**
   * Emulated seconds per real second for the emulator's captures; the app follows the same clock. Default
   * `SANDBOX_TIME_SCALE` from `env`, else 60 (a 300 s capture ends in 5 s).
   */
  timeScale?: number;
  /** Write `sandbox.json` and `emulator-ca.pem`. Default true. */
  writeFile?: boolean;
  /** Where to write them. Default `<repo>/.sandbox`. */
  outputDirectory?: string;
  /** Entry points of the app. Default `<repo>/functions/*.ts`. */
  entryPoints?: string[];
  /** How long the app may take to listen. Default 15 000 ms. */
  startTimeoutInMs?: number;
  /** Progress and the app's own log lines. */
  log?: (line: string) => void;
}

/** Stand-ins for the values only known once the services listen: bad overrides are found before anything starts. */
const PLACEHOLDER_DEFAULTS = {
  ARM_ENDPOINT: 'https://127.0.0.1:1',
  LEDGER_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  CAPTURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:1',
};

/** The sandbox's own defaults for the settings that do not depend on a port. */
const FIXED_DEFAULTS = {
  CAPTURE_STORAGE_ACCOUNT_ID: SANDBOX_CAPTURE_STORAGE_ACCOUNT_ID,
  ALLOWED_SCOPES: `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}`,
  CAPTURE_POLL_SCHEDULE: '*/2 * * * * *',
};

/**
 * Every problem with the sandbox's settings at once: the app settings it would start the app with (the
 * environment's overrides on its defaults, checked by the app's own schema) and `SANDBOX_TIME_SCALE`.
 */
export function sandboxSettingProblems(
  env: Record<string, string | undefined>,
  defaults: Record<string, string> = { ...PLACEHOLDER_DEFAULTS, ...FIXED_DEFAULTS },
): string[] {
  const problems: string[] = [];
  const scale = env.SANDBOX_TIME_SCALE;
  if (scale !== undefined && scale !== '' && !(Number(scale) > 0 && Number.isFinite(Number(scale))))
    problems.push(`SANDBOX_TIME_SCALE: expected a positive number, found "${scale}"`);
  try {
    loadConfig(sandboxAppSettings(defaults, env));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  return problems;
}

/**
 * The app settings `env` overrides (those {@link sandboxAppSettings} takes from it), with secrets masked: keys,
 * connection strings and identity headers entirely, notification URLs after their host (their path is the
 * secret of Teams and Slack webhooks), and secret query parameters anywhere.
 */
export function overriddenSettings(env: Record<string, string | undefined>): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const [name, value] of Object.entries(sandboxAppSettings({}, env))) {
    overrides[name] = maskSetting(name, value);
  }
  return overrides;
}

function maskSetting(name: string, value: string): string {
  if (/CONNECTION_STRING|AzureWebJobsStorage|KEY|SECRET|HEADER|PASSWORD|TOKEN/i.test(name)) return '***';
  if (/_URL$/.test(name)) {
    try {
      const url = new URL(value);
      return url.pathname === '/' && !url.search ? url.origin : `${url.origin}/***`;
    } catch {
      return '***';
    }
  }
  return redact(value);
}

/**
 * Starts Azurite, the Network Watcher emulator, a notification receiver and the app (through the local runner,
 * in a child process so `NODE_EXTRA_CA_CERTS` is in force from its start), all on 127.0.0.1 with free ports.
 * Refuses to start (a {@link SandboxSettingsError} listing every problem) when its settings are bad, before
 * starting anything. If anything fails to start, what did start is stopped again.
 */
export async function startSandbox(options: StartSandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? (() => {});
  const env = options.env ?? process.env;
  const problems = sandboxSettingProblems(env);
  if (problems.length > 0) throw new SandboxSettingsError(problems);
  const timeScale =
    options.timeScale ?? (env.SANDBOX_TIME_SCALE ? Number(env.SANDBOX_TIME_SCALE) : undefined) ?? 60;
  const overrides = overriddenSettings(env);
  for (const [name, value] of Object.entries(overrides)) log(`override ${name}=${value}`);
  const t0 = performance.now();
  const elapsed = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const started: Array<() => Promise<void>> = [];
  // Files and folders the sandbox made, removed on stop (after the services that use them).
  const written: string[] = [];
  let createdDirectory: string | undefined;
  const stopAll = async (): Promise<void> => {
    const stops = started.splice(0).reverse();
    for (const stop of stops) await stop().catch(() => {});
    for (const file of written.splice(0).reverse()) {
      await rm(file, { force: true, recursive: true }).catch(() => {});
    }
    // Only if empty: someone may have put their own files there meanwhile.
    if (createdDirectory) await rmdir(createdDirectory).catch(() => {});
    createdDirectory = undefined;
  };
  try {
    // The emulator's certificate comes first: the app must start with NODE_EXTRA_CA_CERTS naming it, and
    // starting the app early lets its SDKs load while Azurite starts (the two slowest steps).
    const tls = await createCertificate();
    const outputDirectory = options.outputDirectory ?? path.join(REPO_ROOT, '.sandbox');
    let caFile: string;
    if (options.writeFile ?? true) {
      if (!existsSync(outputDirectory)) {
        await mkdir(outputDirectory, { recursive: true });
        createdDirectory = outputDirectory;
      }
      caFile = path.join(outputDirectory, 'emulator-ca.pem');
      written.push(caFile);
      await writeFile(caFile, tls.cert);
    } else {
      caFile = writeCertificateFile(tls.cert);
      written.push(path.dirname(caFile));
    }
    const functionKey = randomBytes(32).toString('base64url');
    const app = spawnApp({
      caFile,
      entryPoints: options.entryPoints ?? defaultEntryPoints(),
      startTimeoutInMs: options.startTimeoutInMs ?? 15_000,
      log,
    });
    started.push(() => app.stop());

    const [azurite, receiver] = await Promise.all([
      startAzurite().then((a: AzuriteInstance) => {
        started.push(() => a.stop());
        return a;
      }),
      startNotificationReceiver().then((r: NotificationReceiver) => {
        started.push(() => r.stop());
        return r;
      }),
    ]);
    log(`azurite: ${azurite.blobUrl} (at ${elapsed()})`);
    const emulator = await startEmulator({
      tls,
      blobConnectionString: azurite.connectionString,
      timeScale,
    });
    started.push(() => emulator.stop());
    log(`emulator: ${emulator.url} (at ${elapsed()})`);

    const appSettings = sandboxAppSettings(
      {
        ARM_ENDPOINT: emulator.url,
        IDENTITY_ENDPOINT: emulator.identityEndpoint,
        IDENTITY_HEADER: emulator.identityHeader,
        LEDGER_STORAGE_CONNECTION_STRING: azurite.connectionString,
        CAPTURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        AzureWebJobsStorage: azurite.connectionString,
        NOTIFY_WEBHOOK_URL: receiver.url,
        ...FIXED_DEFAULTS,
      },
      env,
    );
    // The app reads the emulator's clock (see sandboxClock.ts): one anchor, read at one instant.
    const clock = formatClockAnchor({ realMs: Date.now(), emulatedMs: emulator.now(), timeScale });
    const functionsUrl = await app.start({
      ...appSettings,
      FUNCTION_HOST_KEY: functionKey,
      [SANDBOX_CLOCK_SETTING]: clock,
    });
    log(`functions: ${functionsUrl} (at ${elapsed()})`);

    const info: SandboxInfo = {
      webhookUrl: `${functionsUrl}/api/alertWebhook`,
      functionKey,
      emulatorUrl: emulator.url,
      emulatorCaFile: caFile,
      identityEndpoint: emulator.identityEndpoint,
      identityHeader: emulator.identityHeader,
      azuriteBlobUrl: azurite.blobUrl,
      azuriteConnectionString: azurite.connectionString,
      notificationsUrl: receiver.notificationsUrl,
    };
    let sandboxFile: string | undefined;
    let cliEnvFile: string | undefined;
    if (options.writeFile ?? true) {
      sandboxFile = path.join(outputDirectory, 'sandbox.json');
      written.push(sandboxFile);
      await writeFile(sandboxFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
      cliEnvFile = path.join(outputDirectory, 'cli.env');
      written.push(cliEnvFile);
      await writeCliEnv(cliEnvFile, appSettings, caFile);
    }
    return {
      ...info,
      emulator,
      functionsUrl,
      appSettings,
      sandboxFile,
      cliEnvFile,
      timeScale,
      overrides,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/**
 * The sandbox defaults, each replaced by the same-named app setting found in `env` (only names in
 * `SETTING_NAMES`, and `AzureWebJobsStorage`; empty values are ignored).
 */
export function sandboxAppSettings(
  defaults: Record<string, string>,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const settings = { ...defaults };
  for (const name of [...SETTING_NAMES, 'AzureWebJobsStorage']) {
    const value = env[name];
    if (value !== undefined && value !== '') settings[name] = value;
  }
  return settings;
}

function defaultEntryPoints(): string[] {
  const dir = path.join(REPO_ROOT, 'functions');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ts$/.test(f) && !/\.(d|test)\.ts$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

interface SpawnAppOptions {
  caFile: string;
  entryPoints: string[];
  startTimeoutInMs: number;
  log: (line: string) => void;
}

/** The app's runtime packages (package.json `dependencies`), loaded by the app process while it waits. */
function appDependencies(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  return Object.keys(manifest.dependencies ?? {});
}

/**
 * Spawns test/runner/main.ts under tsx with `NODE_EXTRA_CA_CERTS` set from the start. The app settings follow on
 * stdin (`start`), and reach `process.env` before any app module is imported.
 */
function spawnApp(options: SpawnAppOptions): {
  start(settings: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
} {
  const require = createRequire(import.meta.url);
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const env: Record<string, string> = {};
  // Only what the app needs: the basics of a process and Node's own variables; the settings come on stdin.
  for (const [name, value] of Object.entries(process.env)) {
    if (
      value !== undefined &&
      (/^NODE_/.test(name) || ['PATH', 'HOME', 'TMPDIR', 'TZ', 'LANG'].includes(name))
    ) {
      env[name] = value;
    }
  }
  env.NODE_EXTRA_CA_CERTS = options.caFile;
  const child = spawn(
    process.execPath,
    [
      '--import',
      tsxLoader,
      '--import',
      pathToFileURL(path.join(REPO_ROOT, 'test/sandbox/installSandboxClock.ts')).href,
      path.join(REPO_ROOT, 'test/runner/main.ts'),
      '--port',
      '0',
      '--settings-from-stdin',
      '--preload',
      appDependencies().join(','),
      ...options.entryPoints,
    ],
    { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const ready = waitForReady(child, options.log);
  // Until start() is called nobody awaits `ready`; its rejection is reported by start().
  ready.catch(() => {});
  return {
    async start(settings) {
      child.stdin?.end(JSON.stringify(settings));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`the app did not listen within ${options.startTimeoutInMs} ms of its settings`)),
          options.startTimeoutInMs,
        );
      });
      try {
        return await Promise.race([ready, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    stop: () => stopChild(child),
  };
}

function waitForReady(child: ChildProcess, log: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    let ready = false;
    const onLine = (line: string): void => {
      if (!line) return;
      log(`[app] ${redact(line)}`);
      if (!ready) output += `${line}\n`;
      const m = /^Functions host ready at (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m?.[1] && !ready) {
        ready = true;
        resolve(m[1]);
        return;
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        lines.forEach(onLine);
      });
    }
    child.once('exit', (code, signal) => {
      if (!ready) {
        reject(
          new Error(
            `the app exited (${signal ?? `code ${code}`}) before listening. Output:\n${redact(output)}`,
          ),
        );
      }
    });
  });
}
