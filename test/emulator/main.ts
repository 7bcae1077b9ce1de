/**
 * CLI: starts the Network Watcher emulator and prints one JSON line `{ url, caFile, identityEndpoint,
 * identityHeader, clientId }`; stops on SIGINT/SIGTERM. Options come from flags or environment variables:
 * --port / NW_EMULATOR_PORT, --blob-connection-string / NW_EMULATOR_BLOB_CONNECTION_STRING,
 * --time-scale / NW_EMULATOR_TIME_SCALE, --latency-ms / NW_EMULATOR_LATENCY_MS,
 * --session-limit / NW_EMULATOR_SESSION_LIMIT, --agent-install-seconds / NW_EMULATOR_AGENT_INSTALL_SECONDS,
 * --page-size / NW_EMULATOR_PAGE_SIZE, --client-id / NW_EMULATOR_CLIENT_ID,
 * --retry-after-seconds / NW_EMULATOR_RETRY_AFTER_SECONDS, --upload-delay-seconds / NW_EMULATOR_UPLOAD_DELAY_SECONDS,
 * and the assumptions about continuous captures and tags (README "Assumptions"):
 * --ring-blob-layout / NW_EMULATOR_RING_BLOB_LAYOUT (captureFolder | firstFileSiblings),
 * --ring-delete-when / NW_EMULATOR_RING_DELETE_WHEN (newFileStarts | newFileUploaded),
 * --ring-upload-delay-seconds / NW_EMULATOR_RING_UPLOAD_DELAY_SECONDS,
 * --continuous-false / NW_EMULATOR_CONTINUOUS_FALSE (singleFile | stopAtFileCount),
 * --ring-session-end / NW_EMULATOR_RING_SESSION_END (sessionTimeLimit | shorterOfBoth),
 * --tag-value-match / NW_EMULATOR_TAG_VALUE_MATCH (caseSensitive | caseInsensitive).
 * A bad value stops it with exit code 2, naming the flag. Run with `npx tsx test/emulator/main.ts`.
 */
import { parseArgs } from 'node:util';
import {
  CONTINUOUS_FALSE,
  RING_DELETE_WHEN,
  RING_LAYOUTS,
  RING_SESSION_END,
  startEmulator,
  TAG_VALUE_MATCH,
} from './startEmulator.js';
import type { EmulatorOptions } from './types.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'blob-connection-string': { type: 'string' },
    'time-scale': { type: 'string' },
    'latency-ms': { type: 'string' },
    'session-limit': { type: 'string' },
    'agent-install-seconds': { type: 'string' },
    'page-size': { type: 'string' },
    'client-id': { type: 'string' },
    'retry-after-seconds': { type: 'string' },
    'upload-delay-seconds': { type: 'string' },
    'ring-blob-layout': { type: 'string' },
    'ring-delete-when': { type: 'string' },
    'ring-upload-delay-seconds': { type: 'string' },
    'continuous-false': { type: 'string' },
    'ring-session-end': { type: 'string' },
    'tag-value-match': { type: 'string' },
  },
});

function setting(flag: keyof typeof values, env: string): string | undefined {
  const value = values[flag] ?? process.env[env];
  return value === undefined || value === '' ? undefined : value;
}

function numberSetting(flag: keyof typeof values, env: string): number | undefined {
  const text = setting(flag, env);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) {
    console.error(`--${flag} (${env}) must be a number, found "${text}"`);
    process.exit(2);
  }
  return value;
}

function choiceSetting<T extends string>(
  flag: keyof typeof values,
  env: string,
  allowed: readonly T[],
): T | undefined {
  const text = setting(flag, env);
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) {
    console.error(`--${flag} (${env}) must be ${allowed.join(' or ')}, found "${text}"`);
    process.exit(2);
  }
  return text as T;
}

const options: EmulatorOptions = {};
const port = numberSetting('port', 'NW_EMULATOR_PORT');
if (port !== undefined) options.port = port;
const blob = setting('blob-connection-string', 'NW_EMULATOR_BLOB_CONNECTION_STRING');
if (blob !== undefined) options.blobConnectionString = blob;
const timeScale = numberSetting('time-scale', 'NW_EMULATOR_TIME_SCALE');
if (timeScale !== undefined) options.timeScale = timeScale;
const latency = numberSetting('latency-ms', 'NW_EMULATOR_LATENCY_MS');
if (latency !== undefined) options.latencyInMs = latency;
const sessionLimit = numberSetting('session-limit', 'NW_EMULATOR_SESSION_LIMIT');
if (sessionLimit !== undefined) options.sessionLimit = sessionLimit;
const agent = numberSetting('agent-install-seconds', 'NW_EMULATOR_AGENT_INSTALL_SECONDS');
if (agent !== undefined) options.agentInstallSeconds = agent;
const pageSize = numberSetting('page-size', 'NW_EMULATOR_PAGE_SIZE');
if (pageSize !== undefined) options.pageSize = pageSize;
const retryAfter = numberSetting('retry-after-seconds', 'NW_EMULATOR_RETRY_AFTER_SECONDS');
if (retryAfter !== undefined) options.retryAfterSeconds = retryAfter;
const uploadDelay = numberSetting('upload-delay-seconds', 'NW_EMULATOR_UPLOAD_DELAY_SECONDS');
if (uploadDelay !== undefined) options.uploadDelaySeconds = uploadDelay;
const ringBlobLayout = choiceSetting('ring-blob-layout', 'NW_EMULATOR_RING_BLOB_LAYOUT', RING_LAYOUTS);
if (ringBlobLayout !== undefined) options.ringBlobLayout = ringBlobLayout;
const ringDeleteWhen = choiceSetting('ring-delete-when', 'NW_EMULATOR_RING_DELETE_WHEN', RING_DELETE_WHEN);
if (ringDeleteWhen !== undefined) options.ringDeleteWhen = ringDeleteWhen;
const ringUploadDelay = numberSetting('ring-upload-delay-seconds', 'NW_EMULATOR_RING_UPLOAD_DELAY_SECONDS');
if (ringUploadDelay !== undefined) options.ringUploadDelaySeconds = ringUploadDelay;
const continuousFalse = choiceSetting('continuous-false', 'NW_EMULATOR_CONTINUOUS_FALSE', CONTINUOUS_FALSE);
if (continuousFalse !== undefined) options.continuousFalse = continuousFalse;
const ringSessionEnd = choiceSetting('ring-session-end', 'NW_EMULATOR_RING_SESSION_END', RING_SESSION_END);
if (ringSessionEnd !== undefined) options.ringSessionEnd = ringSessionEnd;
const tagValueMatch = choiceSetting('tag-value-match', 'NW_EMULATOR_TAG_VALUE_MATCH', TAG_VALUE_MATCH);
if (tagValueMatch !== undefined) options.tagValueMatch = tagValueMatch;
const clientId = setting('client-id', 'NW_EMULATOR_CLIENT_ID');
if (clientId !== undefined) options.clientId = clientId;

const emulator = await startEmulator(options);
console.log(
  JSON.stringify({
    url: emulator.url,
    caFile: emulator.caFile,
    identityEndpoint: emulator.identityEndpoint,
    identityHeader: emulator.identityHeader,
    clientId: emulator.clientId,
  }),
);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  emulator.stop().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`Stopping the emulator failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
