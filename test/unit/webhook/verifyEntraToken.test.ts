import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, type SecureWebhookConfig } from '../../../src/config.js';
import { RequestError } from '../../../src/errors.js';
import { EntraTokenVerifier } from '../../../src/webhook/verifyEntraToken.js';
import { startOpenIdIssuer, type OpenIdIssuer } from '../../support/openIdIssuer.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const APP_ID_URI = 'api://alert-capture';
const CLIENT_ID = '99999999-8888-7777-6666-555555555555';
const AZNS_APP_ID = '461e8683-5575-4561-ac7f-899cc907d62a';
const NOW = Date.parse('2026-11-21T02:00:00Z');
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });

let issuer: OpenIdIssuer;
let settings: SecureWebhookConfig;
beforeAll(async () => {
  issuer = await startOpenIdIssuer({
    tenantId: TENANT,
    applicationIdUri: APP_ID_URI,
    clientId: CLIENT_ID,
    callerAppId: AZNS_APP_ID,
    now: () => NOW,
  });
  const config = loadConfig({
    CAPTURE_STORAGE_ACCOUNT_ID:
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/capstore',
    ALLOWED_SCOPES: '*',
    LEDGER_STORAGE_ACCOUNT_NAME: 'ledger',
    SECURE_WEBHOOK_TENANT_ID: TENANT,
    SECURE_WEBHOOK_AUDIENCE: APP_ID_URI,
    SECURE_WEBHOOK_CLIENT_ID: CLIENT_ID,
    SECURE_WEBHOOK_AUTHORITY_HOST: issuer.url,
  });
  settings = config.secureWebhook as SecureWebhookConfig;
});
afterAll(() => issuer.stop());
beforeEach(() => {
  issuer.setMode('ok');
  issuer.release();
});

async function outcome(verifier: EntraTokenVerifier, header: string | null): Promise<string> {
  try {
    await verifier.verify(header);
  } catch (e) {
    if (e instanceof RequestError) return `${e.status} ${e.message}`;
    throw e;
  }
  return 'accepted';
}

describe('EntraTokenVerifier: tokens as Azure Monitor sends them', () => {
  const verifier = (now = () => NOW) => new EntraTokenVerifier(settings, { now });

  it('takes the settings defaults: the ActionGroupsSecureWebhook role and the AzNS AAD Webhook app', () => {
    expect(settings.requiredRole).toBe('ActionGroupsSecureWebhook');
    expect(settings.callerAppId).toBe(AZNS_APP_ID);
    expect(settings.audiences).toEqual([APP_ID_URI, CLIENT_ID]);
  });

  it('accepts a v2 token whose audience is the client id, and a v1 token for the Application ID URI', async () => {
    const v = verifier();
    const before = issuer.keyRequests();
    expect(await outcome(v, `Bearer ${issuer.token('2.0')}`)).toBe('accepted');
    expect(await outcome(v, `Bearer ${issuer.token('1.0')}`)).toBe('accepted');
    expect(issuer.keyRequests() - before).toBe(1);
  });

  it.each([
    ['no header', null, /^401 .*Bearer/],
    [
      'a token without the role',
      () => issuer.token('2.0', { roles: [] }),
      /^401 .*ActionGroupsSecureWebhook/,
    ],
    ['a token with another role', () => issuer.token('1.0', { roles: ['Reader'] }), /^401 .*role/],
    [
      'a token of another app (azp)',
      () => issuer.token('2.0', { azp: CLIENT_ID }),
      /^401 .*action group app/,
    ],
    ['a v1 token of another app (appid)', () => issuer.token('1.0', { appid: CLIENT_ID }), /^401 .*app/],
    [
      'another tenant (tid)',
      () => issuer.token('2.0', { tid: '22222222-2222-2222-2222-222222222222' }),
      /^401 .*tenant/,
    ],
    [
      'another tenant (iss)',
      () => issuer.token('1.0', { iss: 'https://sts.windows.net/22222222-2222-2222-2222-222222222222/' }),
      /^401 .*tenant/,
    ],
    ['alg none', () => issuer.token('2.0', {}, { alg: 'none' }), /^401 .*RS256/],
    ['HS256 signed with the public key', () => issuer.token('2.0', {}, { alg: 'HS256' }), /^401 .*RS256/],
    ['another signing key', () => issuer.token('2.0', {}, { key: other.privateKey }), /^401 .*signature/],
    ['an expired token', () => issuer.token('2.0', { exp: NOW / 1000 - 3600 }), /^401 .*expired/],
    ['a token not valid yet', () => issuer.token('2.0', { nbf: NOW / 1000 + 3600 }), /^401 .*not valid yet/],
    ['a wrong audience', () => issuer.token('2.0', { aud: 'api://other' }), /^401 .*audience/],
    ['a v1 token for another audience', () => issuer.token('1.0', { aud: 'x' }), /^401 .*audience/],
  ])('refuses %s with 401', async (_what, make, expected) => {
    const header = typeof make === 'function' ? `Bearer ${make()}` : make;
    expect(await outcome(verifier(), header)).toMatch(expected);
  });
});

