import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stripQuery } from '../../logger.js';
import { captureFileOf } from '../captureFileOf.js';
import { CliError, EXIT } from '../exitCodes.js';
import { formatJson, write } from '../output.js';
import { parseVerbArgs, requirePositional } from '../parseVerbArgs.js';
import { resolveCapture } from '../resolveCapture.js';
import type { VerbContext } from '../verbContext.js';

/**
 * A capture's name as a file name in the current folder: a name from ARM (someone else's capture, too) never picks
 * the folder, so anything but letters, digits, `_`, `.` and `-` becomes `-` and no leading dot is kept.
 */
export function safeFileName(captureName: string): string {
  return captureName.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^\.+/, '') || 'capture';
}

/** The `--json` output of `download`. */
export interface DownloadOutput {
  name: string;
  /** Where the file was written. */
  path: string;
  bytes: number;
  /** SHA-256 of the file, hex. */
  sha256: string;
  /** `pcap` or `pcapng`, from the file's magic number. */
  format: 'pcap' | 'pcapng';
  /** The blob it came from (no query string). */
  blob: string;
}

/** The first four bytes of a pcap (both byte orders, micro- and nanosecond) or pcapng file. */
const MAGIC: Record<string, DownloadOutput['format']> = {
  a1b2c3d4: 'pcap',
  d4c3b2a1: 'pcap',
  a1b23c4d: 'pcap',
  '4d3cb2a1': 'pcap',
  '0a0d0d0a': 'pcapng',
};

/** Deadline of the whole download: an attack-sized capture is normal, a stalled one is not. */
const DOWNLOAD_TIME_LIMIT_IN_MS = 30 * 60_000;

/**
 * `download <name|alertId> [-o PATH] [--subscription ID] [--json]`: finds the capture's file by listing its
 * folder (the blob's name can differ from the `storagePath` ARM reported), streams it to PATH (default
 * `<captureName>.cap` here) through a SHA-256, with a progress bar on stderr when it is a terminal, checks the
 * pcap/pcapng magic number, then prints the hash. Memory stays bounded whatever the size; a partial or
 * non-capture download leaves no file behind.
 */
export async function runDownload(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'download',
    args,
    {
      output: { type: 'string', short: 'o' },
      subscription: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    1,
  );
  const key = requirePositional('download', positionals, 'capture name or alert id');
  const app = await ctx.ready();
  const capture = await resolveCapture(app, key, (values.subscription as string[] | undefined) ?? []);
  const blob = await captureFileOf(ctx, capture, 'download');
  const target = path.resolve(
    ctx.cwd,
    (values.output as string | undefined) ??
      `${safeFileName(capture.name)}${path.extname(new URL(blob.url).pathname) || '.cap'}`,
  );
  const partial = `${target}.partial-${process.pid}`;
  const response = await blob.download(0, undefined, {
    abortSignal: AbortSignal.timeout(DOWNLOAD_TIME_LIMIT_IN_MS),
  });
  const total = response.contentLength ?? 0;
  const body = response.readableStreamBody;
  if (!body) throw new CliError(EXIT.failed, `download: storage sent no body for ${stripQuery(blob.url)}`);

  const hash = createHash('sha256');
  let bytes = 0;
  let head = Buffer.alloc(0);
  let lastDrawn = -1;
  const progress = (done: boolean) => {
    if (!ctx.isTTY) return;
    const pct = total > 0 ? Math.floor((bytes / total) * 100) : 0;
    if (pct === lastDrawn && !done) return;
    lastDrawn = pct;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    ctx.io.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${bytes}/${total} bytes${done ? '\n' : ''}`,
    );
  };
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)]);
      bytes += chunk.length;
      hash.update(chunk);
      progress(false);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(partial, { mode: 0o600 }));
    progress(true);
    const format = MAGIC[head.toString('hex')];
    if (!format) {
      throw new CliError(
        EXIT.failed,
        `download: ${stripQuery(blob.url)} is not a pcap or pcapng file (magic ${head.toString('hex') || 'none'})`,
      );
    }
    if (total > 0 && bytes !== total) {
      throw new CliError(EXIT.failed, `download: got ${bytes} of ${total} bytes`);
    }
    await rename(partial, target);
    const output: DownloadOutput = {
      name: capture.name,
      path: target,
      bytes,
      sha256: hash.digest('hex'),
      format,
      blob: stripQuery(blob.url),
    };
    await write(
      ctx.io.stdout,
      values.json
        ? formatJson(output)
        : `${output.sha256}  ${output.path}\n${bytes} bytes (${format}) from ${output.blob}\n`,
    );
    return EXIT.ok;
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
}
