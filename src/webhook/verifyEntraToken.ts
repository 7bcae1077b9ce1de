import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { SecureWebhookConfig } from '../config.js';
import { RequestError } from '../errors.js';

/** The shortest time between two fetches of the tenant keys for unknown key ids. */
const KEY_REFETCH_MIN_INTERVAL_IN_MS = 60_000;
/** After a failed key fetch, how long callers are told to wait (and no new fetch is tried). */
const KEY_FAILURE_RETRY_AFTER_SECONDS = 30;

/** Options for {@link EntraTokenVerifier}. */
export interface EntraTokenVerifierOptions {
  /** How long fetched keys are reused. Default 3600 s. */
  keysTtlSeconds?: number;
  /** Deadline of one key fetch. Default 5000 ms. */
  fetchTimeoutInMs?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
  /** Allowed clock skew. Default 300 s. */
  clockSkewSeconds?: number;
}

interface Jwk extends JsonWebKey {
  kid?: string;
}

/**
 * Verifies the Entra ID bearer token Azure Monitor sends with a "secure webhook" action, as Azure Monitor sends it:
 *
 * - RS256 only (`alg: none`, HS256 over the public key and every other algorithm are refused), signed by a key the
 *   tenant publishes at `{authority}/{tenant}/discovery/v2.0/keys`;
 * - v1 (`https://sts.windows.net/{tid}/`) or v2 (`{authority}/{tid}/v2.0`) issuer of the configured tenant, and
 *   `tid` equal to it;
 * - `aud` equal to the Application ID URI or the client id: Microsoft tells users to accept v2 tokens, whose `aud`
 *   is the client id;
 * - `roles` containing the required app role (`ActionGroupsSecureWebhook`), and the caller app (`appid` in v1,
 *   `azp` in v2) equal to Azure Monitor's "AzNS AAD Webhook" app: otherwise any app of the tenant able to get a
 *   token for the audience would pass;
 * - lifetime (`exp`, `nbf`) within the clock skew.
 *
 * Every token failure is a 401. A key endpoint that fails (non-2xx, no usable key, timeout) answers 503 with
 * `Retry-After` (Azure Monitor retries 5xx, not 401), and the last good keys are kept; concurrent fetches share one
 * request.
 *
 * @see https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups#secure-webhook
 * @see https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
 */
export class EntraTokenVerifier {
  private keys: { byKid: Map<string, KeyObject>; fetchedAt: number } | undefined;
  private inflight: Promise<void> | undefined;
  private lastFailureAt = -Infinity;
  private readonly now: () => number;

