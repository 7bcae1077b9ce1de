import { describeArmError } from '../../azure/armErrors.js';
import { CliError, EXIT } from '../exitCodes.js';
import { formatJson, write } from '../output.js';
import { intOption, parseVerbArgs, requirePositional } from '../parseVerbArgs.js';
import { resolveCapture, type ResolvedCapture } from '../resolveCapture.js';
import { waitForCapture } from '../waitForCapture.js';
import type { VerbContext } from '../verbContext.js';
import { printWaitResult } from './wait.js';

/** The `--json` output of `stop` (without `--wait`; with it, `wait`'s). */
export interface StopOutput {
  name: string;
  /** `accepted` (ARM took the stop; the file follows), `missing` (the capture no longer exists). */
  outcome: 'accepted' | 'missing';
  ours: boolean;
}

/** Refuses (exit 4) a capture alert-capture did not make, unless `--force`: it is someone else's to stop or delete. */
export function refuseForeign(verb: string, capture: ResolvedCapture, force: boolean): void {
  if (!capture.ours && !force) {
    throw new CliError(
      EXIT.refused,
      `${verb}: capture ${capture.name} was not made by alert-capture (no ledger record); left untouched. --force to ${verb} it anyway`,
    );
  }
}

/**
 * `stop <name|alertId> [--wait] [--timeout S] [--force] [--subscription ID] [--json]`: asks ARM to stop the capture
 * (its file is then written); the poller records the end of ours on its next tick, as after a resolved alert.
 */
export async function runStop(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'stop',
    args,
    {
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      force: { type: 'boolean' },
      subscription: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    1,
  );
  const key = requirePositional('stop', positionals, 'capture name or alert id');
  const timeoutSeconds = intOption('timeout', values.timeout, 1, 86_400 * 7);
  const app = await ctx.ready();
  const capture = await resolveCapture(app, key, (values.subscription as string[] | undefined) ?? []);
  refuseForeign('stop', capture, Boolean(values.force));
  if (!capture.watcher) {
    throw new CliError(
      EXIT.refused,
      `stop: capture ${capture.name} has not been created yet (record ${capture.record?.state})`,
    );
  }
  let answer;
  try {
    answer = await app.gateway.stopCapture(capture.watcher, capture.name, {
      abortSignal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new CliError(EXIT.failed, `stop: ${capture.name}: ${describeArmError(e)}`);
  }
  if (answer === 'missing')
    throw new CliError(EXIT.notFound, `stop: capture ${capture.name} no longer exists`);
  if (capture.record?.state === 'running') {
    // The poller asks for its status on its next tick instead of at its expected end.
    await app.ledger
      .move(capture.record, 'note', {
        statusCheckAt: new Date(ctx.now()).toISOString(),
        nextAttemptAt: undefined,
      })
      .catch(() => undefined);
  }
  if (values.wait) {
    return printWaitResult(
      ctx,
      await waitForCapture(ctx, capture, { timeoutSeconds, waitForFile: true }),
      Boolean(values.json),
    );
  }
  const output: StopOutput = { name: capture.name, outcome: 'accepted', ours: capture.ours };
  await write(ctx.io.stdout, values.json ? formatJson(output) : `stop of ${capture.name} accepted\n`);
  return EXIT.ok;
}
