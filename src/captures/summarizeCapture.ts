import type { TokenCredential } from '@azure/core-auth';
import { BlobClient, BlobServiceClient } from '@azure/storage-blob';
import type { Config } from '../config.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { summarizeStream } from '../pcap/summarizeStream.js';
import type { CaptureSummary } from '../pcap/types.js';
import { MAX_NOTIFIED_CONVERSATIONS } from '../notify/captureNotification.js';

/**
 * Builds the poller's summarizer: streams a finished capture's file straight from blob storage through the pcap
 * summary (memory bounded whatever the file size; partial past `SUMMARY_TIME_LIMIT_SECONDS`), keeping the top
 * conversations only, as messages carry them. Reads with the app's identity, or with
 * `CAPTURE_STORAGE_CONNECTION_STRING` on a local sandbox.
 */
export function createCaptureSummarizer(config: Config, credential: TokenCredential) {
  const service = config.captureStorageConnectionString
    ? BlobServiceClient.fromConnectionString(config.captureStorageConnectionString)
    : undefined;
  return async (record: CaptureRecord): Promise<{ summary: CaptureSummary } | undefined> => {
    if (!record.storagePath) return undefined;
    const blob = service
      ? blobFromService(service, record.storagePath)
      : new BlobClient(record.storagePath, credential);
    if (!blob) return undefined;
    const timeLimitInMs = config.summaryTimeLimitSeconds * 1000;
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
    };
  };
}

/** The blob of a storage path (`{endpoint}/{container}/{name...}`) in the connection string's account. */
function blobFromService(service: BlobServiceClient, storagePath: string): BlobClient | undefined {
  const path = new URL(storagePath).pathname.split('/').filter(Boolean).map(decodeURIComponent);
  // Azurite's paths start with the account name; Azure's with the container.
  if (path[0] === service.accountName) path.shift();
  const [container, ...name] = path;
  if (!container || name.length === 0) return undefined;
  return service.getContainerClient(container).getBlobClient(name.join('/'));
}
