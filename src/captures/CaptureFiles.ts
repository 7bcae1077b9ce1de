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
import { stripQuery } from '../logger.js';

/** Where Network Watcher writes capture files in the capture account. */
export const CAPTURE_CONTAINER = 'network-watcher-logs';

/** How long a notified download link stays valid: the rest of a night shift, not longer. */
export const CAPTURE_LINK_TTL_SECONDS = 8 * 3600;

/** Options for {@link CaptureFiles}. */
export interface CaptureFilesOptions {
  /** Clock in ms, for tests. */
  now?: () => number;
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
  /** Lower-cased name of the capture storage account (the last segment of `CAPTURE_STORAGE_ACCOUNT_ID`). */
  private readonly accountName: string;

  constructor(
    private readonly config: Config,
    private readonly credential: TokenCredential,
    options: CaptureFilesOptions = {},
  ) {
    this.service = config.captureStorageConnectionString
      ? BlobServiceClient.fromConnectionString(config.captureStorageConnectionString)
      : undefined;
    this.now = options.now ?? Date.now;
    this.accountName = (config.captureStorageAccountId.split('/').pop() ?? '').toLowerCase();
  }

  /**
   * Summarizes a finished capture's file straight from storage as a stream (memory bounded whatever its size;
   * partial past `SUMMARY_TIME_LIMIT_SECONDS`), keeping the top conversations, as messages carry them.
   */
  async summarize(
    record: CaptureRecord,
  ): Promise<{ summary: CaptureSummary; storagePath?: string } | undefined> {
    const reported = record.storagePath ? this.blob(record.storagePath) : undefined;
    if (!reported) return undefined;
    const found = await this.findCaptureBlob(reported, record.startedAt);
    const blob = found ?? reported;
    const timeLimitInMs = this.config.summaryTimeLimitSeconds * 1000;
    const download = await blob.download(0, undefined, {
      abortSignal: AbortSignal.timeout(timeLimitInMs + 5000),
    });
    if (!download.readableStreamBody) return undefined;
    const summary = await summarizeStream(download.readableStreamBody, { timeLimitInMs });
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
   */
  async findFile(storagePath: string, startedAt?: string): Promise<BlobClient | undefined> {
    const reported = this.blob(storagePath);
    if (!reported) return undefined;
    try {
      return await this.findCaptureBlob(reported, startedAt);
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
      new BlobServiceClient(`https://${this.accountName}.blob.core.windows.net`, this.credential);
    const info = await service.getAccountInfo({ abortSignal: options.abortSignal });
    return { skuName: info.skuName, accountKind: info.accountKind };
  }

  /**
   * The capture's file: the blob at the reported `storagePath` when it exists, else the first file written under
   * the same folder at or after the capture started (the agent may name the file differently from the path ARM
   * reported). `undefined` when neither is there yet; then the download meets BlobNotFound and the poller waits.
   */
  private async findCaptureBlob(
    reported: BlobClient,
    startedAt: string | undefined,
  ): Promise<BlobClient | undefined> {
    if (await reported.exists()) return reported;
    const folder = reported.name.slice(0, reported.name.lastIndexOf('/') + 1);
    if (!folder) return undefined;
    const container = this.service
      ? this.service.getContainerClient(reported.containerName)
      : new ContainerClient(`${new URL(reported.url).origin}/${reported.containerName}`, this.credential);
    // The agent writes after the capture started; another capture of the VM the same day wrote before.
    const since = startedAt ? Date.parse(startedAt) - 5_000 : 0;
    let best: { name: string; at: number } | undefined;
    let seen = 0;
    for await (const item of container.listBlobsFlat({ prefix: folder })) {
      // A VM's folder holds one day of its captures: a few files, but never list without a bound.
      if (++seen > 1_000) break;
      if (!/\.(cap|pcap|pcapng)$/i.test(item.name) || item.name.slice(folder.length).includes('/')) continue;
      const at = item.properties.lastModified.getTime();
      if (at >= since && (!best || at < best.at)) best = { name: item.name, at };
    }
    return best ? container.getBlobClient(best.name) : undefined;
  }

  /** A read-only link to the file valid for {@link CAPTURE_LINK_TTL_SECONDS}. Goes into the message only, never a log. */
  async link(record: CaptureRecord): Promise<string | undefined> {
    const blob = record.storagePath ? this.blob(record.storagePath) : undefined;
    if (!blob) return undefined;
    const startsOn = new Date(this.now() - 5 * 60_000); // clock skew between us and storage
    const expiresOn = new Date(this.now() + CAPTURE_LINK_TTL_SECONDS * 1000);
    const permissions = BlobSASPermissions.parse('r');
    if (this.service) return blob.generateSasUrl({ permissions, startsOn, expiresOn });
    const service = new BlobServiceClient(new URL(blob.url).origin, this.credential);
    const key = await service.getUserDelegationKey(startsOn, expiresOn);
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
   * The blob of a storage path, only inside the configured capture account's `network-watcher-logs` container:
   * the path comes from ARM and is never trusted to send our identity's token, or sign a link, anywhere else.
   * Locally it is reached through the connection string's account, in Azure by URL with the identity.
   */
  private blob(storagePath: string): BlobClient | undefined {
    let url: URL;
    try {
      url = new URL(storagePath);
    } catch {
      return undefined;
    }
    const path = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (this.service) {
      // Azurite's paths start with the account name; Azure's with the container.
      if (path[0] === this.service.accountName) path.shift();
    } else if (
      url.protocol !== 'https:' ||
      !url.hostname.toLowerCase().startsWith(`${this.accountName}.blob.`)
    ) {
      return undefined;
    }
    const [container, ...name] = path;
    if (container !== CAPTURE_CONTAINER || name.length === 0 || name.includes('..')) return undefined;
    return this.service
      ? this.service.getContainerClient(container).getBlobClient(name.join('/'))
      : new BlobClient(
          `${url.origin}/${container}/${name.map(encodeURIComponent).join('/')}`,
          this.credential,
        );
  }
}
