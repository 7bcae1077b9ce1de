import type { TokenCredential } from '@azure/core-auth';
import {
  BlobClient,
  BlobSASPermissions,
  BlobServiceClient,
  ContainerClient,
  generateBlobSASQueryParameters,
  SASProtocol,
} from '@azure/storage-blob';
import type { Config } from '../config.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { MAX_NOTIFIED_CONVERSATIONS } from '../notify/captureNotification.js';
import { summarizeStream } from '../pcap/summarizeStream.js';
import type { CaptureSummary } from '../pcap/types.js';
import { deadlineSignal } from '../deadline.js';
import { stripQuery } from '../logger.js';
import type { KeepWindow } from './chooseRingFiles.js';
import { KEPT_CONTAINER, keepRingFiles, type KeptRingFiles } from './keepRingFiles.js';
import { readKeptFiles } from './readKeptFiles.js';
import { recordSettings } from './startCapture.js';

/** Where Network Watcher writes capture files in the capture account. */
export const CAPTURE_CONTAINER = 'network-watcher-logs';

/** How long a notified download link stays valid: the rest of a night shift, not longer. */
export const CAPTURE_LINK_TTL_SECONDS = 8 * 3600;

/** Options for {@link CaptureFiles}. */
export interface CaptureFilesOptions {
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** Options for one storage operation of {@link CaptureFiles}. */
export interface CaptureFileCallOptions {
  /** The caller's deadline (the poller's record deadline, a CLI verb's); combined with the call's own timeout. */
  abortSignal?: AbortSignal;
}

/** What {@link CaptureFiles.findFile} knows of the capture whose file it looks for. */
export type CaptureWindow = Pick<CaptureRecord, 'startedAt' | 'endedAt' | 'settingsJson'>;

/** How long one metadata call (exists, a page of a listing, a delegation key) may take. */
const STORAGE_CALL_TIMEOUT_IN_MS = 30_000;

/** The call's own timeout, cut short by the caller's deadline when there is one. */
export function storageDeadline(options: CaptureFileCallOptions, timeoutInMs: number): AbortSignal {
  return deadlineSignal(timeoutInMs, options.abortSignal);
}

/** The capture account's name, from `CAPTURE_STORAGE_ACCOUNT_ID` (lower case, as storage host names are). */
function captureAccountName(config: Pick<Config, 'captureStorageAccountId'>): string {
  return (config.captureStorageAccountId.split('/').pop() ?? '').toLowerCase();
}

/**
 * The capture files in storage, as the poller needs them: streamed through the pcap summary, and (behind
 * `NOTIFY_INCLUDE_SAS_LINK`) a short-lived read-only link for the message. In Azure both use the app's identity
 * (Storage Blob Data Reader on the capture account: reading, and a user-delegation key for the link, never an
 * account key); on a local sandbox `CAPTURE_STORAGE_CONNECTION_STRING` reaches Azurite instead.
 */
export class CaptureFiles {
  private readonly service: BlobServiceClient | undefined;
  private readonly now: () => number;

  constructor(
    private readonly config: Config,
    private readonly credential: TokenCredential,
    options: CaptureFilesOptions = {},
  ) {
    this.service = config.captureStorageConnectionString
      ? BlobServiceClient.fromConnectionString(config.captureStorageConnectionString)
      : undefined;
    this.now = options.now ?? Date.now;
  }

  /**
   * Summarizes a finished capture's file straight from storage as a stream (memory bounded whatever its size;
   * partial past `SUMMARY_TIME_LIMIT_SECONDS`), keeping the top conversations, as messages carry them.
   */
  async summarize(
    record: CaptureRecord,
    options: CaptureFileCallOptions = {},
  ): Promise<{ summary: CaptureSummary; storagePath?: string } | undefined> {
    const reported = record.storagePath ? this.blob(record.storagePath) : undefined;
    if (!reported) return undefined;
    const found = await this.findCaptureBlob(reported, record, options);
    const blob = found ?? reported;
    const timeLimitInMs = this.config.summaryTimeLimitSeconds * 1000;
    const download = await blob.download(0, undefined, {
      abortSignal: storageDeadline(options, timeLimitInMs + 5000),
    });
    if (!download.readableStreamBody) return undefined;
    // The default conversation table bounds the memory whatever the file holds; only the listed ones are formatted.
    const summary = await summarizeStream(download.readableStreamBody, {
      timeLimitInMs,
      listConversations: MAX_NOTIFIED_CONVERSATIONS,
    });
    return {
      summary: {
        ...summary,
        conversations: summary.conversations.slice(0, MAX_NOTIFIED_CONVERSATIONS),
        fileBytes: download.contentLength,
      },
      ...(found && found.url !== reported.url ? { storagePath: stripQuery(found.url) } : {}),
    };
  }

