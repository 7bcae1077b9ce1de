import { createHash } from 'node:crypto';
import type { BlobClient, ContainerClient } from '@azure/storage-blob';
import { chooseRingFiles, type KeepWindow, type RingFileFacts } from './chooseRingFiles.js';
import { FIRST_PACKET_PROBE_BYTES, readFirstPacketTime } from './readFirstPacketTime.js';

/**
 * The container kept ring files are copied to, in the capture account: the app's write access there is limited to
 * this container (and the reports'), never Network Watcher's `network-watcher-logs`.
 */
export const KEPT_CONTAINER = 'capture-kept';

/** Listing bound: a ring has at most 10000 files (captureSettings.fileCount's maximum). */
const MAX_LISTED_BLOBS = 10_000;

/** Options for {@link keepRingFiles}. */
export interface KeepRingFilesOptions {
  /** Where the copies go ({@link KEPT_CONTAINER}, same account: the copy is server-side). */
  destination: ContainerClient;
  /** The ring's folder in the container (ends with `/`): every blob under it is a candidate. */
  folder: string;
  /** The alert whose window is kept: names the kept folder. */
  alertId: string;
  window: KeepWindow;
  abortSignal?: AbortSignal;
}

/** What {@link keepRingFiles} did. */
export interface KeptRingFiles {
  /** Blob names of the kept copies (`kept/{alert}/…` in {@link KEPT_CONTAINER}), oldest first, this call's and earlier calls'. */
  kept: string[];
  /** First packet of the oldest kept file, ISO; undefined when nothing is kept. */
  keptFrom?: string;
  coversStart: boolean;
  /** The window's end is in a kept file: later calls add nothing. */
  complete: boolean;
}

/**
 * Copies, server-side, the files of a ring that cover `window` to `kept/{alert}/` in `destination` (the
 * {@link KEPT_CONTAINER} of the same account), where rotation never reaches. The ring's folder is listed (its file names are not relied on) and each file's first
 * packet time read with a ranged read of {@link FIRST_PACKET_PROBE_BYTES} bytes. Idempotent: a file already kept
 * is not copied again, so the poller calls it on each tick until `complete` — early files are kept as soon as they
 * are listed, before rotation deletes them, while the window's end is still in the file being written.
 */
export async function keepRingFiles(
  container: ContainerClient,
  options: KeepRingFilesOptions,
): Promise<KeptRingFiles> {
  const { folder, abortSignal, destination } = options;
  const choice = chooseRingFiles(await listFacts(container, folder, abortSignal), options.window);
  const keptFolder = keptFolderFor(options.alertId);
  let copied = 0;
  for (const file of choice.chosen) {
    const target = destination.getBlobClient(
      `${keptFolder}${file.name.slice(folder.length).replaceAll('/', '_')}`,
    );
    let state = await copyState(target, abortSignal);
    if (state === 'missing') {
      // One call under the caller's deadline; a copy the service finishes later is seen on the next call.
      // beginCopyFromURL sends the copy request once; its poller is not waited on.
      const poller = await target.beginCopyFromURL(container.getBlobClient(file.name).url, { abortSignal });
      const operation = poller.getOperationState();
      state = operation.isCompleted && !operation.error ? 'success' : 'pending';
    }
    if (state === 'success') copied++;
  }
  // What is kept so far, this call's copies and earlier calls' (whose originals rotation may have deleted since).
  const kept = (await listFacts(destination, keptFolder, abortSignal)).sort(
    (a, b) => a.firstPacketAtMs - b.firstPacketAtMs,
  );
  return {
    kept: kept.map((f) => f.name),
    ...(kept[0] ? { keptFrom: new Date(kept[0].firstPacketAtMs).toISOString() } : {}),
    coversStart: kept[0] !== undefined && kept[0].firstPacketAtMs <= options.window.startMs,
    // Complete once the window's end is listed and every chosen copy has finished.
    complete: choice.complete && copied === choice.chosen.length,
  };
}

/** Where a kept copy stands; a failed or aborted one is deleted, to be copied again. */
async function copyState(
  target: BlobClient,
  abortSignal: AbortSignal | undefined,
): Promise<'success' | 'pending' | 'missing'> {
  try {
    const properties = await target.getProperties({ abortSignal });
    if (properties.copyStatus === 'pending') return 'pending';
    if (properties.copyStatus === 'failed' || properties.copyStatus === 'aborted') {
      await target.deleteIfExists({ abortSignal });
      return 'missing';
    }
    return 'success';
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return 'missing';
    throw e;
  }
}

/** Every pcap file under `prefix` with its first packet time (a ranged read each), at most {@link MAX_LISTED_BLOBS}. */
async function listFacts(
  container: ContainerClient,
  prefix: string,
  abortSignal: AbortSignal | undefined,
): Promise<RingFileFacts[]> {
  const facts: RingFileFacts[] = [];
  let listed = 0;
  for await (const item of container.listBlobsFlat({ prefix, abortSignal })) {
    if (++listed > MAX_LISTED_BLOBS) break;
    const head = await container
      .getBlobClient(item.name)
      .downloadToBuffer(0, FIRST_PACKET_PROBE_BYTES, { abortSignal })
      .catch((e: unknown) => {
        // Rotation deleted it between the listing and the read (404), or it is still empty (416: a copy in
        // progress, a file being written): not a candidate now.
        const status = (e as { statusCode?: number }).statusCode;
        if (status === 404 || status === 416) return undefined;
        throw e;
      });
    const firstPacketAtMs = head ? readFirstPacketTime(head) : undefined;
    if (firstPacketAtMs !== undefined) facts.push({ name: item.name, firstPacketAtMs });
  }
  return facts;
}

/**
 * `kept/{alert}-{hash}/`: the alert id's last segment (the alert's GUID in Azure), made blob-safe, and a short hash
 * of the whole id so two alerts never share a folder.
 */
export function keptFolderFor(alertId: string): string {
  const tail = (alertId.split('/').pop() ?? '').replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64) || 'alert';
  const hash = createHash('sha256').update(alertId).digest('hex').slice(0, 8);
  return `kept/${tail}-${hash}/`;
}
