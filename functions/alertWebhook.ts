import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { sharedAppContext, type AppContext } from '../src/appContext.js';
import { loggerOf } from '../src/logger.js';
import { receiveAlertWebhook } from '../src/webhook/receiveAlertWebhook.js';

/**
 * Creates the `alertWebhook` handler over an app context factory (tests pass their own; the host uses the app
 * settings). Azure Monitor's action group posts here (function key required).
 */
export function createAlertWebhookHandler(
  getContext: () => AppContext = () => sharedAppContext(process.env),
) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const logger = loggerOf(context);
    const response = await receiveAlertWebhook(request, {
      deps: () => ({ ...getContext(), logger }),
      logger,
      ready: () => getContext().ensureReady(),
      verifier: () => getContext().verifier,
    });
    context.log(`alertWebhook answered ${response.status}`);
    return response;
  };
}

/** The handler registered with the host. */
export const alertWebhook = createAlertWebhookHandler();

app.http('alertWebhook', {
  methods: ['POST'],
  authLevel: 'function',
  handler: alertWebhook,
});
