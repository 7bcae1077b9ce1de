import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestError } from '../../../src/errors.js';
import { EntraTokenVerifier } from '../../../src/webhook/verifyEntraToken.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const AUDIENCE = 'api://alert-capture';
const NOW = Date.parse('2026-11-21T02:00:00Z');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });

function token(claims: Record<string, unknown>, key = privateKey, kid = 'k1'): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'RS256', typ: 'JWT', kid })}.${enc(claims)}`;
  return `${head}.${sign('RSA-SHA256', Buffer.from(head), key).toString('base64url')}`;
}

const valid = {
  iss: `https://sts.windows.net/${TENANT}/`,
  aud: AUDIENCE,
  exp: NOW / 1000 + 3600,
  nbf: NOW / 1000 - 60,
};

let server: Server;
let jwksUrl: string;
let fetches = 0;
beforeAll(async () => {
  server = createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function reject(verifier: EntraTokenVerifier, header: string | null): Promise<string> {
  try {
    await verifier.verify(header);
  } catch (e) {
    if (e instanceof RequestError) return `${e.status} ${e.message}`;
    throw e;
  }
  return 'accepted';
}

describe('EntraTokenVerifier', () => {
  const verifier = () => new EntraTokenVerifier(TENANT, AUDIENCE, { jwksUrl, now: () => NOW });

  it('accepts a token of the tenant for the audience, and reuses the fetched keys', async () => {
    const v = verifier();
    const before = fetches;
    await expect(v.verify(`Bearer ${token(valid)}`)).resolves.toBeUndefined();
    await expect(
      v.verify(`Bearer ${token({ ...valid, iss: `https://login.microsoftonline.com/${TENANT}/v2.0` })}`),
    ).resolves.toBeUndefined();
    expect(fetches - before).toBe(1);
  });

  it('refuses a missing header', async () => {
    expect(await reject(verifier(), null)).toMatch(/^401 .*Bearer/);
  });

  it('refuses a token signed by another key', async () => {
    expect(await reject(verifier(), `Bearer ${token(valid, other.privateKey)}`)).toMatch(/^401 .*signature/);
  });

  it('refuses another tenant, another audience, an expired token', async () => {
    expect(
      await reject(verifier(), `Bearer ${token({ ...valid, iss: 'https://sts.windows.net/evil/' })}`),
    ).toMatch(/tenant/);
    expect(await reject(verifier(), `Bearer ${token({ ...valid, aud: 'api://other' })}`)).toMatch(/audience/);
    expect(await reject(verifier(), `Bearer ${token({ ...valid, exp: NOW / 1000 - 3600 })}`)).toMatch(
      /expired/,
    );
  });

  it('refuses an unknown key id and a token that is not RS256', async () => {
    expect(await reject(verifier(), `Bearer ${token(valid, privateKey, 'nope')}`)).toMatch(/^401/);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.x`;
    expect(await reject(verifier(), `Bearer ${none}`)).toMatch(/RS256/);
  });

  it('answers 503 when the keys cannot be fetched', async () => {
    const v = new EntraTokenVerifier(TENANT, AUDIENCE, {
      jwksUrl: 'http://127.0.0.1:1/keys',
      now: () => NOW,
    });
    expect(await reject(v, `Bearer ${token(valid)}`)).toMatch(/^503/);
  });
});

describe('EntraTokenVerifier key refetching', () => {
  it('refetches keys for an unknown key id at most once a minute', async () => {
    let now = NOW;
    const v = new EntraTokenVerifier(TENANT, AUDIENCE, { jwksUrl, now: () => now });
    await v.verify(`Bearer ${token(valid)}`);
    const before = fetches;
    for (let i = 0; i < 5; i++) await reject(v, `Bearer ${token(valid, privateKey, `rolled-${i}`)}`);
    expect(fetches - before).toBe(0);
    now += 61_000;
    await reject(v, `Bearer ${token(valid, privateKey, 'rolled-later')}`);
    expect(fetches - before).toBe(1);
  });
});
