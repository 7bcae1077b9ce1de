import { CAPTURE_STATES, type CaptureRecord } from '../../ledger/captureRecord.js';
import { sameResourceId } from '../../azure/armId.js';
import { isOurCapture } from '../../captures/captureName.js';
import { watcherOf } from '../../captures/watcherOf.js';
import type { WatcherRef } from '../../azure/captureGateway.js';
import type { AppContext } from '../../appContext.js';
import { LIST_COLUMNS, viewOfForeign, viewOfRecord, type CaptureView } from '../captureView.js';
import { CliError, EXIT } from '../exitCodes.js';
import { formatJson, formatTable, write } from '../output.js';
import { durationOption, parseVerbArgs } from '../parseVerbArgs.js';
import { readLiveStatus, scopeSubscriptions } from '../resolveCapture.js';
import type { VerbContext } from '../verbContext.js';

/** Status reads in flight at once: a long list must not flood ARM. */
const STATUS_CONCURRENCY = 8;
/** Deadline of one status read. */
const STATUS_TIME_LIMIT_IN_MS = 15_000;

/** The `--json` output of `list` (`--ndjson`: one {@link CaptureView} per line). */
export interface ListOutput {
  captures: CaptureView[];
}

/**
 * `list [--vm ID] [--state S] [--since 24h] [--all] [--subscription ID] [--json|--ndjson]`: our ledger's records,
 * newest first, joined with ARM's live status where the capture resource may still exist (the poller deletes it
 * once it recorded the end: then the ledger's last reading is shown). `--all` adds the captures in the scope's
 * watchers that are not ours (read-only: `kind: foreign`).
 */
export async function runList(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values } = parseVerbArgs(
    'list',
    args,
    {
      vm: { type: 'string' },
      state: { type: 'string' },
      since: { type: 'string' },
      all: { type: 'boolean' },
      subscription: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      ndjson: { type: 'boolean' },
    },
    0,
  );
  const state = values.state as string | undefined;
  if (state !== undefined && !(CAPTURE_STATES as readonly string[]).includes(state)) {
    throw new CliError(EXIT.usage, `list: --state "${state}": expected one of ${CAPTURE_STATES.join(', ')}`);
  }
  if (values.json && values.ndjson)
    throw new CliError(EXIT.usage, 'list: --json and --ndjson exclude each other');
  const sinceSeconds = durationOption('since', values.since);
  const vm = values.vm as string | undefined;
  const app = await ctx.ready();
  const nowMs = ctx.now();
  const createdSince =
    sinceSeconds === undefined ? undefined : new Date(nowMs - sinceSeconds * 1000).toISOString();
  const records = (await app.ledger.listRecords({ createdSince })).filter(
    (r) =>
      (state === undefined || r.state === state) &&
      (vm === undefined || sameResourceId(r.target, vm) || sameResourceId(instanceIdOf(r), vm)),
  );
  const views = await mapLimited(records, STATUS_CONCURRENCY, async (record) =>
    viewOfRecord(record, await liveStatusOf(app, record), nowMs),
  );
  if (values.all) {
    views.push(
      ...(await foreignViews(app, (values.subscription as string[] | undefined) ?? [], records, vm, nowMs)),
    );
  }

  if (values.ndjson) await write(ctx.io.stdout, views.map((v) => `${JSON.stringify(v)}\n`).join(''));
  else if (values.json) await write(ctx.io.stdout, formatJson({ captures: views } satisfies ListOutput));
  else if (views.length === 0) await write(ctx.io.stdout, 'no captures\n');
  else await write(ctx.io.stdout, formatTable(views, LIST_COLUMNS));
  return EXIT.ok;
}

function instanceIdOf(record: CaptureRecord): string {
  return record.instanceId === undefined
    ? record.target
    : `${record.target}/virtualMachines/${record.instanceId}`;
}

/**
 * ARM's status for a record whose capture resource may still exist (not released yet); `undefined` (the
 * ledger's last reading is shown) when it has none yet, was released, or ARM did not answer in time.
 */
async function liveStatusOf(app: AppContext, record: CaptureRecord) {
  if (!record.watcherId || !record.captureName || record.releasedAt) return undefined;
  const watcher = watcherOf(record);
  if (!watcher) return undefined;
  return readLiveStatus(app.gateway, watcher, record.captureName, {
    abortSignal: AbortSignal.timeout(STATUS_TIME_LIMIT_IN_MS),
  }).catch(() => undefined);
}

/** One listing call of `--all` (a page of watchers or captures): the same bound as the other verbs' ARM calls. */
const LIST_CALL_TIME_LIMIT_IN_MS = 30_000;
const armCall = () => ({ abortSignal: AbortSignal.timeout(LIST_CALL_TIME_LIMIT_IN_MS) });

async function foreignViews(
  app: AppContext,
  extraSubscriptions: readonly string[],
  records: readonly CaptureRecord[],
  vm: string | undefined,
  nowMs: number,
): Promise<CaptureView[]> {
  const subscriptions = scopeSubscriptions(app.config.allowedScopes, extraSubscriptions);
  if (subscriptions.length === 0) {
    throw new CliError(EXIT.usage, 'list --all: ALLOWED_SCOPES is "*": pass --subscription ID');
  }
  const ours = new Set(records.map((r) => r.captureName?.toLowerCase()));
  const found: Array<{ watcher: WatcherRef; name: string; target?: string }> = [];
  for (const sub of subscriptions) {
    for (const watcher of await app.gateway.listWatchers(sub, armCall())) {
      for (const c of await app.gateway.listCaptures(watcher, armCall())) {
        // Ours (with a record, even outside --since/--state) are listed above or filtered out on purpose.
        if (ours.has(c.name.toLowerCase())) continue;
        if (
          isOurCapture(app.config.captureNamePrefix, c.name) &&
          (await app.ledger.findByCaptureName(c.name))
        )
          continue;
        if (vm !== undefined && !(c.target && sameResourceId(c.target, vm))) continue;
        found.push({ watcher, name: c.name, target: c.target });
      }
    }
  }
  return mapLimited(found, STATUS_CONCURRENCY, async (f) => {
    const [live, resource] = await Promise.all([
      readLiveStatus(app.gateway, f.watcher, f.name, {
        abortSignal: AbortSignal.timeout(STATUS_TIME_LIMIT_IN_MS),
      }).catch(() => undefined),
      app.gateway.getCapture(f.watcher, f.name, armCall()).catch(() => undefined),
    ]);
    return viewOfForeign(
      {
        name: f.name,
        target: f.target ?? resource?.target,
        region: f.watcher.location,
        storagePath: resource?.storagePath,
      },
      live,
      nowMs,
    );
  });
}

/** Maps with at most `limit` calls in flight, keeping the order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  f: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!);
      }
    }),
  );
  return out;
}
