import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SETTING_NAMES } from '../../src/config.js';
import { redact } from '../../src/logger.js';
import { createCertificate, startEmulator, writeCertificateFile, type Emulator } from '../emulator/index.js';
import { startAzurite, stopChild, type AzuriteInstance } from '../support/azurite.js';
import { writeCliEnv } from './cliEnv.js';
import { startNotificationReceiver, type NotificationReceiver } from './notificationReceiver.js';

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
  /** Where sandbox.json was written, if it was. */
  sandboxFile?: string;
  /** Where cli.env (the operator CLI's environment, mode 600) was written, if it was. */
  cliEnvFile?: string;
  /** Stops the app, the emulator, the receiver and Azurite. */
  stop(): Promise<void>;
}

/** Options for {@link startSandbox}. */
export interface StartSandboxOptions {
  /**
   * Where app-setting overrides are read from: any app setting named in `SETTING_NAMES` (or `AzureWebJobsStorage`)
   * present here replaces the sandbox default. Default `process.env`.
   */
  env?: Record<string, string | undefined>;
  /** Emulated seconds per real second for the emulator's captures. Default 60 (a 300 s capture ends in 5 s). */
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

/**
 * Starts Azurite, the Network Watcher emulator, a notification receiver and the app (through the local runner,
 * in a child process so `NODE_EXTRA_CA_CERTS` is in force from its start), all on 127.0.0.1 with free ports.
 * If anything fails to start, what did start is stopped again.
 */
export async function startSandbox(options: StartSandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? (() => {});
  const t0 = performance.now();
  const elapsed = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const started: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    const stops = started.splice(0).reverse();
    for (const stop of stops) await stop().catch(() => {});
  };
  try {
    // The emulator's certificate comes first: the app must start with NODE_EXTRA_CA_CERTS naming it, and
    // starting the app early lets its SDKs load while Azurite starts (the two slowest steps).
    const tls = await createCertificate();
    const outputDirectory = options.outputDirectory ?? path.join(REPO_ROOT, '.sandbox');
    let caFile: string;
    if (options.writeFile ?? true) {
      await mkdir(outputDirectory, { recursive: true });
      caFile = path.join(outputDirectory, 'emulator-ca.pem');
      await writeFile(caFile, tls.cert);
    } else {
      caFile = writeCertificateFile(tls.cert);
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
      timeScale: options.timeScale ?? 60,
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
        CAPTURE_STORAGE_ACCOUNT_ID: SANDBOX_CAPTURE_STORAGE_ACCOUNT_ID,
        ALLOWED_SCOPES: `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}`,
        NOTIFY_WEBHOOK_URL: receiver.url,
        CAPTURE_POLL_SCHEDULE: '*/2 * * * * *',
        // The emulated clock runs faster: the poller expects captures to end as soon, in wall-clock time.
        LOCAL_TIME_SCALE: String(options.timeScale ?? 60),
      },
      options.env ?? process.env,
    );
    const functionsUrl = await app.start({ ...appSettings, FUNCTION_HOST_KEY: functionKey });
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
      await writeFile(sandboxFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
      cliEnvFile = path.join(outputDirectory, 'cli.env');
      await writeCliEnv(cliEnvFile, appSettings, caFile);
    }
    return { ...info, emulator, functionsUrl, appSettings, sandboxFile, cliEnvFile, stop: stopAll };
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
