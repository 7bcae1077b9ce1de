#!/usr/bin/env node
/**
 * Entry point of the `alert-capture` command (`dist/src/cli/main.js`); the work is done by {@link runCli}.
 * @packageDocumentation
 */
import { runCli } from './runCli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