  /**
   * The blob holding a capture's file (see `findCaptureBlob`), for the operator CLI's `download` and `delete
   * --purge-file`: `undefined` when the path is outside the capture account's container or no file is there yet.
   * `capture` is the record (its start, end and settings bound the folder search), or only its start time.
   */
  async findFile(
    storagePath: string,
    capture?: string | CaptureWindow,
    options: CaptureFileCallOptions = {},
  ): Promise<BlobClient | undefined> {
    const reported = this.blob(storagePath);
    if (!reported) return undefined;
    const window = typeof capture === 'string' ? { startedAt: capture } : (capture ?? {});
    try {
      return await this.findCaptureBlob(reported, window, options);
    } catch (e) {
      // No container yet: Network Watcher creates it with the first file it uploads.
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  }

  /** The capture account's SKU and kind as storage reports them (`Standard_LRS`, `StorageV2`), for `doctor`. */
  async accountInfo(
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<{ skuName?: string; accountKind?: string }> {
    const service =
      this.service ??
      new BlobServiceClient(
        `https://${captureAccountName(this.config)}.blob.${this.config.storageEndpointSuffix}`,
        this.credential,
      );
    const info = await service.getAccountInfo({ abortSignal: options.abortSignal });
    return { skuName: info.skuName, accountKind: info.accountKind };
  }

  /**
   * The capture's file: the blob at the reported `storagePath` when it exists, else a file the agent wrote under
   * the same folder during this capture (it may name the file differently from the path ARM reported).
   *
   * That folder holds every capture of the VM that day (other alerts', people's), so a candidate must have been
   * written within this capture's window: not before `startedAt − 5 s` (clock skew), and not after
   * `endedAt + CAPTURE_FILE_WAIT_SECONDS` (the agent uploads after the stop; a later file is a later capture's).
   * While the end is not known, the window ends at `startedAt` + the capture's time limit (from the record's
   * settings; `CAPTURE_MAX_TIME_LIMIT_SECONDS` when only the start is known) + the wait: no capture of ours runs
   * longer, and the CLI must still find a file of a capture whose end it has not read. Without a known start there
   * is no window, hence no folder search: the reported blob or nothing. The earliest candidate in the window wins.
   * `undefined` when none is there yet; then the download meets BlobNotFound and the poller waits.
   */
  private async findCaptureBlob(
    reported: BlobClient,
    capture: CaptureWindow,
    options: CaptureFileCallOptions,
  ): Promise<BlobClient | undefined> {
    if (await reported.exists({ abortSignal: storageDeadline(options, STORAGE_CALL_TIMEOUT_IN_MS) }))
      return reported;
    const startedAtMs = capture.startedAt ? Date.parse(capture.startedAt) : NaN;
    if (Number.isNaN(startedAtMs)) return undefined;
    const folder = reported.name.slice(0, reported.name.lastIndexOf('/') + 1);
    if (!folder) return undefined;
    const waitInMs = this.config.captureFileWaitSeconds * 1000;
    const endedAtMs = capture.endedAt ? Date.parse(capture.endedAt) : NaN;
    const recorded =
      capture.settingsJson !== undefined
        ? recordSettings(capture, this.config).timeLimitInSeconds
        : undefined;
    const timeLimitSeconds =
      typeof recorded === 'number' && Number.isFinite(recorded)
        ? recorded
        : this.config.captureMaxTimeLimitSeconds;
    const since = startedAtMs - 5_000;
    const until = Number.isNaN(endedAtMs)
      ? startedAtMs + timeLimitSeconds * 1000 + waitInMs
      : endedAtMs + waitInMs;
    const container = this.service
      ? this.service.getContainerClient(reported.containerName)
      : new ContainerClient(`${new URL(reported.url).origin}/${reported.containerName}`, this.credential);
    let best: { name: string; at: number } | undefined;
    let seen = 0;
    // One deadline for the whole listing: each page is a call, and a stalled account must not hold the caller.
    const abortSignal = storageDeadline(options, STORAGE_CALL_TIMEOUT_IN_MS);
    for await (const item of container.listBlobsFlat({ prefix: folder, abortSignal })) {
      // A VM's folder holds one day of its captures: a few files, but never list without a bound.
      if (++seen > 1_000) break;
      if (!/\.(cap|pcap|pcapng)$/i.test(item.name) || item.name.slice(folder.length).includes('/')) continue;
      const at = item.properties.lastModified.getTime();
      if (at >= since && at <= until && (!best || at < best.at)) best = { name: item.name, at };
    }
    return best ? container.getBlobClient(best.name) : undefined;
  }

  /**
   * Keeps the files of a ring that cover `window` (see {@link keepRingFiles}) under `kept/{alert}/` in the capture
   * account's {@link KEPT_CONTAINER}, choosing over every generation in `storagePaths` (newest first, as
   * `RingDirectory.ringPathsOf` gives them). A generation's folder is its path when that ends with `/`, else the
   * folder holding the path; a path outside the capture account is left out, as for every file the app reads, and
   * when none is left nothing is kept (undefined).
   */
  async keepRing(
    storagePaths: readonly string[],
    alertId: string,
    window: KeepWindow,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<KeptRingFiles | undefined> {
    const folders = storagePaths
      .map((path) => this.ringFolderOf(path))
      .filter((f): f is string => f !== undefined);
    if (folders.length === 0) return undefined;
    const destination = this.containerClient(KEPT_CONTAINER);
    // In Azure the Bicep makes the container (the app may write in it, not create containers); Azurite starts empty.
    if (this.service) await destination.createIfNotExists(options);
    return keepRingFiles(this.containerClient(CAPTURE_CONTAINER), {
      folders,
      alertId,
      window,
      destination,
      ...options,
    });
  }

  /** The folder (ending with `/`) of a ring generation's storage path, only inside the capture account. */
  private ringFolderOf(storagePath: string): string | undefined {
    const isFolder = storagePath.endsWith('/');
    const file = resolveCaptureFile(this.config, isFolder ? storagePath.replace(/\/+$/, '') : storagePath);
    if (!file.ok) return undefined;
    const folder = isFolder
      ? `${file.blobName}/`
      : file.blobName.slice(0, file.blobName.lastIndexOf('/') + 1);
    return folder || undefined;
  }

  /** A container of the capture account: through the connection string locally, with the identity in Azure. */
  private containerClient(name: string): ContainerClient {
    return this.service
      ? this.service.getContainerClient(name)
      : new ContainerClient(
          `https://${captureAccountName(this.config)}.blob.${this.config.storageEndpointSuffix}/${name}`,
          this.credential,
        );
  }

  /**
   * One summary of the kept files of a ring (the "before" of an alert: `keepRing`'s `kept`, oldest first), read as
   * one capture straight from storage, memory bounded and partial past `SUMMARY_TIME_LIMIT_SECONDS` as for a file;
   * with `untilMs` (the alert's fired time) the packets after it are not counted.
   */
  async summarizeKept(
    kept: readonly string[],
    options: CaptureFileCallOptions & { untilMs?: number } = {},
  ): Promise<CaptureSummary | undefined> {
    if (kept.length === 0) return undefined;
    const container = this.containerClient(KEPT_CONTAINER);
    const timeLimitInMs = this.config.summaryTimeLimitSeconds * 1000;
    const abortSignal = storageDeadline(options, timeLimitInMs + 5000);
    const summary = await summarizeStream(readKeptFiles(container, kept, abortSignal), {
      timeLimitInMs,
      listConversations: MAX_NOTIFIED_CONVERSATIONS,
      ...(options.untilMs === undefined ? {} : { untilMs: options.untilMs }),
    });
    return { ...summary, conversations: summary.conversations.slice(0, MAX_NOTIFIED_CONVERSATIONS) };
  }

  /** A read-only link to the file valid for {@link CAPTURE_LINK_TTL_SECONDS}. Goes into the message only, never a log. */
  async link(record: CaptureRecord, options: CaptureFileCallOptions = {}): Promise<string | undefined> {
    const blob = record.storagePath ? this.blob(record.storagePath) : undefined;
    if (!blob) return undefined;
    const startsOn = new Date(this.now() - 5 * 60_000); // clock skew between us and storage
    const expiresOn = new Date(this.now() + CAPTURE_LINK_TTL_SECONDS * 1000);
    const permissions = BlobSASPermissions.parse('r');
    if (this.service) return blob.generateSasUrl({ permissions, startsOn, expiresOn });
    const service = new BlobServiceClient(new URL(blob.url).origin, this.credential);
    const key = await service.getUserDelegationKey(startsOn, expiresOn, {
      abortSignal: storageDeadline(options, STORAGE_CALL_TIMEOUT_IN_MS),
    });
    const sas = generateBlobSASQueryParameters(
      {
        containerName: blob.containerName,
        blobName: blob.name,
        permissions,
        startsOn,
        expiresOn,
        protocol: SASProtocol.Https,
      },
      key,
      blob.accountName,
    );
    return `${blob.url}?${sas.toString()}`;
  }

  /**
   * The blob of a storage path, only inside the configured capture account's `network-watcher-logs` container
   * (see {@link resolveCaptureFile}): the path comes from ARM and is never trusted to send our identity's token,
   * or sign a link, anywhere else. Locally it is reached through the connection string's account, in Azure by a
   * URL built from the configured account, with the identity.
   */
  private blob(storagePath: string): BlobClient | undefined {
    const file = resolveCaptureFile(this.config, storagePath);
    if (!file.ok) return undefined;
    return this.service
      ? this.service.getContainerClient(CAPTURE_CONTAINER).getBlobClient(file.blobName)
      : new BlobClient(file.url, this.credential);
  }
}

/** Where a capture file is, once {@link resolveCaptureFile} accepted its storage path. */
export type ResolvedCaptureFile =
  | {
      ok: true;
      /** Built from the configured account, never from ARM's host. */ url: string;
      blobName: string;
    }
  | { ok: false; /** Plain words for the message and the ledger. */ reason: string };

/** The words a refused storage path is notified with. */
export const OUTSIDE_CAPTURE_ACCOUNT = 'capture file outside the capture account';

/**
 * Checks a storage path from ARM against the capture account: exactly
 * `https://<CAPTURE_STORAGE_ACCOUNT_ID's name>.blob.<STORAGE_ENDPOINT_SUFFIX>/network-watcher-logs/<blob>`, the
 * host compared whole (a prefix such as `<account>.blob.attacker.example` is refused), no port, no user info, and
 * a blob path without empty, `.` or `..` segments or encoded slashes. Locally (`CAPTURE_STORAGE_CONNECTION_STRING`)
 * the host must be the connection string's blob endpoint instead (Azurite's paths start with the account name).
 *
 * Why: the `storagePath` of a capture is writable by anyone with packet-capture write, and our capture names are
 * computable, so a planted capture could otherwise make the poller send `Authorization: Bearer <token>` to a host
 * of the attacker's choice. The URL the poller reads is rebuilt from the configured account; only the blob path
 * is taken from ARM.
 */
export function resolveCaptureFile(
  config: Pick<
    Config,
    'captureStorageAccountId' | 'captureStorageConnectionString' | 'storageEndpointSuffix'
  >,
  storagePath: string,
): ResolvedCaptureFile {
  const refuse = { ok: false, reason: OUTSIDE_CAPTURE_ACCOUNT } as const;
  let url: URL;
  try {
    url = new URL(storagePath);
  } catch {
    return refuse;
  }
  if (url.username !== '' || url.password !== '') return refuse;
  const accountName = captureAccountName(config);
  // The raw path: `new URL` already resolved literal dot segments, encoded ones are checked below.
  const raw = url.pathname.split('/').slice(1);
  if (config.captureStorageConnectionString) {
    const endpoint = new URL(
      BlobServiceClient.fromConnectionString(config.captureStorageConnectionString).url,
    );
    if (url.protocol !== endpoint.protocol || url.host.toLowerCase() !== endpoint.host.toLowerCase())
      return refuse;
    const account = endpoint.pathname.split('/').filter(Boolean)[0];
    if (account !== undefined) {
      if (raw[0] !== account) return refuse;
      raw.shift();
    }
  } else if (
    url.protocol !== 'https:' ||
    url.port !== '' ||
    url.hostname.toLowerCase() !== `${accountName}.blob.${config.storageEndpointSuffix.toLowerCase()}`
  ) {
    return refuse;
  }
  const [container, ...name] = raw;
  if (container !== CAPTURE_CONTAINER || name.length === 0) return refuse;
  const segments: string[] = [];
  for (const encoded of name) {
    let segment: string;
    try {
      segment = decodeURIComponent(encoded);
    } catch {
      return refuse;
    }
    // eslint-disable-next-line no-control-regex
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\u0000-\u001f]/.test(segment))
      return refuse;
    segments.push(segment);
  }
  const blobName = segments.join('/');
  return {
    ok: true,
    blobName,
    url: `https://${accountName}.blob.${config.storageEndpointSuffix}/${CAPTURE_CONTAINER}/${segments.map(encodeURIComponent).join('/')}`,
  };
}

/**
 * Undefined when `storagePath` is a capture file of the capture account; else the reason a record fails with,
 * in plain words, naming the foreign host (never the path or a query string).
 */
export function outsideCaptureAccount(
  config: Parameters<typeof resolveCaptureFile>[0],
  storagePath: string,
): string | undefined {
  if (resolveCaptureFile(config, storagePath).ok) return undefined;
  let host = '';
  try {
    host = new URL(storagePath).host;
  } catch {
    // Not a URL: the reason says so without a host.
  }
  return host ? `${OUTSIDE_CAPTURE_ACCOUNT} (its storage path is on ${host})` : OUTSIDE_CAPTURE_ACCOUNT;
}
