import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  firedMetricAlert as harnessAlert,
  startAppHarness,
  type AppHarness,
} from '../../support/appHarness.js';
import { startOpenIdIssuer, type OpenIdIssuer } from '../../support/openIdIssuer.js';
import { startSandbox, SANDBOX_SUBSCRIPTION_ID, type Sandbox } from '../../sandbox/index.js';
import { firedMetricAlert } from '../../support/alertPayloads.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const APP_ID_URI = 'api://alert-capture-webhook';
const CLIENT_ID = '3f0e5c2a-8d41-4b7e-9a65-1c2d3e4f5a6b';
const AZNS_APP_ID = '461e8683-5575-4561-ac7f-899cc907d62a';
const secureSettings = (issuer: OpenIdIssuer) => ({
  SECURE_WEBHOOK_TENANT_ID: TENANT,
  SECURE_WEBHOOK_AUDIENCE: APP_ID_URI,
  SECURE_WEBHOOK_CLIENT_ID: CLIENT_ID,
  SECURE_WEBHOOK_AUTHORITY_HOST: issuer.url,
});

describe('secure webhook through the sandbox (the runner, the app in its own process, a loopback issuer)', () => {
  let issuer: OpenIdIssuer;
  let sandbox: Sandbox;
  let n = 0;
  const vm = () =>
    `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}/resourceGroups/sandbox-rg/providers/Microsoft.Compute/virtualMachines/vm-secure-${++n}`;

  beforeAll(async () => {
    issuer = await startOpenIdIssuer({
      tenantId: TENANT,
      applicationIdUri: APP_ID_URI,
      clientId: CLIENT_ID,
      callerAppId: AZNS_APP_ID,
      now: () => Date.now(),
    });
    sandbox = await startSandbox({ env: secureSettings(issuer), writeFile: false });
  }, 60_000);
  afterAll(async () => {
    await sandbox?.stop();
    await issuer?.stop();
  });

  async function post(token: string | undefined): Promise<{ status: number; body: Record<string, unknown> }> {
    const target = vm();
    sandbox.emulator.registerVm({ id: target, location: 'westeurope' });
    const res = await fetch(sandbox.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-functions-key': sandbox.functionKey,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(firedMetricAlert(target)),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('accepts a v2 token with the client-id audience and the role (the capture starts)', async () => {
    const res = await post(issuer.token('2.0'));
    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('started');
  });

  it('accepts a v1 token for the Application ID URI', async () => {
    expect((await post(issuer.token('1.0'))).status).toBe(202);
  });

  it.each([
    ['no token', () => undefined],
    ['a token without the role', () => issuer.token('2.0', { roles: [] })],
    ['a token from another app', () => issuer.token('2.0', { azp: '00000000-1111-2222-3333-444444444444' })],
    [
      'a token from another tenant',
      () => issuer.token('2.0', { tid: '22222222-3333-4444-5555-666666666666' }),
    ],
    ['alg: none', () => issuer.token('2.0', {}, { alg: 'none' })],
    ['HS256 over the public key', () => issuer.token('2.0', {}, { alg: 'HS256' })],
    ['an expired token', () => issuer.token('2.0', { exp: Math.floor(Date.now() / 1000) - 3600 })],
    ['a wrong audience', () => issuer.token('2.0', { aud: 'api://someone-else' })],
  ])('answers 401 to %s, and starts nothing', async (_what, make) => {
    const before = sandbox.emulator.captures().length;
    const res = await post(make());
    expect(res.status).toBe(401);
    expect((res.body.error as { code?: string } | undefined)?.code).toBe('InvalidAuthenticationToken');
    expect(sandbox.emulator.captures()).toHaveLength(before);
  });
});

describe('secure webhook when the key endpoint fails', () => {
  let issuer: OpenIdIssuer;
  let h: AppHarness;
  beforeAll(async () => {
    issuer = await startOpenIdIssuer({
      tenantId: TENANT,
      applicationIdUri: APP_ID_URI,
      clientId: CLIENT_ID,
      callerAppId: AZNS_APP_ID,
      now: () => Date.now(),
    });
    h = await startAppHarness({ settings: secureSettings(issuer) });
  });
  afterAll(async () => {
    await h?.stop();
    await issuer?.stop();
  });

  it('answers 503 with Retry-After to a key endpoint answering 500, records nothing, and recovers', async () => {
    const target = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/vm-keys`;
    h.emulator.registerVm({ id: target, location: 'eastus' });
    issuer.setMode('error500');
    const alert = harnessAlert(target);
    const res = await h.post(alert, { headers: { authorization: `Bearer ${issuer.token('2.0')}` } });
    expect(res.status).toBe(503);
    expect(Number(res.headers['Retry-After'])).toBeGreaterThan(0);
    expect(res.body.error?.code).toBe('SigningKeysUnavailable');
    expect(h.emulator.captures()).toEqual([]);

    // Azure Monitor retries the 503; after Retry-After the keys are fetched again and the alert goes through.
    issuer.setMode('ok');
    h.advanceAppClock(Number(res.headers['Retry-After']) + 1);
    const retried = await h.post(alert, { headers: { authorization: `Bearer ${issuer.token('2.0')}` } });
    expect(retried.status).toBe(202);
  });
});
