import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { errorMessage } from '../errors.js';
import { formatSummaryText } from '../pcap/formatSummaryText.js';
import { summarizeStream } from '../pcap/summarizeStream.js';
import { isOperatorVerb, OPERATOR_USAGE, runOperatorVerb } from './operatorVerbs.js';
import { namesCapture } from './verbs/summarizeCapture.js';
import type { RunCliOptions } from './verbContext.js';

export type { RunCliOptions } from './verbContext.js';

/** The streams the command uses; tests pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

/** Exit codes of `alert-capture`. */
export const EXIT_OK = 0;
/** The capture is corrupt, cut or unreadable: what could be read was still printed. */
export const EXIT_PARTIAL = 1;
/** Bad arguments, or a file that does not exist. */
export const EXIT_USAGE = 2;

/** Usage text printed on a usage error or `--help`. */
export const USAGE = `Usage: alert-capture summarize <file|-> [--json]

Summarizes a pcap or pcapng capture: totals, protocol mix, top conversations, top talkers and signals
(RST storms, unanswered SYNs, retransmissions). Conversation and byte counts match tshark's.

  <file>   capture file to read; "-" reads standard input
  --json   print one JSON object (the whole summary, every conversation) instead of text

Exit codes: 0 ok, 1 capture partial or corrupt (what was read is still printed), 2 usage error.
`;

const READ_CHUNK_BYTES = 1 << 20;

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(text)) resolve();
    else stream.once('drain', () => resolve());
  });
}

/**
 * Runs the `alert-capture` command with `argv` (the arguments after the program name) and returns its exit code.
 * Never throws and never calls `process.exit`, so tests can call it directly.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  options: RunCliOptions = {},
): Promise<number> {
  // The operator verbs (list, start, stop...) live in their own files; this file keeps summarize.
  if (isOperatorVerb(argv[0])) return runOperatorVerb(argv[0]!, argv.slice(1), io, options);
  if (argv[0] === 'summarize' && namesCapture(argv[1])) {
    return runOperatorVerb('summarize-capture', argv.slice(1), io, options);
  }
  const positional: string[] = [];
  let json = false;
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') {
      await write(io.stdout, `${USAGE}\n${OPERATOR_USAGE}`);
      return EXIT_OK;
    } else if (arg.startsWith('--')) {
      await write(io.stderr, `alert-capture: unknown option ${arg}\n\n${USAGE}`);
      return EXIT_USAGE;
    } else positional.push(arg);
  }
  const [command, file, ...extra] = positional;
  if (command !== 'summarize' || file === undefined || extra.length > 0) {
    const problem =
      command === undefined
        ? 'missing command'
        : command !== 'summarize'
          ? `unknown command ${command}`
          : file === undefined
            ? 'missing capture file (use - for standard input)'
            : `unexpected argument ${extra[0]}`;
    await write(io.stderr, `alert-capture: ${problem}\n\n${USAGE}`);
    return EXIT_USAGE;
  }

  let source: NodeJS.ReadableStream;
  if (file === '-') source = io.stdin;
  else {
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a regular file');
    } catch (e) {
      await write(io.stderr, `alert-capture: cannot read ${file}: ${errorMessage(e)}\n`);
      return EXIT_USAGE;
    }
    source = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  }

  const summary = await summarizeStream(source);
  await write(io.stdout, json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummaryText(summary));
  if (summary.partial) {
    await write(
      io.stderr,
      `alert-capture: ${file === '-' ? 'standard input' : file}: ${summary.partialReason ?? 'partial'}\n`,
    );
    return EXIT_PARTIAL;
  }
  return EXIT_OK;
}
