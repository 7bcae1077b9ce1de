import type { TokenCredential } from '@azure/core-auth';
import {
  BlobClient,
  BlobSASPermissions,
  BlobServiceClient,
  ContainerClient,
  generateBlobSASQueryParameters,
  RestError,
  SASProtocol,
} from '@azure/storage-blob';
import {
  CAPTURE_CONTAINER,
  resolveCaptureFile,
  storageDeadline,
  type CaptureFileCallOptions,
} from '../captures/CaptureFiles.js';
import { KEPT_CONTAINER, keptFolderFor } from '../captures/keepRingFiles.js';
import { preAlertEvidenceOf } from '../captures/preAlertEvidence.js';
import { readKeptFiles } from '../captures/readKeptFiles.js';
import type { Config } from '../config.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { makeReport } from './makeReport.js';
import type { ReportBefore, ReportCapture } from './types.js';

/** The container the reports are written to, in the capture storage account, next to Network Watcher's. */
export const REPORT_CONTAINER = 'capture-reports';
/** How long a notified report link stays valid: the same night shift as the capture's. */
export const REPORT_LINK_TTL_SECONDS = 8 * 3600;

/** Options for {@link CaptureReports}. */
export interface CaptureReportsOptions {
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** Options for one call of {@link CaptureReports}: the caller's deadline, combined with each call's own timeout. */
export type CaptureReportCallOptions = CaptureFileCallOptions;

/** How long one metadata call (exists, the container, a delegation key) or the upload may take. */
const STORAGE_CALL_TIMEOUT_IN_MS = 30_000;

/** The report's capture metadata from a ledger record. */
export function reportCaptureOf(record: CaptureRecord, fileName: string): ReportCapture {
  const settings: Record<string, string | number | boolean> = {};
  try {
    const parsed = JSON.parse(record.settingsJson ?? '{}') as unknown;
    if (parsed !== null && typeof parsed === 'object') {
      for (const [k, v] of Object.entries(parsed)) {
        settings[k] =
          typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);
      }
    }
  } catch {
    // A cut settingsJson (see CaptureRecord) no longer parses: the report goes without settings.
  }
  const target =
    record.targetKind === 'vmssInstance' && record.instanceId !== undefined
      ? `${record.target}/virtualMachines/${record.instanceId}`
      : record.target;
  const capture: ReportCapture = {
    fileName,
    target,
    alert: { rule: record.ruleName, firedAt: record.firedAt, id: record.alertId },
    errors: record.captureErrors ?? [],
    settings,
  };
  if (record.severity) capture.alert!.severity = record.severity;
  for (const key of ['captureName', 'region', 'stopReason', 'startedAt', 'endedAt'] as const) {
    const value = record[key];
    if (value !== undefined) capture[key] = value;
  }
  if (record.captureStatus !== undefined) capture.status = record.captureStatus;
  return capture;
}

/**
 * The capture reports in storage: for a finished capture, its report is made from the file (one streamed read,
 * memory bounded as for the summary) and written once to {@link REPORT_CONTAINER} under the capture's own name with
 * `.html`; later calls find it there. In Azure the identity writes with Storage Blob Data Contributor scoped to
 * that container only, and signs read links with a user-delegation key; locally a connection string reaches
 * Azurite.
 */
export class CaptureReports {
  private readonly service: BlobServiceClient | undefined;
  private readonly now: () => number;
  private containerReady: Promise<unknown> | undefined;

  constructor(
    private readonly config: Config,
    private readonly credential: TokenCredential,
    options: CaptureReportsOptions = {},
  ) {
    this.service = config.captureStorageConnectionString
      ? BlobServiceClient.fromConnectionString(config.captureStorageConnectionString)
      : undefined;
    this.now = options.now ?? Date.now;
  }

