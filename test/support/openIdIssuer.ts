import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the Entra ID authority (`{authority}/{tenant}/discovery/v2.0/keys`), so secure-webhook
 * tests run the real verifier over real HTTP with `SECURE_WEBHOOK_AUTHORITY_HOST` pointing here, instead of
 * patching `fetch`. It signs tokens shaped as Entra ID issues them to Azure Monitor's action group app.
 *
 * Claims follow https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference: v1 tokens carry
 * `iss: https://sts.windows.net/{tid}/`, `appid`, `ver: "1.0"`, and `aud` the Application ID URI; v2 tokens carry
 * `iss: {authority}/{tid}/v2.0`, `azp`, `ver: "2.0"`, and `aud` the client id.
 */
export interface OpenIdIssuer {
  /** `http://127.0.0.1:<port>`: the authority host. */
  url: string;
  /** Requests received for the key set. */
  keyRequests(): number;
  /** How the key endpoint answers from now on. */
  setMode(mode: KeyEndpointMode): void;
  /** Holds key answers until {@link release} (to make concurrent fetches meet). */
  hold(): void;
  release(): void;
  /** A signed token; `claims` override the defaults of `version`. */
  token(version: '1.0' | '2.0', claims?: Record<string, unknown>, options?: TokenOptions): string;
  /** The public key (PEM) the tokens are signed with, for the HS256-over-the-public-key attack. */
  publicKeyPem: string;
  stop(): Promise<void>;
}

/** `ok` serves the key; `error500` answers 500 with a JSON body; `empty` answers 200 with no keys. */
export type KeyEndpointMode = 'ok' | 'error500' | 'empty';

/** How a test token is signed. */
export interface TokenOptions {
  alg?: 'RS256' | 'none' | 'HS256';
  kid?: string;
  /** Sign with another key than the published one. */
  key?: KeyObject;
}

/** What the tokens are issued for. */
export interface IssuerIdentity {
  tenantId: string;
  /** Application ID URI, the `aud` of v1 tokens. */
  applicationIdUri: string;
  /** Client id, the `aud` of v2 tokens. */
  clientId: string;
  /** The caller's app id (`appid`/`azp`). */
  callerAppId: string;
  /** Epoch ms the tokens' lifetime is relative to. */
  now: () => number;
}

/** Starts the issuer on a free 127.0.0.1 port. */
export async function startOpenIdIssuer(identity: IssuerIdentity): Promise<OpenIdIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  let mode: KeyEndpointMode = 'ok';
  let requests = 0;
  let held: Array<() => void> | undefined;

  const server: Server = createServer((req, res) => {
    if (req.url !== `/${identity.tenantId}/discovery/v2.0/keys`) {
      res.writeHead(404).end();
      return;
    }
    requests++;
    const answer = () => {
      res.setHeader('content-type', 'application/json');
      if (mode === 'error500') {
        res.writeHead(500).end(JSON.stringify({ error: 'temporarily_unavailable' }));
      } else {
        const keys = mode === 'ok' ? [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }] : [];
        res.writeHead(200).end(JSON.stringify({ keys }));
      }
    };
    if (held) held.push(answer);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

  return {
    url,
    publicKeyPem,
    keyRequests: () => requests,
    setMode: (m) => (mode = m),
    hold: () => (held ??= []),
    release() {
      const waiting = held ?? [];
      held = undefined;
      for (const answer of waiting) answer();
    },
    token(version, claims = {}, options = {}) {
      const nowSeconds = Math.floor(identity.now() / 1000);
      const base =
        version === '1.0'
          ? {
              iss: `https://sts.windows.net/${identity.tenantId}/`,
              aud: identity.applicationIdUri,
              appid: identity.callerAppId,
              ver: '1.0',
            }
          : {
              iss: `${url}/${identity.tenantId}/v2.0`,
              aud: identity.clientId,
              azp: identity.callerAppId,
              ver: '2.0',
            };
      const body = {
        ...base,
        tid: identity.tenantId,
        roles: ['ActionGroupsSecureWebhook'],
        iat: nowSeconds - 60,
        nbf: nowSeconds - 60,
        exp: nowSeconds + 3600,
        ...claims,
      };
      const alg = options.alg ?? 'RS256';
      const head = `${enc({ alg, typ: 'JWT', kid: options.kid ?? 'k1' })}.${enc(body)}`;
      if (alg === 'none') return `${head}.`;
      if (alg === 'HS256')
        return `${head}.${createHmac('sha256', publicKeyPem).update(head).digest('base64url')}`;
      return `${head}.${sign('RSA-SHA256', Buffer.from(head), options.key ?? privateKey).toString('base64url')}`;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
