import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { formatSummaryText } from '../pcap/formatSummaryText.js';
import { summarizeStream } from '../pcap/summarizeStream.js';
import { DEFAULT_CONVERSATION_TABLE_SIZE } from '../pcap/SummaryBuilder.js';
import { openFailure } from './openFailure.js';
import { runReport } from './runReport.js';
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
/** Bad arguments. */
export const EXIT_USAGE = 2;
/** The capture file does not exist. */
export { EXIT_NO_SUCH_FILE } from './openFailure.js';
/**
 * The input is not a pcap or pcapng file at all (nothing was summarized): invalid input, the operator verbs' exit 2
 * (4 is their "refused").
 */
export const EXIT_NOT_A_CAPTURE = EXIT_USAGE;

/** Usage text printed on a usage error or `--help`. */
export const USAGE = `Usage: alert-capture summarize <file|-> [--json] [--all-conversations]
       alert-capture report <file|-> [-o report.html]   (see alert-capture report --help)

Summarizes a pcap or pcapng capture: totals, protocol mix, top conversations with their connection state,
top talkers and signals (SYN floods, refused connections, resets, retransmissions, zero windows, ICMP
unreachable, DNS failures, headers cut by the snap length). Conversation and byte counts match tshark's.
Memory stays bounded: past ${DEFAULT_CONVERSATION_TABLE_SIZE} conversations the heaviest are kept exactly and the rest
are rolled into "other".

  <file>               capture file to read; "-" reads standard input
  --json               print one JSON object (the whole summary, every conversation kept) instead of text
  --all-conversations  keep every conversation exactly, in memory that grows with them (offline use)

Exit codes: 0 ok, 1 capture partial or corrupt (what was read is still printed), 2 usage error or not a pcap
or pcapng file, 3 no such file.
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
  if (argv[0] === 'report') {
    return namesCapture(argv[1])
      ? runOperatorVerb('report-capture', argv.slice(1), io, options)
      : runReport(argv.slice(1), io);
  }
  // The operator verbs (list, start, stop...) live in their own files; this file keeps summarize.
  if (isOperatorVerb(argv[0])) return runOperatorVerb(argv[0]!, argv.slice(1), io, options);
  if (argv[0] === 'summarize' && namesCapture(argv[1])) {
    return runOperatorVerb('summarize-capture', argv.slice(1), io, options);
  }
  const positional: string[] = [];
  let json = false;
  let allConversations = false;
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--all-conversations') allConversations = true;
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

  const name = file === '-' ? 'standard input' : file;
  let source: NodeJS.ReadableStream;
  if (file === '-') source = io.stdin;
  else {
    try {
      const info = await stat(file);
      if (!info.isFile()) {
        await write(io.stderr, `alert-capture: ${file} is not a file\n`);
        return EXIT_USAGE;
      }
    } catch (e) {
      const failure = openFailure(file, e);
      await write(io.stderr, failure.message);
      return failure.exitCode;
    }
    source = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  }

  // A file that is not a capture at all gets one plain sentence, not an empty summary flagged partial.
  const peeked = await peekStart(source, MAGIC_BYTES);
  if (!isCaptureMagic(peeked.start)) {
    await peeked.close();
    await write(
      io.stderr,
      `alert-capture: ${name} is not a pcap or pcapng file (${describeStart(peeked.start)})\n`,
    );
    return EXIT_NOT_A_CAPTURE;
  }
  source = peeked.stream;

  const summary = await summarizeStream(source, allConversations ? { conversationTableSize: Infinity } : {});
  await write(io.stdout, json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummaryText(summary));
  if (summary.partial) {
    await write(io.stderr, `alert-capture: ${name}: ${summary.partialReason ?? 'partial'}\n`);
    return EXIT_PARTIAL;
  }
  return EXIT_OK;
}

/** How many leading bytes tell a capture file apart: the pcap magic number or the pcapng block type. */
const MAGIC_BYTES = 4;

/** pcap (µs and ns, both byte orders) and pcapng section header magic numbers, as the first four bytes. */
const CAPTURE_MAGICS = ['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1', '0a0d0d0a'];

function isCaptureMagic(start: Buffer): boolean {
  return start.length === MAGIC_BYTES && CAPTURE_MAGICS.includes(start.toString('hex'));
}

/** What the input starts with, for a person: hex and, when printable, the text. */
function describeStart(start: Buffer): string {
  if (start.length === 0) return 'it is empty';
  const hex = [...start].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = start.toString('latin1');
  return /^[\x20-\x7e]+$/.test(text) ? `starts with ${hex}, "${text}"` : `starts with ${hex}`;
}

/**
 * Reads the first `count` bytes of `source` (fewer if it ends first) and returns them with a stream that still
 * yields every byte, those included, and a way to give the source up instead.
 */
async function peekStart(
  source: NodeJS.ReadableStream,
  count: number,
): Promise<{ start: Buffer; stream: NodeJS.ReadableStream; close: () => Promise<void> }> {
  const iterator = (source as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < count) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    head.push(chunk);
    size += chunk.length;
  }
  const first = Buffer.concat(head);
  async function* replay(): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  return {
    start: first.subarray(0, count),
    stream: Readable.from(replay(), { objectMode: false }),
    // Not read on: let the source release its file.
    close: async () => {
      await iterator.return?.();
    },
  };
}
