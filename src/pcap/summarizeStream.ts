import { errorMessage } from '../errors.js';
import { CaptureFormatError } from './CaptureFormatError.js';
import { CaptureReader, type PacketHandler } from './CaptureReader.js';
import { SummaryBuilder, type SummaryBuilderOptions } from './SummaryBuilder.js';
import type { CaptureSummary } from './types.js';

/**
 * Options for {@link summarizeStream} and {@link summarizeBuffer}. The memory a summary may take is set here, by
 * the table size, never by the input: a few MiB per 10 000 table entries plus fixed tallies (about 4 MiB).
 */
export interface SummarizeOptions extends SummaryBuilderOptions {
  /** Stop reading after this many milliseconds and return what was read, flagged partial. */
  timeLimitInMs?: number;
  /** Stop reading when aborted and return what was read, flagged partial. */
  abortSignal?: AbortSignal;
  /** Clock in milliseconds, for tests; defaults to `Date.now`. */
  now?: () => number;
  /** Also called with every packet record, e.g. by a `TimelineBuilder` for the report. */
  onPacket?: PacketHandler;
  /**
   * Packets after this time (ms since the epoch) are read but not counted: the last kept ring file of an alert
   * runs on past its fired time, and its "before" ends there.
   */
  untilMs?: number;
}

/** A source of capture bytes: a Node readable stream (file, blob download, stdin) or any async iterable of chunks. */
export type CaptureSource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

/** Reader plus summary builder; one per capture. */
class Summarizer {
  readonly builder: SummaryBuilder;
  readonly reader: CaptureReader;
  partialReason: string | undefined;
  private readonly deadline: number;
  private readonly now: () => number;
  private readonly options: SummarizeOptions;

  constructor(options: SummarizeOptions) {
    this.options = options;
    this.builder = new SummaryBuilder(options);
    const builder = this.builder;
    const onPacket = options.onPacket;
    const handle: PacketHandler =
      onPacket === undefined
        ? (packet) => builder.add(packet)
        : (packet) => {
            builder.add(packet);
            onPacket(packet);
          };
    const until = options.untilMs;
    this.reader = new CaptureReader(
      until === undefined
        ? handle
        : (packet) => {
            if (packet.seconds * 1000 + packet.nanoseconds / 1e6 <= until) handle(packet);
          },
    );
    this.now = options.now ?? Date.now;
    this.deadline =
      options.timeLimitInMs !== undefined ? this.now() + Math.max(0, options.timeLimitInMs) : Infinity;
  }

  /** Feeds one chunk; false when reading must stop (error, time limit, abort). */
  push(chunk: Uint8Array): boolean {
    if (!this.canContinue()) return false;
    try {
      this.reader.push(chunk);
    } catch (e) {
      this.fail(e);
      return false;
    }
    return this.canContinue();
  }

  finish(): CaptureSummary {
    if (this.partialReason === undefined) {
      try {
        this.reader.end();
      } catch (e) {
        this.fail(e);
      }
    }
    return this.builder.finish(this.reader.format ?? 'pcap', this.partialReason);
  }

  fail(e: unknown): void {
    if (this.partialReason !== undefined) return;
    this.partialReason =
      e instanceof CaptureFormatError
        ? e.message
        : `reading the capture failed after ${this.reader.offset} bytes: ${errorMessage(e)}`;
  }

  private canContinue(): boolean {
    if (this.partialReason !== undefined) return false;
    if (this.options.abortSignal?.aborted === true) {
      this.partialReason = `reading was aborted at byte offset ${this.reader.offset}`;
      return false;
    }
    if (this.deadline !== Infinity && this.now() >= this.deadline) {
      this.partialReason = `time limit of ${this.options.timeLimitInMs} ms reached at byte offset ${this.reader.offset}`;
      return false;
    }
    return true;
  }
}

/**
 * Summarizes a pcap or pcapng capture read as a stream, in memory bounded by the options' table size (not by the
 * size of the file or the number of conversations). Never throws for bad input: a corrupt or cut file, a failing source, the time limit or an
 * abort yield the summary of what was read so far with `partial: true` and a `partialReason` naming the byte
 * offset. Stops consuming `source` (calling its iterator's `return`, which destroys a Node stream) once it stops.
 */
export async function summarizeStream(
  source: CaptureSource,
  options: SummarizeOptions = {},
): Promise<CaptureSummary> {
  const summarizer = new Summarizer(options);
  try {
    for await (const chunk of source as AsyncIterable<unknown>) {
      if (!(chunk instanceof Uint8Array)) {
        summarizer.fail(new TypeError('the capture source yielded text, not bytes (was an encoding set?)'));
        break;
      }
      if (!summarizer.push(chunk)) break;
    }
  } catch (e) {
    summarizer.fail(e);
  }
  return summarizer.finish();
}

/** Summarizes a capture held in memory; see {@link summarizeStream}. */
export function summarizeBuffer(buffer: Uint8Array, options: SummarizeOptions = {}): CaptureSummary {
  const summarizer = new Summarizer(options);
  summarizer.push(buffer);
  return summarizer.finish();
}
