import { randomUUID } from 'node:crypto';
import { armStatus, describeArmError } from '../../azure/armErrors.js';
import { isWithinAnyScope } from '../../azure/armId.js';
import { FilterSpecError, parseFilterSpec, parseFiltersJson } from '../../captures/captureFilterSpec.js';
import { attemptCaptureName } from '../../captures/captureName.js';
import { effectiveCaptureSettings, type EffectiveCaptureSettings } from '../../captures/captureParameters.js';
import { targetMachineId, targetName, targetResourceId } from '../../captures/captureTarget.js';
import { startCapture } from '../../captures/startCapture.js';
import type { CaptureFilter } from '../../config.js';
import { fastPathGraceSeconds } from '../../webhook/handleAlert.js';
import { CliError, EXIT } from '../exitCodes.js';
import { formatFields, formatJson, write } from '../output.js';
import { intOption, parseVerbArgs } from '../parseVerbArgs.js';
import { parseTarget } from '../parseTarget.js';
import { exitCodeOf, waitForCapture, type WaitResult } from '../waitForCapture.js';
import type { VerbContext } from '../verbContext.js';

/** How long `start` gives the start itself (lease, region, watcher, agent, budget, PUT). */
const START_TIME_LIMIT_IN_MS = 60_000;

/** The `--json` output of `start`. */
export interface StartOutput {
  /** `started`, `pending` (the poller starts it), or the refusal/failure (`refused`, `failed`). */
  outcome: 'started' | 'pending' | 'refused' | 'failed';
  alertId: string;
  captureName: string;
  target: string;
  reason?: string;
  /** What was lowered to the operator's maxima or ignored. */
  notes: string[];
  settings: Omit<EffectiveCaptureSettings, 'notes'>;
  /** With `--wait`: how the capture ended. */
  wait?: WaitResult;
}

/**
 * `start --vm ID [--instance N] [--duration S] [--total-bytes B] [--snaplen B] [--filter SPEC]...
 * [--filters-json JSON] [--wait] [--timeout S] [--json]`: a capture by hand, recorded in the ledger as kind
 * `manual` and started by the very code an alert's capture goes through (`startCapture`: target lease, region,
 * watcher, agent, region budget, per-attempt name), with the same maxima (`effectiveCaptureSettings`) and
 * ALLOWED_SCOPES. Filters and numbers are checked before anything is written or sent. The poller then follows,
 * releases and notifies it like any other.
 */
