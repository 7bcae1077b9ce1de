import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  firedMetricAlert,
  startAppHarness,
  vmId,
  type AppHarness,
  type PostResult,
} from '../../support/appHarness.js';
import { ledgerRecords, resetApp, unreachableLedgerConnectionString } from './webhookTestSupport.js';

/**
 * Every error status of the webhook: an ARM-style body naming the problem, and nothing created (no capture, no ARM
 * call, no ledger record). A missing function key (401) is the host's job: test/integration/runner covers it.
 */

const VM = vmId('web-01');

let h: AppHarness;
beforeAll(async () => {
  h = await startAppHarness();
});
afterAll(() => h.stop());
beforeEach(() => {
  resetApp(h);
  h.emulator.registerVm({ id: VM, location: 'eastus' });
});

async function expectNothingCreated(): Promise<void> {
  expect(h.emulator.requests()).toEqual([]);
  expect(h.emulator.captures()).toEqual([]);
  expect(await ledgerRecords(h)).toEqual([]);
}

function expectArmError(res: PostResult, status: number, code: string): string {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.body.outcome).toBeUndefined();
  expect(res.body.error?.code).toBe(code);
  expect(typeof res.body.error?.message).toBe('string');
  return res.body.error?.message ?? '';
}

describe('415', () => {
  it('refuses a text/plain body, naming the content type found', async () => {
    const res = await h.post(undefined, {
      headers: { 'content-type': 'text/plain' },
      rawBody: JSON.stringify(firedMetricAlert(VM)),
    });

    expect(expectArmError(res, 415, 'UnsupportedMediaType')).toContain('found "text/plain"');
    await expectNothingCreated();
  });
});

describe('413', () => {
  it('refuses a body over 320 KiB, naming the limit', async () => {
    const alert = firedMetricAlert(VM);
    alert.data.essentials.description = 'x'.repeat(330 * 1024);

    const res = await h.post(alert);

    expect(expectArmError(res, 413, 'PayloadTooLarge')).toContain(`at most ${320 * 1024} bytes`);
    await expectNothingCreated();
  });
});

describe('400', () => {
  it('refuses malformed JSON', async () => {
    const res = await h.post(undefined, {
      rawBody: '{"schemaId": "azureMonitorCommonAlertSchema", "data": ',
    });

    expect(expectArmError(res, 400, 'InvalidJson')).toContain('not valid JSON');
    await expectNothingCreated();
  });

  it('refuses an unknown schema with the zod issues in error.details', async () => {
    const res = await h.post({ schemaId: 'SomethingElse', data: { alertId: 1 } });

    expect(expectArmError(res, 400, 'InvalidAlertPayload')).toContain('common alert schema');
    const details = res.body.error?.details ?? [];
    expect(details.length).toBeGreaterThan(0);
    for (const d of details) {
      expect(d.code).toBe('InvalidField');
      expect(d.message.length).toBeGreaterThan(0);
      expect(typeof d.target).toBe('string');
    }
    await expectNothingCreated();
  });
});

describe('403', () => {
  it('refuses a VM outside ALLOWED_SCOPES, naming the target', async () => {
    const outside =
      '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-01';
    h.emulator.registerVm({ id: outside, location: 'eastus' });

    const res = await h.post(firedMetricAlert(outside));

    const message = expectArmError(res, 403, 'ScopeNotAllowed');
    expect(message).toContain(outside.toLowerCase());
    expect(message).toContain('ALLOWED_SCOPES');
    await expectNothingCreated();
  });

  it('refuses a VM in another resource group when ALLOWED_SCOPES is a resource group', async () => {
    resetApp(h, {
      ALLOWED_SCOPES: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/app-rg',
    });
    const other = vmId('web-01', 'other-rg');
    h.emulator.registerVm({ id: other, location: 'eastus' });

    const res = await h.post(firedMetricAlert(other));

    expectArmError(res, 403, 'ScopeNotAllowed');
    await expectNothingCreated();
  });
});

describe('503', () => {
  it('answers 503 with Retry-After when the ledger is unreachable, so Azure Monitor retries', async () => {
    resetApp(h, { LEDGER_STORAGE_CONNECTION_STRING: await unreachableLedgerConnectionString() });

    const res = await h.post(firedMetricAlert(VM));

    expect(expectArmError(res, 503, 'LedgerUnavailable')).toContain('not recorded');
    expect(Number(res.headers['Retry-After'])).toBeGreaterThan(0);
    expect(h.emulator.requests()).toEqual([]);
    expect(h.emulator.captures()).toEqual([]);
  });
});

describe('401 (secure webhook)', () => {
  beforeEach(() => {
    resetApp(h, {
      SECURE_WEBHOOK_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      SECURE_WEBHOOK_AUDIENCE: 'api://alert-capture',
    });
    h.emulator.registerVm({ id: VM, location: 'eastus' });
  });

  it('refuses an alert without an Entra ID token', async () => {
    const res = await h.post(firedMetricAlert(VM));

    expect(expectArmError(res, 401, 'InvalidAuthenticationToken')).toContain('Authorization: Bearer');
    await expectNothingCreated();
  });

  it('refuses an alert with a token that is not a signed JWT', async () => {
    const res = await h.post(firedMetricAlert(VM), {
      headers: { authorization: 'Bearer e30.e30.c2ln' },
    });

    expect(expectArmError(res, 401, 'InvalidAuthenticationToken')).toContain('RS256');
    await expectNothingCreated();
  });
});
