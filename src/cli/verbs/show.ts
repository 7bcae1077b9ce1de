import type { CaptureResource, CaptureStatus } from '../../azure/captureGateway.js';
import type { CaptureRecord } from '../../ledger/captureRecord.js';
import { formatSummaryText } from '../../pcap/formatSummaryText.js';
import type { CaptureSummary } from '../../pcap/types.js';
import { viewOfForeign, viewOfRecord, type CaptureView } from '../captureView.js';
import { EXIT } from '../exitCodes.js';
import { formatDuration, formatFields, formatJson, formatTime, write } from '../output.js';
import { parseVerbArgs, requirePositional } from '../parseVerbArgs.js';
import { readLiveStatus, resolveCapture } from '../resolveCapture.js';
import type { VerbContext } from '../verbContext.js';

/** Lines of the summary's text shown by `show` (the whole summary is `summarize`'s job). */
const SUMMARY_HEAD_LINES = 12;

/** One moment in a record's life, from its timestamps. */
export interface HistoryEntry {
  at: string;
  event: string;
}

/** The `--json` output of `show`. */
export interface ShowOutput {
  capture: CaptureView;
  /** The record's moments, oldest first (from the ledger's timestamps). */
  history: HistoryEntry[];
  /** The capture resource in ARM, or `null` when it is gone (the poller deletes ours after their end). */
  resource: CaptureResource | null;
  /** ARM's status now, or `null` when there is no resource or ARM has not answered. */
  liveStatus: CaptureStatus | null;
  /** Notification deliveries: channels that accepted it, attempts, when. */
  notification?: { notifiedAt?: string; targets: string[]; attempts: number };
  /** The capture summary the poller stored, when it did. */
  summary?: CaptureSummary;
}

/**
 * `show <captureName|alertId> [--subscription ID] [--json]`: one capture — our record's history, the ARM resource
 * and its live status, the file, notification deliveries and the head of the summary.
 */
export async function runShow(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'show',
    args,
    { subscription: { type: 'string', multiple: true }, json: { type: 'boolean' } },
    1,
  );
  const key = requirePositional('show', positionals, 'capture name or alert id');
  const app = await ctx.ready();
  const capture = await resolveCapture(app, key, (values.subscription as string[] | undefined) ?? []);
  const deadline = () => ({ abortSignal: AbortSignal.timeout(15_000) });
  const released = capture.record?.releasedAt !== undefined;
  const [resource, live] =
    capture.watcher && !released
      ? await Promise.all([
          app.gateway.getCapture(capture.watcher, capture.name, deadline()),
          readLiveStatus(app.gateway, capture.watcher, capture.name, deadline()).catch(() => undefined),
        ])
      : [undefined, undefined];
  const nowMs = ctx.now();
  const record = capture.record;
  const view = record
    ? viewOfRecord(record, live, nowMs)
    : viewOfForeign(
        {
          name: capture.name,
          target: capture.target ?? resource?.target,
          region: capture.watcher?.location ?? '',
          storagePath: resource?.storagePath,
        },
        live,
        nowMs,
      );
  const output: ShowOutput = {
    capture: view,
    history: record ? historyOf(record) : [],
    resource: resource ?? null,
    liveStatus: live && live !== 'missing' ? live : null,
    ...(record
      ? {
          notification: {
            ...(record.notifiedAt ? { notifiedAt: record.notifiedAt } : {}),
            targets: (record.notifiedTargets ?? '').split(',').filter(Boolean),
            attempts: record.notifyAttempts,
          },
        }
      : {}),
    ...(record?.summaryJson ? { summary: parseSummary(record.summaryJson) } : {}),
  };

  if (values.json) {
    await write(ctx.io.stdout, formatJson(output));
    return EXIT.ok;
  }
  let text = formatFields([
    ['capture', view.name],
    ['kind', view.kind],
    ['alert id', view.alertId],
    ['rule', view.kind === 'alert' ? view.ruleName : undefined],
    ['target', view.target],
    ['region', view.region],
    ['state', view.state],
    [
      'status',
      view.status ? `${view.status}${view.statusSource === 'ledger' ? ' (last seen)' : ''}` : undefined,
    ],
    ['stop reason', view.stopReason],
    ['errors', view.errors?.join(', ')],
    ['started', formatTime(view.startedAt)],
    ['duration', formatDuration(view.durationSeconds)],
    ['file', view.file],
    ['reason', view.reason],
    ['resource', resource ? `${resource.provisioningState ?? '?'} ${resource.id ?? ''}` : 'gone'],
    [
      'notified',
      output.notification
        ? output.notification.notifiedAt
          ? `${formatTime(output.notification.notifiedAt)} to ${output.notification.targets.join(', ') || '(no channel)'}`
          : `not yet (${output.notification.attempts} attempts${output.notification.targets.length ? `, accepted by ${output.notification.targets.join(', ')}` : ''})`
        : undefined,
    ],
  ]);
  if (output.history.length) {
    text += `\nHistory:\n${output.history.map((h) => `  ${formatTime(h.at)}  ${h.event}\n`).join('')}`;
  }
  if (output.summary && 'packets' in output.summary) {
    const head = formatSummaryText(output.summary, { topConversations: 3 })
      .split('\n')
      .slice(0, SUMMARY_HEAD_LINES);
    text += `\nSummary:\n${head.map((l) => `  ${l}`.trimEnd()).join('\n')}\n`;
  }
  await write(ctx.io.stdout, text);
  return EXIT.ok;
}

/** The record's moments from its timestamps, oldest first. */
export function historyOf(record: CaptureRecord): HistoryEntry[] {
  const entries: Array<[string | undefined, string]> = [
    [
      record.createdAt,
      record.kind === 'manual' ? 'started by hand' : `alert received (rule ${record.ruleName})`,
    ],
    [
      record.startedAt,
      `capture ${record.captureName ?? ''} started${record.region ? ` in ${record.region}` : ''}`,
    ],
    [record.statusCheckAt, 'status check due (after a stop, or an adopted capture)'],
    [
      record.endedAt,
      `capture ended${record.captureStatus ? `: ${record.captureStatus}` : ''}${record.stopReason ? ` (${record.stopReason})` : ''}`,
    ],
    [record.releasedAt, 'capture resource deleted (budget slot freed)'],
    [record.notifiedAt, `notified ${record.notifiedTargets ?? ''}`.trim()],
    [record.updatedAt, `last update: ${record.state}${record.reason ? ` (${record.reason})` : ''}`],
  ];
  return entries
    .filter((e): e is [string, string] => typeof e[0] === 'string' && e[0] !== '')
    .map(([at, event]) => ({ at, event }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

function parseSummary(json: string): CaptureSummary | undefined {
  try {
    return JSON.parse(json) as CaptureSummary;
  } catch {
    return undefined;
  }
}
