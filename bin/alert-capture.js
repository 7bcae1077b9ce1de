#!/usr/bin/env node
// The `alert-capture` command (package.json `bin`): runs the built CLI, dist/src/cli/main.js. Kept as plain
// JavaScript outside dist/ so that, before `npm run build` (or after `npm run clean`), the command still exists
// and says how to build it instead of "not found".
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'alert-capture: the command is not built yet: run `npm run build` first (it writes dist/, which `npm run clean` removes)\n',
  );
  process.exit(127);
}
await import(main.href);
