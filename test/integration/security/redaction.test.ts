import { TableClient } from '@azure/data-tables';
import { RestError } from '@azure/core-rest-pipeline';
import { describe, expect, inject, it } from 'vitest';
import type { NetworkWatcherGateway } from '../../../src/azure/networkWatcherGateway.js';
import { firedMetricAlert, vmId, type AppHarness, type PostResult } from '../../support/appHarness.js';
import {
  PAST_TIME_LIMIT_SECONDS,
  REGION,
  startPollerHarness,
  webhookMessages,
} from '../poller/pollerSupport.js';

// One of each secret the app may meet in an SDK message: a SAS signature, a bearer token, an account key, a
// function key, a connection string's key; the identity header's value is added per harness.
const SAS_SIG = 'SASSIGNATURE0123456789abcdef';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3N0b3JhZ2UifQ.c2lnbmF0dXJlMDEyMzQ1Njc4OQ';
const ACCOUNT_KEY = 'QUNDT1VOVEtFWTAxMjM0NTY3ODk=';
const FUNCTION_KEY = 'FUNCTIONKEY0123456789abcdef';
const secretMessage = (identityHeader: string) =>
  [
    'upstream said:',
    `GET https://st.blob.core.windows.net/network-watcher-logs/a.cap?sv=2022-11-02&sig=${SAS_SIG}`,
    `Authorization: Bearer ${JWT}`,
    `DefaultEndpointsProtocol=https;AccountName=st;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net`,
    `https://func.azurewebsites.net/api/alertWebhook?code=${FUNCTION_KEY}`,
    `X-IDENTITY-HEADER: ${identityHeader}`,
    `raw token ${JWT} and header value ${identityHeader}`,
  ].join(' ');

type Step = 'getLocation' | 'createCapture' | 'queryStatus' | 'deleteCapture' | 'stopCapture';

/**
 * The real gateway, except that the named step of the named VM fails with a secret-bearing message: an in-memory
 * stand-in for our own interface (the emulator's faults carry fixed messages).
 */
function failingGateway(
  h: AppHarness,
  failures: Map<string, { step: Step; status: number }>,
  message: string,
) {
  const real = h.ctx.gateway;
  const gateway = Object.create(real) as NetworkWatcherGateway;
  const fail = (key: string, step: Step) => {
    const f = failures.get(key.toLowerCase());
    if (f?.step === step) throw new RestError(message, { statusCode: f.status, code: 'Oops' });
  };
  gateway.getLocation = (id, o) => (fail(id, 'getLocation'), real.getLocation(id, o));
  gateway.createCapture = (w, name, p, o) => (
    fail(p.target ?? '', 'createCapture'),
    real.createCapture(w, name, p, o)
  );
  for (const step of ['queryStatus', 'deleteCapture', 'stopCapture'] as const) {
    const original = real[step].bind(real) as (w: never, name: string) => Promise<never>;
    (gateway as unknown as Record<string, unknown>)[step] = async (w: never, name: string) => {
      for (const [vm, f] of failures)
        if (f.step === step && name.includes(vm.split('/').pop() ?? '')) fail(vm, step);
      return original(w, name);
    };
  }
  h.ctx.gateway = gateway;
}

async function rawLedger(h: AppHarness): Promise<string> {
  const client = TableClient.fromConnectionString(
    inject('azuriteConnectionString'),
    h.settings.LEDGER_TABLE_NAME as string,
    { allowInsecureConnection: true },
  );
  const entities: unknown[] = [];
  for await (const e of client.listEntities()) entities.push(e);
  return JSON.stringify(entities);
}

describe('one redaction at the sinks (issue 10)', () => {
  it('keeps every secret of a failing SDK message out of the whole log, the ledger, the answers and the messages', async () => {
    const lines: string[] = [];
    const h = await startPollerHarness({
      log: (line) => lines.push(line),
      settings: { NOTIFY_INCLUDE_SAS_LINK: 'true', STOP_ON_RESOLVE: 'true' },
    });
    // The platform sets IDENTITY_HEADER in the app's environment (App Service managed identity).
    h.restart({ ...h.settings, IDENTITY_HEADER: h.emulator.identityHeader });
    const message = secretMessage(h.emulator.identityHeader);
    const answers: PostResult[] = [];
    const vms = {
      transientStart: vmId('redact-a'), // fast path and poller: transient failure, record stays pending
      refusedStart: vmId('redact-b'), // the PUT is refused: the record fails and is notified
      statusFails: vmId('redact-c'), // the poller cannot read the status (non-transient)
      cleanupFails: vmId('redact-d'), // finished; summary, link and delete all fail
      stopFails: vmId('redact-e'), // resolved: stopping it fails, and the answer says why
    };
    const failures = new Map<string, { step: Step; status: number }>([
      [vms.transientStart.toLowerCase(), { step: 'getLocation', status: 503 }],
      [vms.refusedStart.toLowerCase(), { step: 'createCapture', status: 400 }],
      [vms.statusFails.toLowerCase(), { step: 'queryStatus', status: 400 }],
      [vms.cleanupFails.toLowerCase(), { step: 'deleteCapture', status: 400 }],
      [vms.stopFails.toLowerCase(), { step: 'stopCapture', status: 400 }],
    ]);
    failingGateway(h, failures, message);
    const realFiles = h.ctx.files;
    h.ctx.files = {
      summarize: () => Promise.reject(new Error(message)),
      link: () => Promise.reject(new Error(message)),
    };
    for (const vm of Object.values(vms)) {
      h.emulator.registerVm({ id: vm, location: REGION });
      answers.push(await h.post(firedMetricAlert(vm)));
    }
    await h.emulator.advanceClock(5);
    const fired = answers[answers.length - 1];
    answers.push(
      await h.post(
        firedMetricAlert(vms.stopFails, { alertId: fired?.body.alertId, monitorCondition: 'Resolved' }),
      ),
    );
    expect(answers[answers.length - 1]?.body.reason).toContain('upstream said');
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    h.advanceAppClock(3600);
    await h.tick();
    await h.tick();
    h.ctx.files = realFiles;

    const everything = [
      lines.join('\n'),
      await rawLedger(h),
      JSON.stringify(answers),
      JSON.stringify(webhookMessages(h)),
    ].join('\n');
    // The error paths ran: their (redacted) words are there.
    expect(lines.join('\n')).toContain('upstream said');
    expect(await rawLedger(h)).toContain('upstream said');
    for (const secret of [
      SAS_SIG,
      JWT,
      JWT.split('.')[2] ?? '',
      ACCOUNT_KEY,
      FUNCTION_KEY,
      h.emulator.identityHeader,
    ]) {
      expect(everything).not.toContain(secret);
    }
  });
});
