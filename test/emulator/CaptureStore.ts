import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

/** The container Network Watcher writes capture files to. */
export const CAPTURE_CONTAINER = 'network-watcher-logs';

/**
 * Where capture files go: a blob container reached with a connection string (Azurite in tests), or nowhere, in
 * which case only the URL a real account would have is computed.
 */
export class CaptureStore {
  private readonly container: ContainerClient | undefined;
  private created: Promise<unknown> | undefined;

  constructor(connectionString?: string) {
    this.container = connectionString
      ? BlobServiceClient.fromConnectionString(connectionString).getContainerClient(CAPTURE_CONTAINER)
      : undefined;
  }

  /**
   * The blob URL for `blobPath`, as Network Watcher reports it in `storagePath`: the plain blob URL, never a SAS
   * query string (Network Watcher writes with its own access to the account). `storageId` names the account when no
   * connection string was given.
   */
  urlFor(blobPath: string, storageId?: string): string {
    if (this.container) {
      // With a SAS connection string the SDK's URLs carry the token as their query: the blob client puts the path
      // before it, and the query is dropped.
      const url = new URL(this.container.getBlockBlobClient(blobPath).url);
      url.search = '';
      return url.toString();
    }
    const account = storageId?.split('/').pop()?.toLowerCase() || 'emulatorstorage';
    return `https://${account}.blob.core.windows.net/${CAPTURE_CONTAINER}/${blobPath}`;
  }

  /** Uploads a capture file (creating the container the first time); a no-op without a connection string. */
  async upload(blobPath: string, data: Buffer): Promise<void> {
    if (!this.container) return;
    const container = this.container;
    this.created ??= container.createIfNotExists().catch((e: unknown) => {
      this.created = undefined;
      throw e;
    });
    await this.created;
    await container.getBlockBlobClient(blobPath).uploadData(data, {
      blobHTTPHeaders: { blobContentType: 'application/vnd.tcpdump.pcap' },
    });
  }

  /** Deletes a capture file (a ring's rotation); a no-op without a connection string or when it is gone. */
  async delete(blobPath: string): Promise<void> {
    if (!this.container) return;
    await this.container.getBlockBlobClient(blobPath).deleteIfExists();
  }
}
