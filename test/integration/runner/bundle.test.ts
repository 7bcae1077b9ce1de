import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunctions, functionEntryPoints } from '../../../bundle.js';
import { stopChild } from '../../support/azurite.js';

// The deployed bundle (package.json `main`), hosted by the local runner next to the source entry points: the host
// must find the same functions with the same triggers, and the bundled handlers must answer. Each host is its own
// process, as the Functions worker is, so Node loads the bundle natively (not through the test runner's transform).
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const KEY = 'bundle-test-key-0123456789abcdefghijklmnopq';

interface RunnerProcess {
  child: ChildProcess;
  url: string;
  /** The runner's lines listing the functions, with its port replaced by `PORT`. */
  functions: string[];
}

function startRunner(entries: string[]): Promise<RunnerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(REPO_ROOT, 'test/runner/main.ts'),
      '--port',
      '0',
      '--no-timers',
      ...entries,
    ],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', FUNCTION_HOST_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const ready = /Functions host ready at (http:\/\/127\.0\.0\.1:(\d+))/.exec(output);
      if (!ready?.[1] || !ready[2]) return;
      const port = ready[2];
      const functions = output
        .split('\n')
        .filter((l) => /^ {2}\w+: /.test(l))
        .map((l) => l.replaceAll(`:${port}/`, ':PORT/'));
      resolve({ child, url: ready[1], functions });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`the runner exited (${code}) before listening:\n${output}`)),
    );
  });
}

let outdir: string;
let bundled: RunnerProcess;
let source: RunnerProcess;

beforeAll(async () => {
  // Inside the repository (.cache/, which `clean` removes), as dist/bundle is.
  await mkdir(path.join(REPO_ROOT, '.cache'), { recursive: true });
  outdir = await mkdtemp(path.join(REPO_ROOT, '.cache', 'test-bundle-'));
  const result = await bundleFunctions({ outdir, minify: false });
  expect(result.errors).toEqual([]);
  const entries = functionEntryPoints().map((f) =>
    path.join(outdir, 'functions', path.basename(f).replace(/\.ts$/, '.js')),
  );
  [bundled, source] = await Promise.all([startRunner(entries), startRunner(functionEntryPoints())]);
}, 60_000);

afterAll(async () => {
  for (const runner of [bundled, source]) if (runner) await stopChild(runner.child);
  await rm(outdir, { recursive: true, force: true });
});

describe('the bundled entry points', () => {
  it('register the same functions as functions/*.ts', () => {
    expect(bundled.functions).toEqual(source.functions);
    expect(bundled.functions).toEqual([
      '  alertWebhook: [POST] http://127.0.0.1:PORT/api/alertWebhook (function)',
      expect.stringMatching(/^ {2}capturePoller: timer /),
    ]);
  });

  it('serve the webhook behind the function key, answering with the app’s own errors', async () => {
    const noKey = await fetch(`${bundled.url}/api/alertWebhook`, { method: 'POST', body: '{}' });
    expect(noKey.status).toBe(401);
    const post = (url: string) =>
      fetch(`${url}/api/alertWebhook`, {
        method: 'POST',
        headers: { 'x-functions-key': KEY, 'content-type': 'text/plain' },
        body: 'hello',
      });
    const [fromBundle, fromSource] = await Promise.all([post(bundled.url), post(source.url)]);
    // No app settings here: both answer the same ARM-style error (bad settings are a 503), from the same code.
    expect(fromBundle.status).toBe(fromSource.status);
    const body = (await fromBundle.json()) as { error?: { code?: string } };
    expect(body.error?.code).toEqual(expect.any(String));
    expect(body).toEqual(await fromSource.json());
  });

  it('keep source maps next to every file', async () => {
    const files = await readdir(path.join(outdir, 'functions'));
    expect(files.filter((f) => f.endsWith('.js.map')).sort()).toEqual([
      'alertWebhook.js.map',
      'capturePoller.js.map',
    ]);
  });
});
