#!/usr/bin/env node
// `npm test`: `vitest run --coverage [args]`, without colour codes when the output is not a terminal. Vitest's
// colours (tinyrainbow 3) are on whenever TERM is set, even when the output is redirected to a file or a pipe;
// `--no-color` is the switch it honours. NO_COLOR / FORCE_COLOR set by the caller still win.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const require = createRequire(import.meta.url);
const vitest = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const args = [vitest, 'run', ...process.argv.slice(2)];
if (!process.stdout.isTTY && !('FORCE_COLOR' in process.env)) args.push('--no-color');
const child = spawn(process.execPath, args, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
