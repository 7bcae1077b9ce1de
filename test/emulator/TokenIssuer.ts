import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** Lifetime of an issued token, wall-clock seconds (Azure's managed identity tokens last about a day). */
const TOKEN_LIFETIME_SECONDS = 24 * 3600;

/** A token the issuer made, decoded. */
export interface IssuedToken {
  accessToken: string;
  expiresOnSeconds: number;
}

/**
 * Issues and checks JWT-shaped bearer tokens signed with a secret made per emulator, so a token from another
 * emulator (or anywhere else) fails the check. Tokens use the wall clock, not the emulated one: the SDK caches them.
 */
export class TokenIssuer {
  private readonly secret = randomBytes(32);

  /** `issuer` gives the `iss` claim (known once the server listens). */
  constructor(
    private readonly issuer: () => string,
    private readonly clientId: string,
  ) {}

  /** Makes a token for `resource`. */
  issue(resource: string): IssuedToken {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const expiresOnSeconds = nowSeconds + TOKEN_LIFETIME_SECONDS;
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = base64url(
      JSON.stringify({
        aud: resource,
        iss: this.issuer(),
        iat: nowSeconds,
        nbf: nowSeconds,
        exp: expiresOnSeconds,
        appid: this.clientId,
        oid: this.clientId,
        sub: this.clientId,
        jti: randomUUID(),
      }),
    );
    const signature = this.sign(`${header}.${payload}`);
    return { accessToken: `${header}.${payload}.${signature}`, expiresOnSeconds };
  }

  /**
   * Why `token` is not acceptable, or undefined when it is (issued here, not expired, and for one of `audiences`
   * when given; the audience is compared without a trailing slash, as ARM lists both forms).
   */
  check(
    token: string,
    audiences?: readonly string[],
  ): { problem: 'invalid' } | { problem: 'expired' } | { problem: 'audience'; audience: string } | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return { problem: 'invalid' };
    const [header, payload, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const actual = Buffer.from(signature);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual))
      return { problem: 'invalid' };
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { problem: 'invalid' };
    }
    const c =
      typeof claims === 'object' && claims !== null ? (claims as { exp?: unknown; aud?: unknown }) : {};
    if (typeof c.exp !== 'number') return { problem: 'invalid' };
    if (c.exp * 1000 <= Date.now()) return { problem: 'expired' };
    const audience = typeof c.aud === 'string' ? c.aud : '';
    const bare = (a: string): string => a.replace(/\/+$/, '').toLowerCase();
    if (audiences && !audiences.some((a) => bare(a) === bare(audience)))
      return { problem: 'audience', audience };
    return undefined;
  }

  private sign(data: string): string {
    return createHmac('sha256', this.secret).update(data).digest('base64url');
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
