import { errorMessage, RequestError } from '../errors.js';
import type { CaptureDeps } from '../captures/startCapture.js';
import type { Logger } from '../logger.js';
import { redact } from '../redact.js';
import { handleAlert, ledgerUnavailable, type WebhookBody } from './handleAlert.js';
import { readJsonBody, type IncomingAlertRequest } from './readBody.js';
import type { EntraTokenVerifier } from './verifyEntraToken.js';

/** An ARM-style error body. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: ReadonlyArray<{ code: string; message: string; target?: string }>;
  };
}

/** A runtime-free HTTP answer; the Functions adapter turns it into an `HttpResponseInit`. */
export interface WebhookResponse {
  status: number;
  headers: Record<string, string>;
  jsonBody: WebhookBody | ErrorBody;
}

/** What the webhook needs; `deps` is a function so that bad settings are answered (503), not thrown at load. */
export interface ReceiveAlertWebhookDeps {
  deps: () => CaptureDeps;
  /** Where failures are logged when `deps()` itself failed (bad settings). */
  logger: Logger;
  /** Resolves once the ledger is ready (table created); a failure answers 503. */
  ready?: () => Promise<void>;
  verifier?: () => EntraTokenVerifier | undefined;
}

/**
 * The whole webhook, runtime-free: media type and size, optional Entra ID token, JSON, then {@link handleAlert}.
 * Every failure has its own status and an ARM-style body; nothing a caller sends produces a 500 (an unexpected
 * fault answers 503 with `Retry-After`, which Azure Monitor retries).
 */
export async function receiveAlertWebhook(
  request: IncomingAlertRequest,
  { deps, logger, ready, verifier }: ReceiveAlertWebhookDeps,
): Promise<WebhookResponse> {
  let resolved: CaptureDeps | undefined;
  try {
    resolved = deps();
    await verifier?.()?.verify(request.headers.get('authorization'));
    const body = await readJsonBody(request);
    await ledgerReady(ready);
    const answer = await handleAlert(body, resolved);
    // The answer's reason may quote an ARM failure: the caller sees it through the one redaction too.
    const jsonBody = answer.body.reason
      ? { ...answer.body, reason: redact(answer.body.reason) }
      : answer.body;
    return { status: answer.status, headers: { 'content-type': 'application/json' }, jsonBody };
  } catch (e) {
    if (e instanceof RequestError) {
      return {
        status: e.status,
        headers: { 'content-type': 'application/json', ...(e.headers ?? {}) },
        jsonBody: {
          error: { code: e.code, message: redact(e.message), ...(e.details ? { details: e.details } : {}) },
        },
      };
    }
    (resolved?.logger ?? logger).error(`webhook failed unexpectedly: ${errorMessage(e)}`);
    const misconfigured = e instanceof Error && e.name === 'ConfigError';
    return {
      status: 503,
      headers: { 'content-type': 'application/json', 'Retry-After': '60' },
      jsonBody: {
        error: misconfigured
          ? {
              code: 'ServiceMisconfigured',
              message: 'The app settings are invalid; the function log names them.',
            }
          : { code: 'ServiceUnavailable', message: 'The alert could not be handled right now. Retry later.' },
      },
    };
  }
}

async function ledgerReady(ready: (() => Promise<void>) | undefined): Promise<void> {
  try {
    await ready?.();
  } catch {
    throw ledgerUnavailable('The capture ledger is not reachable; the alert was not recorded. Retry later.');
  }
}
