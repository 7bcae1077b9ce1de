import type { BlobClient } from '@azure/storage-blob';
import { CliError, EXIT } from './exitCodes.js';
import type { ResolvedCapture } from './resolveCapture.js';
import type { VerbContext } from './verbContext.js';

/**
 * The blob of a capture's file: the record's `storagePath` (or the resource's), then the real blob found by
 * listing its folder (its name can differ from the path ARM reported).
 * @throws CliError 3 when there is no file (yet), or it lies outside the capture storage account.
 */
export async function captureFileOf(
  ctx: VerbContext,
  capture: ResolvedCapture,
  verb: string,
): Promise<BlobClient> {
  const app = ctx.app();
  const storagePath =
    capture.record?.storagePath ??
    (capture.watcher
      ? (
          await app.gateway.getCapture(capture.watcher, capture.name, {
            abortSignal: AbortSignal.timeout(30_000),
          })
        )?.storagePath
      : undefined);
  if (!storagePath) throw new CliError(EXIT.notFound, `${verb}: capture ${capture.name} has no file (yet)`);
  const blob = await ctx.files().findFile(storagePath, capture.record, {
    abortSignal: AbortSignal.timeout(30_000),
  });
  if (!blob) {
    throw new CliError(
      EXIT.notFound,
      `${verb}: the file of ${capture.name} is not in storage (yet), or lies outside the capture storage account`,
    );
  }
  return blob;
}
