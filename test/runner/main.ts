/**
 * Runs the app's functions locally without Azure Functions Core Tools:
 *
 *   tsx test/runner/main.ts [--port N] [--no-timers] [--preload pkg,pkg] [--settings-from-stdin] [entry...]
 *
 * Entry points default to `functions/*.ts`. App settings come from this process's environment (as the host
 * passes app settings to the worker); the function key from `FUNCTION_HOST_KEY` (random if unset).
 * Prints `Functions host ready at <url>` once listening (the sandbox waits for that line), then the key.
 * Stops on SIGINT/SIGTERM and exits 0.
 *
 * `--settings-from-stdin` lets a parent start this process before it knows the settings (the sandbox does, to
 * overlap the app's slow SDK loading with Azurite's start): it reads one JSON object of environment variables
 * from stdin and adds them to `process.env` before the first entry point is imported, so the app sees them as
 * it would see app settings. `--preload` imports packages (e.g. the app's SDKs) while waiting.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startFunctionHost, type FunctionHost } from './index.js';

interface CliOptions {
  port: number;
  timers: boolean;
  entries: string[];
  preload: string[];
  settingsFromStdin: boolean;
}

function parseArgs(argv: string[]): CliOptions {
  let port = 0;
  let timers = true;
  let settingsFromStdin = false;
  const preload: string[] = [];
  const entries: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--port') {
      port = Number(argv[++i]);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new Error(`--port: expected 0-65535, found "${argv[i]}"`);
    } else if (arg === '--no-timers') {
      timers = false;
    } else if (arg === '--settings-from-stdin') {
      settingsFromStdin = true;
    } else if (arg === '--preload') {
      preload.push(...(argv[++i] ?? '').split(',').filter(Boolean));
    } else if (arg.startsWith('--')) {
      throw new Error(
        `unknown option ${arg}; usage: main.ts [--port N] [--no-timers] [--preload pkg,pkg] [--settings-from-stdin] [entry...]`,
      );
    } else {
      entries.push(path.resolve(arg));
    }
  }
  if (entries.length === 0) {
    const dir = path.resolve('functions');
    for (const file of existsSync(dir) ? readdirSync(dir).sort() : []) {
      if (/\.ts$/.test(file) && !/\.(d|test)\.ts$/.test(file)) entries.push(path.join(dir, file));
    }
  }
  return { port, timers, entries, preload, settingsFromStdin };
}

async function readSettingsFromStdin(): Promise<void> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('--settings-from-stdin: expected a JSON object of string values on stdin');
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'string') process.env[name] = value;
  }
}

async function main(): Promise<void> {
  const { port, timers, entries, preload, settingsFromStdin } = parseArgs(process.argv.slice(2));
  const running: { host?: FunctionHost } = {};
  let stopping = false;
  // Signal handlers come first: a parent may stop us as soon as it reads the ready line, or before.
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    (running.host?.stop() ?? Promise.resolve()).then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  // Preloading packages before the settings arrive is safe for packages that read settings when called, which
  // is how the Azure SDKs read theirs.
  const preloaded = Promise.all(preload.map((name) => import(name).catch(() => {})));
  if (settingsFromStdin) await readSettingsFromStdin();
  await preloaded;
  const key = process.env.FUNCTION_HOST_KEY;
  const masterKey = process.env.FUNCTION_HOST_MASTER_KEY;
  const host = await startFunctionHost({
    entryPoints: entries,
    port,
    enableTimers: timers,
    ...(key ? { functionKey: key } : {}),
    ...(masterKey ? { masterKey } : {}),
    log: (line) => console.log(line),
  });
  running.host = host;
  if (!key) console.log(`Function key: ${host.functionKey}`);
  for (const f of host.functions) {
    console.log(
      f.trigger === 'http'
        ? `  ${f.name}: [${f.methods?.join(',')}] ${host.url}/api/${f.route} (${f.authLevel})`
        : `  ${f.name}: timer ${f.schedule}`,
    );
  }
  console.log(`Functions host ready at ${host.url}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
