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
  /**
   * The ring's folders in the container (each ends with `/`), one per generation (a re-armed ring writes a new
   * one): every blob under them is a candidate, and the files are chosen over all of them at once.
   */
  folders: readonly string[];
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
 * {@link KEPT_CONTAINER} of the same account), where rotation never reaches. The ring's folders are listed (its
 * file names are not relied on) and each file's first packet time read with a ranged read of
 * {@link FIRST_PACKET_PROBE_BYTES} bytes; the files are chosen over every generation's folder together, so a
 * window across a re-arm keeps the end of the old ring and the start of the new one (the two overlap briefly:
 * their packets of that overlap are in both). Kept names carry a short hash of their folder, so two generations'
 * files of the same name never meet. Idempotent: a file already kept is not copied again, so the poller calls it
 * on each tick until `complete` — early files are kept as soon as they are listed, before rotation deletes them,
 * while the window's end is still in the file being written. Bounded: one listing and one ranged read per ring
 * file (at most {@link MAX_LISTED_BLOBS} in all), one copy per chosen file.
 */
export async function keepRingFiles(
  container: ContainerClient,
  options: KeepRingFilesOptions,
): Promise<KeptRingFiles> {
  const { abortSignal, destination } = options;
  const folders = [...new Set(options.folders)];
  const listed: Array<RingFileFacts & { folder: string }> = [];
  for (const folder of folders) {
    const budget = MAX_LISTED_BLOBS - listed.length;
    if (budget <= 0) break;
    for (const facts of await listFacts(container, folder, abortSignal, budget))
      listed.push({ ...facts, folder });
  }
  const folderOf = new Map(listed.map((f) => [f.name, f.folder]));
  const choice = chooseRingFiles(listed, options.window);
  const keptFolder = keptFolderFor(options.alertId);
  let copied = 0;
  for (const file of choice.chosen) {
    const folder = folderOf.get(file.name) ?? '';
    const target = destination.getBlobClient(`${keptFolder}${keptNameOf(folder, file.name)}`);
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
  const kept = (await listFacts(destination, keptFolder, abortSignal, MAX_LISTED_BLOBS)).sort(
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

/**
 * A kept file's name in the alert's kept folder: a short hash of the generation's folder, then its name under
 * that folder with `/` made `_` (flat, one folder per alert).
 */
function keptNameOf(folder: string, name: string): string {
  const generation = createHash('sha256').update(folder).digest('hex').slice(0, 6);
  return `${generation}-${name.slice(folder.length).replaceAll('/', '_')}`;
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

/** Every pcap file under `prefix` with its first packet time (a ranged read each), at most `limit` blobs. */
async function listFacts(
  container: ContainerClient,
  prefix: string,
  abortSignal: AbortSignal | undefined,
  limit: number,
): Promise<RingFileFacts[]> {
  const facts: RingFileFacts[] = [];
  let listed = 0;
  for await (const item of container.listBlobsFlat({ prefix, abortSignal })) {
    if (++listed > limit) break;
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
