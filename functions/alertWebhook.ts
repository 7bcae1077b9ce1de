import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { createAppContext, lazy, type AppContext } from '../src/appContext.js';
import type { Logger } from '../src/logger.js';
import { receiveAlertWebhook } from '../src/webhook/receiveAlertWebhook.js';

const appContext = lazy((): AppContext => createAppContext(process.env));

/** Adapts the function's context to the core's narrow logger. */
export function loggerOf(context: InvocationContext): Logger {
  return { info: (m) => context.log(m), warn: (m) => context.warn(m), error: (m) => context.error(m) };
}

/**
 * Creates the `alertWebhook` handler over an app context factory (tests pass their own; the host uses the app
 * settings). Azure Monitor's action group posts here (function key required).
 */
export function createAlertWebhookHandler(getContext: () => AppContext = appContext) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const response = await receiveAlertWebhook(request, {
      deps: () => {
        const ctx = getContext();
        return { ...ctx, logger: loggerOf(context) };
      },
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
