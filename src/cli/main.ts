#!/usr/bin/env node
/**
 * Entry point of the `alert-capture` command (`dist/src/cli/main.js`); the work is done by {@link runCli}.
 * @packageDocumentation
 */
import { runCli } from './runCli.js';

// `alert-capture summarize f --json | head`: the reader went away; that is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await runCli(
  process.argv.slice(2),
  {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  },
  { env: process.env, cwd: process.cwd(), isTTY: process.stdout.isTTY === true },
);
