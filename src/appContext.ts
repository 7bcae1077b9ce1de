import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { NetworkWatcherGateway } from './azure/networkWatcherGateway.js';
import type { PollDeps } from './captures/pollCaptures.js';
import { CaptureFiles } from './captures/CaptureFiles.js';
import { CaptureReports } from './report/CaptureReports.js';
import { configWarnings, loadConfig } from './config.js';
import { CaptureLedger } from './ledger/CaptureLedger.js';
import { redactingLogger, type Logger } from './logger.js';
import { registerSecret } from './redact.js';
import type { RingTagGateway } from './azure/ringTagGateway.js';
import { discoveredRingWanted } from './rings/discoveredRingWanted.js';
import { LedgerRingDirectory } from './rings/LedgerRingDirectory.js';
import { EntraTokenVerifier } from './webhook/verifyEntraToken.js';

/** Everything a function instance builds once: parsed settings, credential, ARM gateway (with its caches), ledger. */
export interface AppContext extends PollDeps {
  verifier?: EntraTokenVerifier;
  /** Ring tags and the subscriptions they are listed in (the same client as `gateway`). */
  ringTags: RingTagGateway;
  /** Creates the ledger table once (a failure is retried on the next call). */
  ensureReady(): Promise<void>;
}

/** Options for {@link createAppContext}. */
export interface CreateAppContextOptions {
  credential?: TokenCredential;
  logger?: Logger;
  now?: () => number;
}

/**
 * Builds the app's context from its settings (throws a `ConfigError` naming every bad setting). The credential is
 * `DefaultAzureCredential`: the managed identity in Azure, the emulator's identity endpoint in the sandbox.
 */
export function createAppContext(
  env: Record<string, string | undefined>,
  options: CreateAppContextOptions = {},
): AppContext {
  const config = loadConfig(env);
  const credential = options.credential ?? new DefaultAzureCredential();
  const now = options.now;
  const ledger = CaptureLedger.fromConfig(config.ledger, credential, {
    ...(now ? { now: () => new Date(now()) } : {}),
    // The fast path's budget per ledger call: a stalled Table service answers 503 within Azure Monitor's 10 s.
    callTimeoutInMs: config.fastPathTimeoutSeconds * 1000,
  });
  // The identity endpoint's header value is a credential an SDK error may quote: every sink redacts it.
  registerSecret(env.IDENTITY_HEADER);
  registerSecret(env.MSI_SECRET);
  const logger = redactingLogger(options.logger ?? console);
  for (const warning of configWarnings(config)) logger.warn(warning);
  const gateway = new NetworkWatcherGateway(credential, config.armEndpoint, {
    now: options.now,
    networkWatcherResourceGroup: config.networkWatcherResourceGroup,
  });
  return {
    config,
    ledger,
    gateway,
    ringTags: gateway,
    logger,
    now: options.now,
    // Storage checks a link's expiry against real time: the files and reports keep the wall clock, never a test's offset.
    files: new CaptureFiles(config, credential),
    reports: new CaptureReports(config, credential),
    ringWanted: discoveredRingWanted(config, gateway, { logger, now: options.now }),
    rings: new LedgerRingDirectory(ledger),
    verifier: config.secureWebhook
      ? new EntraTokenVerifier(config.secureWebhook, { now: options.now })
      : undefined,
    ensureReady: retryingOnce(() => ledger.ensureTable()),
  };
}

let shared: AppContext | undefined;

/**
 * The app context of this function instance, built on first use from the app settings and shared by the webhook
 * and the poller (one set of ARM caches and budget queues). Bad settings throw every time until they are fixed.
 */
export function sharedAppContext(env: Record<string, string | undefined>): AppContext {
  shared ??= createAppContext(env);
  return shared;
}

/** Memoises a successful async step; a failed one runs again on the next call. */
function retryingOnce(step: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= step().catch((e: unknown) => {
      done = undefined;
      throw e;
    });
    return done;
  };
}
