import { describeArmError } from '../../azure/armErrors.js';
import { resolveCaptureFile } from '../../captures/CaptureFiles.js';
import { emptyPollReport } from '../../captures/pollTypes.js';
import { releaseCapture } from '../../captures/releaseCapture.js';
import { holdsTarget } from '../../ledger/lifecycle.js';
import { stripQuery } from '../../logger.js';
import { CliError, EXIT } from '../exitCodes.js';
import { formatJson, write } from '../output.js';
import { parseVerbArgs, requirePositional } from '../parseVerbArgs.js';
import { resolveCapture } from '../resolveCapture.js';
import type { VerbContext } from '../verbContext.js';
import { refuseForeign } from './stop.js';

/** The `--json` output of `delete`. */
export interface DeleteOutput {
  name: string;
  /** `accepted` (ARM took the delete), `missing` (the resource was already gone). */
  resource: 'accepted' | 'missing';
  /** With `--purge-file`: the blob removed, or `null` when there was none. */
  purgedFile?: string | null;
  /** With `--purge-file`: the capture's HTML report removed, or `null` when there was none. */
  purgedReport?: string | null;
}

/**
 * `delete <name|alertId> [--purge-file] [--force] [--subscription ID] [--json]`: deletes the capture resource
 * (ours through the poller's own release: budget slot freed, record marked released); `--purge-file` also
 * removes its file, which `az` leaves behind. A capture of ours still under way is refused (stop it first, or
 * `--force`); someone else's is refused without `--force`.
 */
export async function runDelete(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'delete',
    args,
    {
      'purge-file': { type: 'boolean' },
      force: { type: 'boolean' },
      subscription: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    1,
  );
  const key = requirePositional('delete', positionals, 'capture name or alert id');
  const force = Boolean(values.force);
  const app = await ctx.ready();
  const capture = await resolveCapture(app, key, (values.subscription as string[] | undefined) ?? []);
  refuseForeign('delete', capture, force);
  const record = capture.record;
  if (record && holdsTarget(record) && !force) {
    throw new CliError(
      EXIT.refused,
      `delete: capture ${capture.name} is still ${record.state}; stop it first (alert-capture stop ${capture.name} --wait), or --force`,
    );
  }
  const call = { abortSignal: AbortSignal.timeout(30_000) };
  // The file's path before the resource (and its storagePath) goes.
  const storagePath =
    record?.storagePath ??
    (capture.watcher
      ? (await app.gateway.getCapture(capture.watcher, capture.name, call))?.storagePath
      : undefined);

  let resource: DeleteOutput['resource'] = 'missing';
  if (record && !holdsTarget(record) && record.releasedAt === undefined && record.captureId !== undefined) {
    // Ours and ended: the poller's own release (slot first, then the DELETE), so the ledger agrees.
    const released = await releaseCapture(record, {
      deps: app,
      report: emptyPollReport(),
      abortSignal: call.abortSignal,
      now: ctx.now(),
    });
    if (released.releasedAt === undefined) {
      throw new CliError(EXIT.failed, `delete: ${capture.name}: ${released.lastError ?? 'not deleted'}`);
    }
    resource = 'accepted';
  } else if (capture.watcher) {
    try {
      resource = await app.gateway.deleteCapture(capture.watcher, capture.name, call);
    } catch (e) {
      throw new CliError(EXIT.failed, `delete: ${capture.name}: ${describeArmError(e)}`);
    }
  }

  const output: DeleteOutput = { name: capture.name, resource };
  if (values['purge-file']) {
    // Only the file at the capture's own path (the poller records the real blob there once it found it): the
    // folder holds the VM's other captures of the day, and a second purge must never take one of theirs.
    const exact = storagePath ? resolveCaptureFile(app.config, storagePath) : undefined;
    const blob =
      storagePath && exact?.ok ? await ctx.files().findFile(storagePath, record?.startedAt) : undefined;
    const own = blob !== undefined && exact?.ok === true && blob.name.endsWith(exact.blobName);
    output.purgedFile = own ? stripQuery(blob.url) : null;
    if (own) await blob.deleteIfExists({ abortSignal: AbortSignal.timeout(30_000) });
    const report = storagePath ? await ctx.reports().remove(storagePath) : undefined;
    output.purgedReport = report ? stripQuery(report) : null;
  }
  await write(
    ctx.io.stdout,
    values.json
      ? formatJson(output)
      : `capture ${capture.name}: resource ${resource === 'accepted' ? 'delete accepted' : 'already gone'}${
          output.purgedFile === undefined
            ? ''
            : `${output.purgedFile ? `; file ${output.purgedFile} removed` : '; no file at its storage path'}${
                output.purgedReport ? `; report ${output.purgedReport} removed` : ''
              }`
        }\n`,
  );
  return EXIT.ok;
}
