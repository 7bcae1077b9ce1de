/**
 * Process plumbing shared by the ARM benchmarks (`webhook.ts`, `poller.ts`).
 *
 * Node reads `NODE_EXTRA_CA_CERTS` only at start, so the process that runs the app's SDK calls must be started after
 * the emulator's certificate exists. The bench file therefore runs twice: as the parent it starts Azurite and the
 * Network Watcher emulator (each in its own process, so the emulator's JSON, TLS and traffic synthesis do not share
 * an event loop with the app being timed, as ARM would not), then re-runs itself as the worker with the emulator's
 * certificate trusted; the worker talks to the emulator over its admin API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmulatorCapture, EmulatorConfig, EmulatorVm, RequestLogEntry } from '../../emulator/types.js';
import { startAzurite } from '../../support/azurite.js';

/** The environment variable that marks the worker and carries what it needs (no secret beyond loopback ones). */
const WORKER_ENV = 'ALERT_CAPTURE_BENCH_WORKER';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** How the parent starts the emulator. */
export interface BenchEmulatorOptions {
  /** Emulated seconds per real second. */
  timeScale: number;
  /** Added to every ARM request, ms. */
  latencyInMs: number;
}

/** What the worker is given. */
interface WorkerInfo {
  emulatorUrl: string;
  identityEndpoint: string;
  identityHeader: string;
  caFile: string;
  azuriteConnectionString: string;
}

/** The out-of-process emulator, seen from the worker: its identity endpoint and its admin API. */
export interface EmulatorClient {
  url: string;
  caPem: string;
  identityEndpoint: string;
  identityHeader: string;
  registerVm(vm: EmulatorVm): Promise<void>;
  requests(): Promise<RequestLogEntry[]>;
  captures(): Promise<EmulatorCapture[]>;
  configure(config: EmulatorConfig): Promise<void>;
  /** Moves the emulated clock; resolves after the resulting uploads. */
  advanceClock(seconds: number): Promise<void>;
}

/** What a bench worker gets. */
export interface BenchServices {
  emulator: EmulatorClient;
  azuriteConnectionString: string;
}

/**
 * Runs `worker` in a child process of `benchFile` (pass `import.meta.url`) that trusts a freshly started emulator,
 * with Azurite next to it; stops both afterwards and exits with the worker's status.
 */
export async function runBenchWorker(
  benchFile: string,
  emulatorOptions: BenchEmulatorOptions,
  worker: (services: BenchServices) => Promise<void>,
): Promise<void> {
  const info = process.env[WORKER_ENV];
  if (info) {
    const parsed = JSON.parse(info) as WorkerInfo;
    await worker({
      emulator: emulatorClient(parsed),
      azuriteConnectionString: parsed.azuriteConnectionString,
    });
    return;
  }

  const azurite = await startAzurite();
  let emulator: { process: ChildProcess; info: Omit<WorkerInfo, 'azuriteConnectionString'> } | undefined;
  let status = 1;
  try {
    emulator = await startEmulatorProcess(azurite.connectionString, emulatorOptions);
    const workerInfo: WorkerInfo = { ...emulator.info, azuriteConnectionString: azurite.connectionString };
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(benchFile)], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: emulator.info.caFile,
        [WORKER_ENV]: JSON.stringify(workerInfo),
      },
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    status = code ?? 1;
  } finally {
    if (emulator) await stopChild(emulator.process);
    await azurite.stop();
  }
  process.exitCode = status;
}

async function startEmulatorProcess(
  blobConnectionString: string,
  options: BenchEmulatorOptions,
): Promise<{ process: ChildProcess; info: Omit<WorkerInfo, 'azuriteConnectionString'> }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(REPO_ROOT, 'test/emulator/main.ts'),
      '--time-scale',
      String(options.timeScale),
      '--latency-ms',
      String(options.latencyInMs),
    ],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      // The connection string goes by environment rather than argv (Azurite's well-known key, but still a key).
      env: { ...process.env, NW_EMULATOR_BLOB_CONNECTION_STRING: blobConnectionString },
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the emulator did not start within 30 s')), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, newline));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited with ${code} before it started`));
    });
  });
  child.stdout?.resume();
  const started = JSON.parse(line) as {
    url: string;
    caFile: string;
    identityEndpoint: string;
    identityHeader: string;
  };
  return {
    process: child,
    info: {
      emulatorUrl: started.url,
      caFile: started.caFile,
      identityEndpoint: started.identityEndpoint,
      identityHeader: started.identityHeader,
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

function emulatorClient(info: WorkerInfo): EmulatorClient {
  const caPem = readFileSync(info.caFile, 'utf8');
  const admin = (method: string, route: string, body?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(`/_emulator/${route}`, info.emulatorUrl),
        {
          method,
          ca: caPem,
          headers: text
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }
            : {},
        },
        (res) => {
          let answer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (answer += chunk));
          res.on('end', () => {
            if ((res.statusCode ?? 0) >= 300) {
              reject(new Error(`emulator admin ${method} ${route} answered ${res.statusCode}: ${answer}`));
              return;
            }
            resolve(answer ? (JSON.parse(answer) as unknown) : undefined);
          });
        },
      );
      req.on('error', reject);
      req.end(text);
    });
  return {
    url: info.emulatorUrl,
    caPem,
    identityEndpoint: info.identityEndpoint,
    identityHeader: info.identityHeader,
    registerVm: async (vm) => void (await admin('POST', 'vms', vm)),
    requests: async () => (await admin('GET', 'requests')) as RequestLogEntry[],
    captures: async () => (await admin('GET', 'captures')) as EmulatorCapture[],
    configure: async (c) => void (await admin('POST', 'config', c)),
    advanceClock: async (seconds) => void (await admin('POST', 'clock', { advanceSeconds: seconds })),
  };
}
