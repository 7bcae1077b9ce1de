import type { ContainerClient } from '@azure/storage-blob';
import { concatCaptureFiles } from '../pcap/concatCaptureFiles.js';

/**
 * The kept files of an alert (blob names in `container`, oldest first) as one classic pcap stream, each file
 * downloaded when its turn comes (memory: one chunk), all under `abortSignal`. A download without a body holds
 * nothing: the join skips it.
 */
export function readKeptFiles(
  container: ContainerClient,
  kept: readonly string[],
  abortSignal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  return concatCaptureFiles(kept.length, async (i) => {
    const download = await container.getBlobClient(kept[i]!).download(0, undefined, { abortSignal });
    return download.readableStreamBody ?? (async function* empty(): AsyncGenerator<Uint8Array> {})();
  });
}
