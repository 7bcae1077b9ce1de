import { app, type InvocationContext, type Timer } from '@azure/functions';
import { sharedAppContext, type AppContext } from '../src/appContext.js';
import { pollCaptures } from '../src/captures/pollCaptures.js';
import { pollScheduleFrom } from '../src/config.js';
import { errorMessage } from '../src/errors.js';
import { loggerOf } from '../src/logger.js';

/**
 * Creates the `capturePoller` handler over an app context factory (tests pass their own). Each tick drives every
 * active ledger record one step: start pending ones, follow running ones, notify and clean up finished ones.
 */
export function createCapturePollerHandler(
  getContext: () => AppContext = () => sharedAppContext(process.env),
) {
  return async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const logger = loggerOf(context);
    let ctx: AppContext;
    try {
      ctx = getContext();
      await ctx.ensureReady();
    } catch (e) {
      logger.error(`capturePoller cannot run: ${errorMessage(e)}`);
      return;
    }
    const report = await pollCaptures({ ...ctx, logger });
    if (report.active > 0) context.log(`capturePoller: ${JSON.stringify(report)}`);
  };
}

/** The handler registered with the host. */
export const capturePoller = createCapturePollerHandler();

app.timer('capturePoller', {
  schedule: pollScheduleFrom(process.env),
  runOnStartup: false,
  handler: capturePoller,
});
