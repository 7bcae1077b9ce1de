import { deadlineSignal } from '../deadline.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { CaptureNotification } from './captureNotification.js';
import { toWebhookPayload } from './captureNotification.js';
import { toSlackPayload } from './toSlackPayload.js';
import { toTeamsPayload } from './toTeamsPayload.js';

/** The kinds of notification target. */
export type NotifyTargetKind = 'webhook' | 'teams' | 'slack';

/**
 * Where to send notifications (from `NOTIFY_WEBHOOK_URL`, `NOTIFY_TEAMS_WEBHOOK_URL`, `NOTIFY_SLACK_WEBHOOK_URL`).
 * Absent targets are not used. All three URLs are secrets (Slack and Teams carry their token in the path).
 */
export interface NotifyTargets {
  webhookUrl?: string;
  teamsWebhookUrl?: string;
  slackWebhookUrl?: string;
}

/** Options for {@link deliverNotification}. */
export interface DeliverOptions {
  /** Per-request time limit; default 10 000 ms. */
  timeoutInMs?: number;
  /** Targets that already accepted this notification on an earlier try: not posted again. */
  skip?: ReadonlySet<NotifyTargetKind>;
  /** Receives one line per target; never a URL or a body. */
  logger?: Logger;
  /** Cancels every request still running (e.g. the function's own deadline). */
  abortSignal?: AbortSignal;
}

/** The outcome for one target. */
export interface TargetDeliveryResult {
  target: NotifyTargetKind;
  /** True for a 2xx answer. */
  ok: boolean;
  /** HTTP status, when the target answered. */
  status?: number;
  /** What went wrong, naming the target kind only (never its URL). */
  error?: string;
  /** Seconds the target asked us to wait (`Retry-After` on 429/503), when it said so. */
  retryAfterSeconds?: number;
}

/** The outcome of one delivery round. */
export interface DeliveryResult {
  /** True when every target attempted in this round accepted the message (also when none was attempted). */
  ok: boolean;
  /** One entry per configured target that was attempted (skipped and unconfigured targets are absent). */
  results: TargetDeliveryResult[];
}

/** Default per-request time limit. */
export const DEFAULT_NOTIFY_TIMEOUT_IN_MS = 10_000;

const FIRST_RETRY_SECONDS = 30;
const MAX_RETRY_SECONDS = 3600;

/**
 * Seconds to wait before the next delivery try after `attempts` failed tries: 30, 60, 120, ... capped at 1 h.
 * `attempts` below 1 (or not a number) counts as 1. No jitter: the poller's tick already spreads retries.
 */
export function nextNotifyDelaySeconds(attempts: number): number {
  const n = Number.isFinite(attempts) && attempts >= 1 ? Math.floor(attempts) : 1;
  // Capping the exponent first keeps 2 ** n finite for absurd attempt counts.
  return Math.min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** Math.min(n - 1, 20));
}

/**
 * The `Idempotency-Key` header value: the key itself when it is plain visible ASCII, otherwise
 * percent-encoded (fetch refuses header values outside Latin-1, and a newline would split the header).
 */
export function idempotencyHeaderValue(key: string): string {
  return /^[\x21-\x7e]+$/.test(key) ? key : encodeURIComponent(key);
}

/**
 * Posts one notification to every configured target, in parallel: the generic webhook gets
 * {@link toWebhookPayload} with an `Idempotency-Key` header, Teams gets {@link toTeamsPayload}, Slack gets
 * {@link toSlackPayload}. A 2xx answer is success; anything else, a timeout or a network error is a failure of
 * that target only. Never throws for a target's failure, and never puts a target URL in a result or a log.
 * The caller retries failed targets later, passing the ones that succeeded in `options.skip`.
 */
