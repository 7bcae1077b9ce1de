import { formatFields, formatJson, write } from '../output.js';
import { intOption, parseVerbArgs, requirePositional } from '../parseVerbArgs.js';
import { resolveCapture } from '../resolveCapture.js';
import { exitCodeOf, waitForCapture, type WaitResult } from '../waitForCapture.js';
import type { VerbContext } from '../verbContext.js';

/** Prints a wait's end (text or `--json`) and returns its exit code (0, 1 gone, 5 timed out, 6 Error). */
export async function printWaitResult(ctx: VerbContext, result: WaitResult, json: boolean): Promise<number> {
  if (json) await write(ctx.io.stdout, formatJson(result));
  else {
    await write(
      ctx.io.stdout,
      formatFields([
        ['capture', result.name],
        ['outcome', result.outcome],
        ['status', result.status],
        ['stop reason', result.stopReason],
        ['errors', result.errors?.join(', ')],
        ['file', result.file],
        ['reason', result.reason],
      ]),
    );
  }
  const code = exitCodeOf(result);
  if (code !== 0) await write(ctx.io.stderr, `alert-capture: ${result.reason ?? result.outcome}\n`);
  return code;
}

/**
 * `wait <name|alertId> [--timeout S] [--subscription ID] [--json]`: until the capture ended and its file is in
 * storage. Exit 0 Stopped, 5 timed out (the capture goes on), 6 ended in Error, 1 deleted before it ended.
 */
export async function runWait(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'wait',
    args,
    {
      timeout: { type: 'string' },
      subscription: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    1,
  );
  const key = requirePositional('wait', positionals, 'capture name or alert id');
  const timeoutSeconds = intOption('timeout', values.timeout, 1, 86_400 * 7);
  const capture = await resolveCapture(
    await ctx.ready(),
    key,
    (values.subscription as string[] | undefined) ?? [],
  );
  const result = await waitForCapture(ctx, capture, { timeoutSeconds, waitForFile: true });
  return printWaitResult(ctx, result, Boolean(values.json));
}
