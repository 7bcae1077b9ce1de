import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixtures = path.join(root, 'test/fixtures/runnerApp');
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const KEY = 'cli-test-key-0123456789abcdefghijklmnopqrstu';

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

/** Starts the CLI on the fixture app; resolves with its URL once it printed the ready line. */
function startCli(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ url: string; output: () => string; exited: Promise<number | null> }> {
  child = spawn(
    process.execPath,
    [
      '--import',
      tsx,
      'test/runner/main.ts',
      ...args,
      path.join(fixtures, 'echo.ts'),
      path.join(fixtures, 'hello.ts'),
    ],
    { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } },
  );
  const proc = child;
  let output = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /Functions host ready at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m?.[1]) resolve({ url: m[1], output: () => output, exited });
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`the CLI exited with ${code}:\n${output}`)));
  });
}

describe('test/runner/main.ts', () => {
  it('serves the entry points given on the command line, reading settings from its environment', async () => {
    const cli = await startCli({ FUNCTION_HOST_KEY: KEY, RUNNER_FIXTURE_GREETING: 'from the environment' });
    expect(await (await fetch(`${cli.url}/api/hello`)).text()).toBe('hello from the environment');
    const res = await fetch(`${cli.url}/api/echo`, {
      method: 'POST',
      headers: { 'x-functions-key': KEY },
      body: 'x',
    });
    expect(res.status).toBe(201);
  });

  it('does not print a key it was given', async () => {
    const cli = await startCli({ FUNCTION_HOST_KEY: KEY });
    await fetch(`${cli.url}/api/echo?code=${KEY}`, { method: 'POST', body: 'x' });
    expect(cli.output()).toContain('Executed');
    expect(cli.output()).not.toContain(KEY);
  });

  it('prints a random key when none was given, and that key works', async () => {
    const cli = await startCli({});
    const key = /Function key: (\S+)/.exec(cli.output())?.[1] ?? '';
    expect(key.length).toBeGreaterThanOrEqual(32);
    const res = await fetch(`${cli.url}/api/echo?code=${key}`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(201);
  });

  it('with --settings-from-stdin, puts the settings in process.env before importing the app', async () => {
    const started = startCli({}, ['--settings-from-stdin']);
    child?.stdin?.end(JSON.stringify({ FUNCTION_HOST_KEY: KEY, RUNNER_FIXTURE_GREETING: 'from stdin' }));
    const cli = await started;
    expect(await (await fetch(`${cli.url}/api/hello`)).text()).toBe('hello from stdin');
    expect((await fetch(`${cli.url}/api/echo?code=${KEY}`, { method: 'POST', body: 'x' })).status).toBe(201);
  });

  it('stops on SIGTERM and exits 0, closing its port', async () => {
    const cli = await startCli({ FUNCTION_HOST_KEY: KEY });
    child?.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    await expect(fetch(`${cli.url}/api/hello`)).rejects.toThrow();
  });
});