  constructor(
    private readonly settings: SecureWebhookConfig,
    private readonly options: EntraTokenVerifierOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Where the tenant's signing keys are published. */
  get jwksUrl(): string {
    return `${this.settings.authorityHost}/${this.settings.tenantId}/discovery/v2.0/keys`;
  }

  /** Resolves when `authorization` carries a valid token; throws a 401 (or 503: keys unavailable) otherwise. */
  async verify(authorization: string | null): Promise<void> {
    const match = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/.exec(authorization ?? '');
    if (!match) throw unauthorized('expected an "Authorization: Bearer <Entra ID token>" header');
    const [, h, p, s] = match as unknown as [string, string, string, string];
    const header = decodePart(h);
    const payload = decodePart(p);
    if (header?.alg !== 'RS256' || typeof header.kid !== 'string')
      throw unauthorized('expected an RS256 token with a key id');
    if (!payload) throw unauthorized('the token payload is not a JSON object');
    const key = await this.signingKey(header.kid);
    if (!key || !verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) {
      throw unauthorized('the token signature does not verify with the tenant keys');
    }
    const { tenantId, audiences, requiredRole, callerAppId, authorityHost, v1IssuerHost } = this.settings;
    const issuers = [`${v1IssuerHost}/${tenantId}/`, `${authorityHost}/${tenantId}/v2.0`];
    if (
      !issuers.includes(String(payload.iss).toLowerCase()) ||
      String(payload.tid).toLowerCase() !== tenantId
    )
      throw unauthorized('the token was not issued by the configured tenant');
    const aud = Array.isArray(payload.aud) ? (payload.aud as unknown[]) : [payload.aud];
    if (!aud.some((a) => typeof a === 'string' && audiences.includes(a)))
      throw unauthorized('the token audience is neither the Application ID URI nor the client id configured');
    const nowSeconds = this.now() / 1000;
    const skew = this.options.clockSkewSeconds ?? 300;
    if (typeof payload.exp !== 'number' || payload.exp + skew < nowSeconds)
      throw unauthorized('the token has expired');
    if (typeof payload.nbf === 'number' && payload.nbf - skew > nowSeconds)
      throw unauthorized('the token is not valid yet');
    const roles = Array.isArray(payload.roles) ? (payload.roles as unknown[]) : [];
    if (!roles.includes(requiredRole))
      throw unauthorized(`the token does not carry the ${requiredRole} role`);
    // v1 tokens name the caller in `appid`, v2 tokens in `azp`.
    const caller = payload.ver === '2.0' ? payload.azp : (payload.appid ?? payload.azp);
    if (typeof caller !== 'string' || caller.toLowerCase() !== callerAppId)
      throw unauthorized('the token was not issued to the Azure Monitor action group app');
  }

  private async signingKey(kid: string): Promise<KeyObject | undefined> {
    const ttlInMs = (this.options.keysTtlSeconds ?? 3600) * 1000;
    const age = this.keys ? this.now() - this.keys.fetchedAt : Infinity;
    // An unknown key id refetches (keys roll over), but at most once a minute: a caller cannot make us hammer Entra.
    const stale = age >= ttlInMs || (!this.keys?.byKid.has(kid) && age >= KEY_REFETCH_MIN_INTERVAL_IN_MS);
    if (stale) {
      try {
        await this.refreshKeys();
      } catch (e) {
        // The last good keys still verify a token signed with one of them.
        const known = this.keys?.byKid.get(kid);
        if (known) return known;
        throw e;
      }
    }
    return this.keys?.byKid.get(kid);
  }

  /** One fetch at a time; after a failure none for {@link KEY_FAILURE_RETRY_AFTER_SECONDS}. */
  private refreshKeys(): Promise<void> {
    if (this.now() - this.lastFailureAt < KEY_FAILURE_RETRY_AFTER_SECONDS * 1000)
      return Promise.reject(keysUnavailable());
    this.inflight ??= this.fetchKeys()
      .catch((e: unknown) => {
        this.lastFailureAt = this.now();
        throw e;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    let body: { keys?: unknown };
    try {
      const response = await fetch(this.jwksUrl, {
        signal: AbortSignal.timeout(this.options.fetchTimeoutInMs ?? 5000),
        redirect: 'error',
      });
      if (!response.ok) throw new Error(`key endpoint answered ${response.status}`);
      body = (await response.json()) as { keys?: unknown };
    } catch {
      throw keysUnavailable();
    }
    const byKid = new Map<string, KeyObject>();
    for (const jwk of Array.isArray(body.keys) ? (body.keys as Jwk[]) : []) {
      if (!jwk || jwk.kty !== 'RSA' || typeof jwk.kid !== 'string') continue;
      try {
        byKid.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
      } catch {
        // A key we cannot use is skipped; the others still work.
      }
    }
    // An answer without a usable key is a failure too: caching it would refuse every alert until the next fetch.
    if (byKid.size === 0) throw keysUnavailable();
    this.keys = { byKid, fetchedAt: this.now() };
  }
}

function keysUnavailable(): RequestError {
  // Without keys no token verifies; Azure Monitor retries on 503, not on 401.
  return new RequestError(
    503,
    'SigningKeysUnavailable',
    'The tenant signing keys could not be fetched; try again.',
    undefined,
    { 'Retry-After': String(KEY_FAILURE_RETRY_AFTER_SECONDS) },
  );
}

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function unauthorized(message: string): RequestError {
  return new RequestError(401, 'InvalidAuthenticationToken', `Secure webhook: ${message}.`);
}