export async function runStart(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values } = parseVerbArgs(
    'start',
    args,
    {
      vm: { type: 'string' },
      instance: { type: 'string' },
      duration: { type: 'string' },
      'total-bytes': { type: 'string' },
      snaplen: { type: 'string' },
      filter: { type: 'string', multiple: true },
      'filters-json': { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
    },
    0,
  );
  const target = parseTarget(values.vm, values.instance);
  const duration = intOption('duration', values.duration, 1, 18_000);
  const totalBytes = intOption('total-bytes', values['total-bytes'], 1, 4_294_967_295);
  const snaplen = intOption('snaplen', values.snaplen, 0, 4_294_967_295);
  const timeoutSeconds = intOption('timeout', values.timeout, 1, 86_400);
  let filters: CaptureFilter[] | undefined;
  try {
    const specs = (values.filter as string[] | undefined) ?? [];
    filters = [
      ...specs.map(parseFilterSpec),
      ...(values['filters-json'] === undefined ? [] : parseFiltersJson(String(values['filters-json']))),
    ];
  } catch (e) {
    if (e instanceof FilterSpecError) throw new CliError(EXIT.usage, `start: ${e.message}`);
    throw e;
  }
  if (filters.length > 10) throw new CliError(EXIT.usage, 'start: at most 10 filters');

  const app = await ctx.ready();
  const { config, ledger, gateway } = app;
  const targetId = targetResourceId(target);
  if (!isWithinAnyScope(targetMachineId(target), config.allowedScopes)) {
    throw new CliError(
      EXIT.refused,
      `start: ${targetId} is outside ALLOWED_SCOPES (${config.allowedScopes.join(', ')})`,
    );
  }
  const settings = effectiveCaptureSettings(config, {
    ...(duration === undefined ? {} : { captureDurationSeconds: duration }),
    ...(totalBytes === undefined ? {} : { captureTotalBytes: totalBytes }),
    ...(snaplen === undefined ? {} : { captureBytesPerPacket: snaplen }),
    ...(filters.length ? { captureFilters: filters } : {}),
  });
  // Before anything is recorded: a VM that does not exist is the caller's mistake, not a failed capture.
  try {
    await gateway.getLocation(targetId, { abortSignal: AbortSignal.timeout(30_000) });
  } catch (e) {
    if (armStatus(e) === 404) throw new CliError(EXIT.notFound, `start: ${targetId} not found`);
    throw new CliError(EXIT.failed, `start: cannot read ${targetId}: ${describeArmError(e)}`);
  }

  const alertId = `manual:${randomUUID()}`;
  const captureName = attemptCaptureName(config.captureNamePrefix, target, alertId);
  const now = ctx.now();
  const inserted = await ledger.insert({
    alertId,
    kind: 'manual',
    ruleName: '(manual)',
    severity: '',
    firedAt: new Date(now).toISOString(),
    monitorCondition: 'Fired',
    target: targetId,
    targetKind: target.kind,
    vmName: targetName(target),
    instanceId: target.kind === 'vmssInstance' ? target.instanceId : undefined,
    subscriptionId: target.subscriptionId,
    captureName,
    settingsJson: JSON.stringify(settings),
    note: ['started by hand (alert-capture start)', ...settings.notes].join('; '),
    // The poller leaves the record to this start for as long as it may run (its own limit, plus the grace the
    // webhook's fast path gets): were it to take over, a refusal printed here could still start a capture later.
    nextAttemptAt: new Date(now + START_TIME_LIMIT_IN_MS + fastPathGraceSeconds(config) * 1000).toISOString(),
  });
  if (!inserted.created) throw new CliError(EXIT.failed, `start: alert id ${alertId} already recorded`);
  const result = await startCapture(inserted.record, app, {
    abortSignal: AbortSignal.timeout(START_TIME_LIMIT_IN_MS),
  });

  const { notes, ...applied } = settings;
  const output: StartOutput = {
    outcome: 'started',
    alertId,
    captureName,
    target: targetMachineId(target),
    notes,
    settings: applied,
  };
  let code: number = EXIT.ok;
  switch (result.outcome) {
    case 'started':
      break;
    case 'pending':
      if (result.budgetUsedUp) {
        // Refused, not queued: a person asking now must not get a capture that starts by itself later.
        // The person who asked is told here (exit 4): no on-call message for a capture that never was.
        const refused = await ledger.move(result.record, 'markFailed', {
          reason: result.reason,
          nextAttemptAt: undefined,
          notifiedAt: new Date(ctx.now()).toISOString(),
        });
        // A lost write means the poller moved the record meanwhile: it is queued after all, and said so.
        output.outcome = refused ? 'refused' : 'pending';
        if (refused) code = EXIT.refused;
      } else output.outcome = 'pending';
      output.reason = result.reason;
      break;
    case 'alreadyCapturing':
      output.outcome = 'refused';
      output.reason = result.reason;
      code = EXIT.refused;
      break;
    case 'failed':
      output.outcome = 'failed';
      output.reason = result.reason;
      code = EXIT.failed;
      break;
  }
  if (values.wait && (output.outcome === 'started' || output.outcome === 'pending')) {
    output.wait = await waitForCapture(
      ctx,
      { name: captureName, record: result.record, ours: true },
      { timeoutSeconds, waitForFile: true },
    );
    code = exitCodeOf(output.wait);
  }

  if (values.json) await write(ctx.io.stdout, formatJson(output));
  else {
    await write(
      ctx.io.stdout,
      formatFields([
        ['outcome', output.outcome],
        ['capture', captureName],
        ['alert id', alertId],
        ['target', output.target],
        ['reason', output.reason],
        ['notes', notes.join('; ')],
        [
          'ended',
          output.wait
            ? `${output.wait.outcome}${output.wait.stopReason ? ` (${output.wait.stopReason})` : ''}`
            : undefined,
        ],
        ['file', output.wait?.file],
      ]),
    );
  }
  if (code !== EXIT.ok) {
    await write(
      ctx.io.stderr,
      `alert-capture: start: ${output.wait?.reason ?? output.reason ?? output.outcome}\n`,
    );
  }
  return code;
}
