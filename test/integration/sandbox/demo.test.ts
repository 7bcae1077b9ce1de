import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

it('npm run demo takes one alert from the webhook to the message and exits 0', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/sandbox/demo.ts'], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(output).toMatch(/webhook answered 202 "started"/);
  expect(output).toMatch(/capture Stopped: TimeExceeded/);
  // The app and the emulator share the sandbox clock: a capture never ends before it started.
  const [, from = '', to = ''] = /capture Stopped: TimeExceeded, from (\S+) to (\S+)/.exec(output) ?? [];
  expect(Date.parse(to) - Date.parse(from), output).toBeGreaterThan(0);
  expect(output).toMatch(/notification received: capture\.completed for web-01/);
  expect(output).toMatch(
    /file in Azurite: network-watcher-logs\/subscriptions\/.*\/virtualmachines\/web-01\/.*\.cap \(\d+ bytes\)/,
  );
  expect(output).toMatch(/Top conversations/);
  expect(code, output).toBe(0);
}, 90_000);