  /**
   * The URL (no query string) of the capture's report, making and writing it first if it is not there yet;
   * undefined when the record names no capture file in the capture account and kept no ring files. A ring VM's
   * alert gets a "Before and after" section (its kept files, stored on the record); when its capture did not
   * finish, the report is made of the kept files alone (next to them: `kept/{alert}/report.html`).
   */
  async ensure(record: CaptureRecord, options: CaptureReportCallOptions = {}): Promise<string | undefined> {
    const blobs = this.blobsOf(record);
    if (!blobs) return undefined;
    const { capture, report, before } = blobs;
    const call = () => ({ abortSignal: storageDeadline(options, STORAGE_CALL_TIMEOUT_IN_MS) });
    if (await report.exists(call())) return report.url;
    const timeLimitInMs = this.config.summaryTimeLimitSeconds * 1000;
    const abortSignal = storageDeadline(options, timeLimitInMs + 5000);
    let made: Awaited<ReturnType<typeof makeReport>>;
    if (capture) {
      const download = await capture.download(0, undefined, { abortSignal });
      if (!download.readableStreamBody) return undefined;
      made = await makeReport(
        download.readableStreamBody,
        {
          ...reportCaptureOf(record, capture.name.split('/').pop() ?? capture.name),
          ...(download.contentLength !== undefined ? { fileBytes: download.contentLength } : {}),
        },
        { timeLimitInMs, ...(before ? { before } : {}) },
      );
    } else {
      const kept = record.keptFiles ?? [];
      made = await makeReport(
        readKeptFiles(this.container(KEPT_CONTAINER), kept, abortSignal),
        reportCaptureOf(record, `${kept.length} kept ring file${kept.length === 1 ? '' : 's'}`),
        { timeLimitInMs, ...(before ? { before } : {}) },
      );
    }
    const { html } = made;
    if (this.service) {
      // Only Azurite needs the container made here; in Azure it comes with the deployment (infra/).
      // A failed (or cut) attempt is not remembered: the next call tries again.
      this.containerReady ??= this.service
        .getContainerClient(REPORT_CONTAINER)
        .createIfNotExists({ abortSignal: AbortSignal.timeout(STORAGE_CALL_TIMEOUT_IN_MS) })
        .catch((e: unknown) => {
          this.containerReady = undefined;
          throw e;
        });
      await raceAbort(this.containerReady, options.abortSignal);
    }
    try {
      await report.getBlockBlobClient().upload(html, Buffer.byteLength(html), {
        blobHTTPHeaders: {
          blobContentType: 'text/html; charset=utf-8',
          blobCacheControl: 'private, max-age=3600',
        },
        // Written once: another instance that got there first wrote the same capture's report.
        conditions: { ifNoneMatch: '*' },
        abortSignal: storageDeadline(options, STORAGE_CALL_TIMEOUT_IN_MS),
      });
    } catch (e) {
      if (!(e instanceof RestError && (e.statusCode === 409 || e.statusCode === 412))) throw e;
    }
    return report.url;
  }

  /** A read-only link to the report valid for {@link REPORT_LINK_TTL_SECONDS}; for messages only, never logs. */
  async link(record: CaptureRecord, options: CaptureReportCallOptions = {}): Promise<string | undefined> {
    const report = this.blobsOf(record)?.report;
    if (!report) return undefined;
    const startsOn = new Date(this.now() - 5 * 60_000); // clock skew between us and storage
    const expiresOn = new Date(this.now() + REPORT_LINK_TTL_SECONDS * 1000);
    const permissions = BlobSASPermissions.parse('r');
    if (this.service) return report.generateSasUrl({ permissions, startsOn, expiresOn });
    const service = new BlobServiceClient(new URL(report.url).origin, this.credential);
    const key = await service.getUserDelegationKey(startsOn, expiresOn, {
      abortSignal: storageDeadline(options, STORAGE_CALL_TIMEOUT_IN_MS),
    });
    const sas = generateBlobSASQueryParameters(
      {
        containerName: REPORT_CONTAINER,
        blobName: report.name,
        permissions,
        startsOn,
        expiresOn,
        protocol: SASProtocol.Https,
      },
      key,
      report.accountName,
    );
    return `${report.url}?${sas.toString()}`;
  }