describe('EntraTokenVerifier: the key endpoint', () => {
  it('answers 503 with Retry-After when the key endpoint answers 500 with JSON, and caches nothing', async () => {
    issuer.setMode('error500');
    let now = NOW;
    const v = new EntraTokenVerifier(settings, { now: () => now });
    const e = await v.verify(`Bearer ${issuer.token('2.0')}`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RequestError);
    expect((e as RequestError).status).toBe(503);
    expect((e as RequestError).headers?.['Retry-After']).toBe('30');
    // Once the endpoint is back (and the Retry-After has passed) the same token is accepted: no empty key set stuck.
    issuer.setMode('ok');
    now += 31_000;
    expect(await outcome(v, `Bearer ${issuer.token('2.0')}`)).toBe('accepted');
  });

  it('answers 503 for a key set without keys', async () => {
    issuer.setMode('empty');
    expect(
      await outcome(new EntraTokenVerifier(settings, { now: () => NOW }), `Bearer ${issuer.token('2.0')}`),
    ).toMatch(/^503/);
  });

  it('answers 503 when the key endpoint does not answer in time', async () => {
    issuer.hold();
    const v = new EntraTokenVerifier(settings, { now: () => NOW, fetchTimeoutInMs: 50 });
    expect(await outcome(v, `Bearer ${issuer.token('2.0')}`)).toMatch(/^503/);
    issuer.release();
  });

  it('keeps the last good keys when a refresh fails', async () => {
    let now = NOW;
    const v = new EntraTokenVerifier(settings, { now: () => now, keysTtlSeconds: 60 });
    expect(await outcome(v, `Bearer ${issuer.token('2.0')}`)).toBe('accepted');
    issuer.setMode('error500');
    now += 120_000;
    const before = issuer.keyRequests();
    expect(await outcome(v, `Bearer ${issuer.token('2.0')}`)).toBe('accepted');
    expect(issuer.keyRequests() - before).toBe(1);
  });

  it('shares one fetch between concurrent requests', async () => {
    const v = new EntraTokenVerifier(settings, { now: () => NOW });
    const before = issuer.keyRequests();
    issuer.hold();
    const all = Promise.all(Array.from({ length: 10 }, () => outcome(v, `Bearer ${issuer.token('2.0')}`)));
    // Wait for the first fetch to reach the endpoint (an event, not a time), then let it answer.
    await vi.waitFor(() => expect(issuer.keyRequests() - before).toBe(1));
    issuer.release();
    expect(await all).toEqual(Array(10).fill('accepted'));
    expect(issuer.keyRequests() - before).toBe(1);
  });

  it('refetches keys for an unknown key id at most once a minute', async () => {
    let now = NOW;
    const v = new EntraTokenVerifier(settings, { now: () => now });
    await v.verify(`Bearer ${issuer.token('2.0')}`);
    const before = issuer.keyRequests();
    for (let i = 0; i < 5; i++) await outcome(v, `Bearer ${issuer.token('2.0', {}, { kid: `rolled-${i}` })}`);
    expect(issuer.keyRequests() - before).toBe(0);
    now += 61_000;
    expect(await outcome(v, `Bearer ${issuer.token('2.0', {}, { kid: 'rolled-later' })}`)).toMatch(/^401/);
    expect(issuer.keyRequests() - before).toBe(1);
  });
});
