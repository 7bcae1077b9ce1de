import { randomUUID } from 'node:crypto';
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { inject } from 'vitest';
import { createAlertWebhookHandler } from '../../functions/alertWebhook.js';
import { createCapturePollerHandler } from '../../functions/capturePoller.js';
import { createAppContext, type AppContext } from '../../src/appContext.js';
import { silentLogger } from '../../src/logger.js';
import { SUB } from './alertPayloads.js';
import { emulatorCredential, startEmulator } from '../emulator/index.js';
import type { Emulator, EmulatorOptions } from '../emulator/types.js';
import { startNotificationReceiver, type NotificationReceiver } from '../sandbox/notificationReceiver.js';

export { SUB, SUB_ID, firedMetricAlert, vmId } from './alertPayloads.js';

/** A webhook answer as a caller sees it. */
export interface PostResult {
  status: number;
  headers: Record<string, string>;
  body: {
    outcome?: string;
    alertId?: string;
    captureName?: string;
    reason?: string;
    error?: {
      code: string;
      message: string;
      details?: Array<{ code: string; message: string; target?: string }>;
    };
  };
}

/** The app hosted in-process over a real emulator, Azurite and notification receiver. */
export interface AppHarness {
  emulator: Emulator;
  receiver: NotificationReceiver;
  settings: Record<string, string>;
  /** The app context (ledger, gateway...) built from `settings`. */
  ctx: AppContext;
  /** Posts to the webhook handler with a real `HttpRequest` and `InvocationContext`. */
  post(
    body: unknown,
    init?: { headers?: Record<string, string>; rawBody?: string | Uint8Array },
  ): Promise<PostResult>;
  /** Runs one poller tick with a real `InvocationContext` and `Timer`. */
  tick(): Promise<void>;
  /** Rebuilds the app context (fresh caches), as a new function instance would. */
  restart(settings?: Record<string, string>): void;
  /**
   * Moves the app's clock (retry times, cache lifetimes) forward, so the poller picks up a record whose
   * `nextAttemptAt` is in the future without sleeping. The ledger's timestamps keep the wall clock.
   */
  advanceAppClock(seconds: number): void;
  stop(): Promise<void>;
}

/** Options for {@link startAppHarness}. */
export interface StartAppHarnessOptions {
  settings?: Record<string, string>;
  emulator?: EmulatorOptions;
}

/**
 * Starts a Network Watcher emulator and a notification receiver, and builds the app (webhook and poller handlers)
 * over them and the run's Azurite, each harness with its own ledger table.
 */
export async function startAppHarness(options: StartAppHarnessOptions = {}): Promise<AppHarness> {
  const emulator = await startEmulator({
    tls: inject('emulatorTls'),
    blobConnectionString: inject('azuriteConnectionString'),
    timeScale: 1,
    // Instant operations and uploads unless a test asks for Azure's timing (Retry-After 10 s, late files): most
    // tests are about something else, and the realistic-timing tests set these themselves.
    retryAfterSeconds: 0,
    uploadDelaySeconds: 0,
    ...options.emulator,
  });
  const receiver = await startNotificationReceiver();
  const credential = emulatorCredential(emulator);
  let settings: Record<string, string> = {};
  let ctx!: AppContext;
  let clockOffsetInMs = 0;
  const now = () => Date.now() + clockOffsetInMs;
  const build = (overrides: Record<string, string> = {}) => {
    settings = {
      CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/captures-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
      ALLOWED_SCOPES: SUB,
      ARM_ENDPOINT: emulator.url,
      LEDGER_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      LEDGER_TABLE_NAME:
        settings.LEDGER_TABLE_NAME ?? `captures${randomUUID().replace(/-/g, '').slice(0, 16)}`,
      NOTIFY_WEBHOOK_URL: receiver.url,
      CAPTURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      ...options.settings,
      ...overrides,
    };
    ctx = createAppContext(settings, { credential, logger: silentLogger, now });
  };
  build();
  // Real Azure and the app share one clock: moving the emulated clock moves the app's too, so a capture that
  // reached its time limit in the emulator is also due for the app's poller.
  const advanceEmulatorClock = emulator.advanceClock.bind(emulator);
  emulator.advanceClock = async (seconds: number) => {
    clockOffsetInMs += seconds * 1000;
    await advanceEmulatorClock(seconds);
  };

  const webhook = createAlertWebhookHandler(() => ctx);
  const poller = createCapturePollerHandler(() => ctx);
  const invocation = (functionName: string) =>
    new InvocationContext({ invocationId: randomUUID(), functionName, logHandler: () => {} });

  return {
    emulator,
    receiver,
    get settings() {
      return settings;
    },
    get ctx() {
      return ctx;
    },
    async post(body, init = {}) {
      const raw = init.rawBody ?? JSON.stringify(body);
      const request = new HttpRequest({
        method: 'POST',
        url: 'http://127.0.0.1/api/alertWebhook',
        headers: { 'content-type': 'application/json', ...init.headers },
        body: typeof raw === 'string' ? { string: raw } : { bytes: raw },
      });
      const response = await webhook(request, invocation('alertWebhook'));
      const headers = Object.fromEntries(Object.entries((response.headers ?? {}) as Record<string, string>));
      return {
        status: response.status ?? 200,
        headers,
        body: (response.jsonBody ?? {}) as PostResult['body'],
      };
    },
    async tick() {
      const timer: Timer = {
        isPastDue: false,
        schedule: { adjustForDST: false },
        scheduleStatus: undefined as never,
      };
      await poller(timer, invocation('capturePoller'));
    },
    restart(overrides) {
      build(overrides);
    },
    advanceAppClock(seconds) {
      clockOffsetInMs += seconds * 1000;
    },
    async stop() {
      await Promise.all([emulator.stop(), receiver.stop()]);
    },
  };
}