  /**
   * Removes the report of the capture file at `storagePath` (the operator CLI's `delete --purge-file`: the report
   * holds the capture's peers, names and signals, so it goes with the file); the report's URL when one was removed.
   */
  async remove(
    storagePath: string,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    const report = this.blobs(storagePath)?.report;
    if (!report) return undefined;
    const { succeeded } = await report.deleteIfExists({
      abortSignal: options.abortSignal ?? AbortSignal.timeout(30_000),
    });
    return succeeded ? report.url : undefined;
  }

  /**
   * Where a record's report comes from and goes: its capture's file when it finished (or kept nothing), else its
   * kept ring files; with the record's pre-alert evidence when it kept any.
   */
  private blobsOf(
    record: CaptureRecord,
  ): { capture?: BlobClient; report: BlobClient; before?: ReportBefore } | undefined {
    const evidence = preAlertEvidenceOf(record);
    const kept = (record.keptFiles?.length ?? 0) > 0;
    const fromFile = record.storagePath && (record.state === 'finished' || !kept);
    if (fromFile) {
      const blobs = this.blobs(record.storagePath!);
      return blobs && { ...blobs, ...(evidence ? { before: evidence } : {}) };
    }
    if (!kept || !evidence) return undefined;
    const afterMissing =
      record.state === 'finished'
        ? 'its file is not in the capture account'
        : (record.reason ?? 'the capture failed');
    return {
      report: this.container(REPORT_CONTAINER).getBlobClient(`${keptFolderFor(record.alertId)}report.html`),
      before: { ...evidence, afterMissing },
    };
  }

  /** A container of the capture account: through the connection string locally, with the identity in Azure. */
  private container(name: string): ContainerClient {
    if (this.service) return this.service.getContainerClient(name);
    const account = (this.config.captureStorageAccountId.split('/').pop() ?? '').toLowerCase();
    return new ContainerClient(
      `https://${account}.blob.${this.config.storageEndpointSuffix}/${name}`,
      this.credential,
    );
  }

  /**
   * The capture blob of a storage path and its report's blob, only inside the configured capture account's
   * `network-watcher-logs` container, checked by {@link resolveCaptureFile} (host compared whole, URL rebuilt from
   * the configured account): the path comes from ARM, and our token goes nowhere else.
   */
  private blobs(storagePath: string): { capture: BlobClient; report: BlobClient } | undefined {
    const file = resolveCaptureFile(this.config, storagePath);
    if (!file.ok) return undefined;
    const reportName = `${file.blobName.replace(/\.[^./]*$/, '')}.html`;
    if (this.service) {
      return {
        capture: this.service.getContainerClient(CAPTURE_CONTAINER).getBlobClient(file.blobName),
        report: this.service.getContainerClient(REPORT_CONTAINER).getBlobClient(reportName),
      };
    }
    const origin = new URL(file.url).origin;
    const encode = (n: string): string => n.split('/').map(encodeURIComponent).join('/');
    return {
      capture: new BlobClient(file.url, this.credential),
      report: new BlobClient(`${origin}/${REPORT_CONTAINER}/${encode(reportName)}`, this.credential),
    };
  }
}

/**
 * `promise`, or the abort reason as soon as `abortSignal` aborts: the shared container creation is not cut for
 * every caller when one caller's deadline runs out, only that caller stops waiting.
 */
function raceAbort<T>(promise: Promise<T>, abortSignal: AbortSignal | undefined): Promise<T> {
  if (!abortSignal) return promise;
  if (abortSignal.aborted) return Promise.reject(abortSignal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortSignal.reason as Error);
    abortSignal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => abortSignal.removeEventListener('abort', onAbort));
  });
}
