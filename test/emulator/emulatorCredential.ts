import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { request } from 'node:https';
import { MSI_API_VERSION } from './apiVersions.js';
import type { Emulator } from './types.js';

/**
 * A `TokenCredential` that asks the emulator's managed identity endpoint directly, without touching
 * `process.env` (handy in tests that cannot set IDENTITY_ENDPOINT before constructing DefaultAzureCredential).
 * It speaks the same App Service protocol as `ManagedIdentityCredential`, and trusts the emulator's certificate.
 */
export function emulatorCredential(
  emulator: Pick<Emulator, 'identityEndpoint' | 'identityHeader' | 'caPem'>,
): TokenCredential {
  return {
    async getToken(scopes: string | string[]): Promise<AccessToken> {
      const scope = Array.isArray(scopes) ? (scopes[0] ?? '') : scopes;
      const url = new URL(emulator.identityEndpoint);
      url.searchParams.set('api-version', MSI_API_VERSION);
      url.searchParams.set('resource', scope.replace(/\/\.default$/, ''));
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          url,
          { method: 'GET', headers: { 'X-IDENTITY-HEADER': emulator.identityHeader }, ca: emulator.caPem },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () =>
              res.statusCode === 200
                ? resolve(text)
                : reject(new Error(`The identity endpoint answered ${res.statusCode}: ${text}`)),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
      const parsed = JSON.parse(body) as { access_token: string; expires_on: string };
      return { token: parsed.access_token, expiresOnTimestamp: Number(parsed.expires_on) * 1000 };
    },
  };
}
