import { CaptureFormatError } from './CaptureFormatError.js';
import type { CaptureSource } from './summarizeStream.js';

/** Bytes of a classic libpcap global header. */
const GLOBAL_HEADER_BYTES = 24;

/**
 * One classic libpcap stream from several files written one after the other (the files of a ring): the first
 * file whole, each next one without its global header, which must equal the first's in magic, link type and snap
 * length (the files of one capture session do). Streams each file in turn, so memory stays one chunk whatever the
 * files hold; `open` is called only when a file's turn comes.
 * @throws CaptureFormatError when a file's header differs from the first's or a file is shorter than a header.
 */
export async function* concatCaptureFiles(
  count: number,
  open: (index: number) => Promise<CaptureSource>,
): AsyncGenerator<Uint8Array> {
  let first: Buffer | undefined;
  /** Bytes of the joined stream so far, for errors. */
  let offset = 0;
  for (let index = 0; index < count; index++) {
    let header = Buffer.alloc(0);
    let headerDone = false;
    for await (const raw of await open(index)) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw as Uint8Array);
      if (headerDone) {
        offset += chunk.length;
        yield chunk;
        continue;
      }
      header = Buffer.concat([header, chunk]);
      if (header.length < GLOBAL_HEADER_BYTES) continue;
      headerDone = true;
      const own = header.subarray(0, GLOBAL_HEADER_BYTES);
      if (!first) {
        first = Buffer.from(own);
        offset += header.length;
        yield header;
        continue;
      }
      // Bytes 0-3 magic, 16-19 snap length, 20-23 link type; the version and zone fields may differ harmlessly.
      if (!own.subarray(0, 4).equals(first.subarray(0, 4)) || !own.subarray(16).equals(first.subarray(16))) {
        throw new CaptureFormatError(
          `file ${index + 1} of ${count} is not of the same capture as the first`,
          offset,
        );
      }
      if (header.length > GLOBAL_HEADER_BYTES) {
        offset += header.length - GLOBAL_HEADER_BYTES;
        yield header.subarray(GLOBAL_HEADER_BYTES);
      }
    }
    if (!headerDone && header.length > 0) {
      throw new CaptureFormatError(
        `file ${index + 1} of ${count} is shorter than a capture file header`,
        offset,
      );
    }
  }
}
