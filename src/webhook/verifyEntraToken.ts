import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { RequestError } from '../errors.js';

/** The shortest time between two fetches of the tenant keys for unknown key ids. */
const KEY_REFETCH_MIN_INTERVAL_IN_MS = 60_000;

/** Options for {@link EntraTokenVerifier}. */
export interface EntraTokenVerifierOptions {
  /** Where the tenant's signing keys are published. Default: the Entra ID v2 discovery keys of the tenant. */
  jwksUrl?: string;
  /** How long fetched keys are reused. Default 3600 s. */
  keysTtlSeconds?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
  /** Allowed clock skew. Default 300 s. */
  clockSkewSeconds?: number;
}

interface Jwk extends JsonWebKey {
  kid?: string;
}

/**
 * Verifies the Entra ID bearer token Azure Monitor sends with a "secure webhook" action: RS256 signature through the
 * tenant's published keys, issuer of that tenant (v1 or v2), audience, and lifetime. Every failure is a 401.
 * See https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups#secure-webhook.
 */
export class EntraTokenVerifier {
  private keys: { byKid: Map<string, KeyObject>; fetchedAt: number } | undefined;
  private readonly jwksUrl: string;
  private readonly now: () => number;

  constructor(
    private readonly tenantId: string,
    private readonly audience: string,
    private readonly options: EntraTokenVerifierOptions = {},
  ) {
    this.jwksUrl = options.jwksUrl ?? `https://login.microsoftonline.com/${tenantId}/discovery/v2.0/keys`;
    this.now = options.now ?? Date.now;
  }

  /** Resolves when `authorization` carries a valid token; throws a 401 {@link RequestError} otherwise. */
  async verify(authorization: string | null): Promise<void> {
    const match = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (!match) throw unauthorized('expected an "Authorization: Bearer <Entra ID token>" header');
    const [, h, p, s] = match as unknown as [string, string, string, string];
    const header = decodePart(h);
    const payload = decodePart(p);
    if (header?.alg !== 'RS256' || typeof header.kid !== 'string')
      throw unauthorized('expected an RS256 token with a key id');
    const key = await this.signingKey(header.kid);
    if (!key || !verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) {
      throw unauthorized('the token signature does not verify with the tenant keys');
    }
    const issuers = [
      `https://sts.windows.net/${this.tenantId}/`,
      `https://login.microsoftonline.com/${this.tenantId}/v2.0`,
    ];
    if (!payload || !issuers.includes(String(payload.iss)))
      throw unauthorized('the token was not issued by the configured tenant');
    const aud = payload.aud;
    if (!(aud === this.audience || (Array.isArray(aud) && aud.includes(this.audience)))) {
      throw unauthorized('the token audience is not the configured one');
    }
    const nowSeconds = this.now() / 1000;
    const skew = this.options.clockSkewSeconds ?? 300;
    if (typeof payload.exp !== 'number' || payload.exp + skew < nowSeconds)
      throw unauthorized('the token has expired');
    if (typeof payload.nbf === 'number' && payload.nbf - skew > nowSeconds)
      throw unauthorized('the token is not valid yet');
  }

  private async signingKey(kid: string): Promise<KeyObject | undefined> {
    const ttlInMs = (this.options.keysTtlSeconds ?? 3600) * 1000;
    const age = this.keys ? this.now() - this.keys.fetchedAt : Infinity;
    // An unknown key id refetches (keys roll over), but at most once a minute: a caller cannot make us hammer Entra.
    if (age >= ttlInMs || (!this.keys?.byKid.has(kid) && age >= KEY_REFETCH_MIN_INTERVAL_IN_MS))
      await this.fetchKeys();
    return this.keys?.byKid.get(kid);
  }

  private async fetchKeys(): Promise<void> {
    let body: { keys?: Jwk[] };
    try {
      const response = await fetch(this.jwksUrl, { signal: AbortSignal.timeout(5000) });
      body = (await response.json()) as { keys?: Jwk[] };
    } catch {
      // Without keys no token verifies; Azure Monitor retries on 503, not on 401.
      throw new RequestError(
        503,
        'SigningKeysUnavailable',
        'The tenant signing keys could not be fetched; try again.',
        undefined,
        {
          'Retry-After': '30',
        },
      );
    }
    const byKid = new Map<string, KeyObject>();
    for (const jwk of body.keys ?? []) {
      if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string') continue;
      try {
        byKid.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
      } catch {
        // A key we cannot use is skipped; the others still work.
      }
    }
    this.keys = { byKid, fetchedAt: this.now() };
  }
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