export async function deliverNotification(
  n: CaptureNotification,
  targets: NotifyTargets,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  const logger = options.logger ?? silentLogger;
  const skip = options.skip ?? new Set<NotifyTargetKind>();
  const timeoutInMs = options.timeoutInMs ?? DEFAULT_NOTIFY_TIMEOUT_IN_MS;

  const jobs: Array<{
    target: NotifyTargetKind;
    url: string;
    body: unknown;
    headers?: Record<string, string>;
  }> = [];
  if (targets.webhookUrl && !skip.has('webhook')) {
    jobs.push({
      target: 'webhook',
      url: targets.webhookUrl,
      body: toWebhookPayload(n),
      headers: { 'Idempotency-Key': idempotencyHeaderValue(n.idempotencyKey) },
    });
  }
  if (targets.teamsWebhookUrl && !skip.has('teams')) {
    jobs.push({ target: 'teams', url: targets.teamsWebhookUrl, body: toTeamsPayload(n) });
  }
  if (targets.slackWebhookUrl && !skip.has('slack')) {
    jobs.push({ target: 'slack', url: targets.slackWebhookUrl, body: toSlackPayload(n) });
  }

  const results = await Promise.all(
    jobs.map((job) =>
      post(job.target, job.url, job.body, job.headers ?? {}, timeoutInMs, options.abortSignal),
    ),
  );
  for (const r of results) {
    if (r.ok)
      logger.info(`notify: ${r.target} accepted ${n.type} (HTTP ${r.status}) key=${n.idempotencyKey}`);
    else logger.warn(`notify: ${r.error ?? `${r.target} failed`} key=${n.idempotencyKey}`);
  }
  return { ok: results.every((r) => r.ok), results };
}

async function post(
  target: NotifyTargetKind,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutInMs: number,
  abortSignal: AbortSignal | undefined,
): Promise<TargetDeliveryResult> {
  // Held by its own timer (see deadlineSignal), and read below to tell our timeout from the caller's abort.
  const timeout = deadlineSignal(timeoutInMs);
  const signal = abortSignal ? AbortSignal.any([timeout, abortSignal]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'alert-capture', ...headers },
      body: JSON.stringify(body),
      signal,
      // A redirect would turn the POST into a GET and lose the message while looking like success.
      redirect: 'manual',
    });
  } catch (e) {
    return { target, ok: false, error: `${target}: ${describeFetchError(e, timeout, timeoutInMs)}` };
  }

  const detail = await readShortDetail(response, url);
  if (response.status >= 200 && response.status < 300) return { target, ok: true, status: response.status };
  const result: TargetDeliveryResult = {
    target,
    ok: false,
    status: response.status,
    error: `${target}: HTTP ${response.status}${detail ? ` (${detail})` : ''}`,
  };
  const retryAfter = parseRetryAfterSeconds(response.headers.get('retry-after'));
  if (retryAfter !== undefined) result.retryAfterSeconds = retryAfter;
  return result;
}

/**
 * A failure in words without the URL: undici's `fetch failed` hides the reason in `cause`, whose message may
 * name the host, so only its error code is kept.
 */
function describeFetchError(e: unknown, timeout: AbortSignal, timeoutInMs: number): string {
  if (timeout.aborted) return `no answer within ${timeoutInMs} ms`;
  if (e instanceof Error && e.name === 'AbortError') return 'request cancelled';
  const cause = e instanceof Error ? (e.cause as { code?: unknown } | undefined) : undefined;
  if (cause?.code === 'ERR_INVALID_URL') return 'request failed (invalid URL)';
  if (cause && typeof cause.code === 'string') return `request failed (${cause.code})`;
  const message = errorMessage(e);
  // Invalid-URL errors from fetch quote the URL: say what kind of problem it is and nothing more.
  if (/url/i.test(message)) return 'request failed (invalid URL)';
  return `request failed (${e instanceof Error ? e.name : 'error'})`;
}

/**
 * A short machine token from the answer body (Slack answers `invalid_blocks`, `no_text`, ...), or nothing.
 * Anything longer or richer is dropped, and so is a token that appears in the URL: error pages may echo it.
 */
async function readShortDetail(response: Response, url: string): Promise<string | undefined> {
  try {
    const text = (await response.text()).trim();
    const isToken = /^[A-Za-z][A-Za-z0-9_ ]{0,63}$/.test(text);
    return isToken && !url.toLowerCase().includes(text.toLowerCase()) ? text : undefined;
  } catch {
    return undefined;
  }
}

function parseRetryAfterSeconds(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : undefined;
}
