import { z } from 'zod';
import { isWithinAnyScope } from './azure/armId.js';
import { ringSessionSeconds } from './captures/ringCaptureParameters.js';
import { ConfigError } from './errors.js';

/**
 * Every app setting alert-capture reads, in one schema. Nothing else in the app reads `process.env`:
 * the parsed {@link Config} is passed down.
 *
 * Names follow DESIGN.md; durations say their unit (`_SECONDS`).
 */

const ARM_ID_SUBSCRIPTION = /^\/subscriptions\/[0-9a-f-]{36}$/i;
const ARM_ID_RESOURCE_GROUP = /^\/subscriptions\/[0-9a-f-]{36}\/resourcegroups\/[-\w._()]{1,90}$/i;
const STORAGE_ACCOUNT_ID =
  /^\/subscriptions\/[0-9a-f-]{36}\/resourcegroups\/[-\w._()]{1,90}\/providers\/microsoft\.storage\/storageaccounts\/[a-z0-9]{3,24}$/i;

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'TRUE', 'FALSE', 'True', 'False'], {
      error: 'expected "true" or "false"',
    })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v.toLowerCase() === 'true' || v === '1');

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((v, ctx) => {
      const n = Number(v);
      if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

/** Notification URLs carry their secret in the path or query: https, or http on loopback only (local receivers). */
const httpsUrl = z
  .url({ protocol: /^https?$/, error: 'expected an https URL' })
  .refine(
    (v) => v.startsWith('https:') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?([/?#]|$)/.test(v),
    {
      error: 'expected an https URL (plain http only to 127.0.0.1 or localhost)',
    },
  )
  .optional();

/** An OpenID authority or issuer host: https, or http on loopback only (a local issuer in tests). No path. */
const authorityUrl = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .pipe(
      z
        .string()
        .regex(/^(https:\/\/[a-z0-9.-]+(:\d+)?|http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)\/?$/i, {
          error: 'expected an https origin such as https://login.microsoftonline.com (no path)',
        }),
    )
    .transform((v) => v.replace(/\/+$/, '').toLowerCase());

/**
 * NCRONTAB with seconds (six fields). A TimeSpan (`00:00:30`) is refused: Flex Consumption, where the app runs,
 * supports only NCRONTAB schedules for timer triggers, so the poller would never run.
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions
 */
const pollSchedule = z
  .string()
  .default('*/30 * * * * *')
  .superRefine((v, ctx) => {
    if (/^\d{1,2}(\.\d{1,2})?:\d{2}(:\d{2})?$/.test(v.trim())) {
      ctx.addIssue({
        code: 'custom',
        message:
          'a TimeSpan schedule is not supported: Flex Consumption timers need an NCRONTAB expression, e.g. "*/30 * * * * *" for every 30 s',
      });
    } else if (!/^(\S+\s+){5}\S+$/.test(v.trim())) {
      ctx.addIssue({ code: 'custom', message: 'expected a six-field NCRONTAB expression (with seconds)' });
    }
  });

/** The Network Watcher filter objects accepted in `CAPTURE_FILTERS` and in an alert's `customProperties`. */
export const captureFilterSchema = z.strictObject({
  protocol: z.enum(['TCP', 'UDP', 'Any']).optional(),
  localIPAddress: z.string().max(512).optional(),
  remoteIPAddress: z.string().max(512).optional(),
  localPort: z.string().max(512).optional(),
  remotePort: z.string().max(512).optional(),
});

/** One Network Watcher packet capture filter. */
export type CaptureFilter = z.infer<typeof captureFilterSchema>;

/** Parses a JSON array of filter objects (`CAPTURE_FILTERS`, `RING_FILTERS`). */
function parseFilters(v: string, ctx: z.RefinementCtx): CaptureFilter[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a JSON array of Network Watcher filter objects' });
    return z.NEVER;
  }
  const result = z.array(captureFilterSchema).max(10).safeParse(parsed);
  if (!result.success) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a JSON array of at most 10 filter objects with protocol/localIPAddress/remoteIPAddress/localPort/remotePort: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    });
    return z.NEVER;
  }
  return result.data;
}

const jsonFilters = z.string().default('[]').transform(parseFilters);

const scopes = z
  .string({ error: 'required: a comma-separated list of subscription or resource-group ids, or "*"' })
  .transform((v, ctx) => {
    const items = v
      .split(/[,;\s]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected at least one subscription or resource-group id, or "*"',
      });
      return z.NEVER;
    }
    for (const item of items) {
      if (item !== '*' && !ARM_ID_SUBSCRIPTION.test(item) && !ARM_ID_RESOURCE_GROUP.test(item)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected "/subscriptions/{id}" or "/subscriptions/{id}/resourceGroups/{name}" or "*", found "${item}"`,
        });
        return z.NEVER;
      }
    }
    return items.map((s) => (s === '*' ? s : s.toLowerCase().replace(/\/+$/, '')));
  });

const VM_ID =
  /^\/subscriptions\/[0-9a-f-]{36}\/resourcegroups\/[-\w._()]{1,90}\/providers\/microsoft\.compute\/virtualmachines\/[^/\s,;]{1,64}$/i;

/** `RING_VM_IDS`: VM resource ids, comma, semicolon or space separated, lower-cased (ARM ids are case-insensitive). */
const vmIds = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const items = v
      .split(/[,;\s]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = items.filter((item) => !VM_ID.test(item));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected virtual machine resource ids (/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}), found "${bad[0]}"`,
      });
      return z.NEVER;
    }
    return [...new Set(items.map((s) => s.toLowerCase()))];
  });

/** The app settings schema. Keys are the app setting names. */
export const settingsSchema = z
  .object({
    CAPTURE_STORAGE_ACCOUNT_ID: z
      .string({ error: 'required: the resource id of the storage account that receives capture files' })
      .regex(STORAGE_ACCOUNT_ID, {
        error:
          'expected /subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}',
      }),
    CAPTURE_TIME_LIMIT_SECONDS: int(300, 1, 18_000),
    CAPTURE_MAX_TIME_LIMIT_SECONDS: int(1_800, 1, 18_000),
    CAPTURE_BYTES_PER_PACKET: int(0, 0, 4_294_967_295),
    CAPTURE_TOTAL_BYTES: int(104_857_600, 1, 4_294_967_295),
    CAPTURE_FILTERS: jsonFilters,
    CAPTURE_SESSION_BUDGET: int(10, 1, 10_000),
    CAPTURE_NAME_PREFIX: z
      .string()
      .default('alertcap')
      .pipe(
        z.string().regex(/^[a-z][a-z0-9-]{0,19}$/i, {
          error: 'expected 1-20 letters, digits or "-", starting with a letter',
        }),
      ),
    ALLOWED_SCOPES: scopes,
    RING_TAG_NAME: z
      .string()
      .default('alert-capture:ring')
      .pipe(
        // Azure tag names: at most 512 characters, none of < > % & \ ? /
        z.string().regex(/^[^<>%&\\?/]{1,512}$/, { error: 'expected a tag name (no < > % & \\ ? /)' }),
      ),
    RING_TAG_VALUE: z.string().max(256, { error: 'expected at most 256 characters' }).default('on'),
    RING_VM_IDS: vmIds,
    RING_MAX_VMS: int(50, 1, 1_000),
    RING_DISCOVERY_SECONDS: int(300, 30, 86_400),
    RING_FILE_COUNT: int(10, 2, 10_000),
    RING_FILE_SIZE_BYTES: int(10_485_760, 65_536, 4_294_967_295),
    RING_BYTES_PER_PACKET: int(0, 0, 4_294_967_295),
    RING_MAX_FILE_COUNT: int(20, 2, 10_000),
    RING_MAX_FILE_SIZE_BYTES: int(104_857_600, 65_536, 4_294_967_295),
    RING_SESSION_SECONDS: int(86_400, 600, 604_800),
    RING_REARM_LEAD_SECONDS: int(300, 30, 604_799),
    RING_STATUS_CHECK_SECONDS: int(300, 60, 3_600),
    RING_FILTERS: z.string().transform(parseFilters).optional(),
    RING_WINDOW_MARGIN_SECONDS: int(60, 0, 3_600),
    RING_DEFAULT_LOOKBACK_SECONDS: int(600, 60, 86_400),
    RING_KEEP_WAIT_SECONDS: int(900, 0, 86_400),
    STOP_ON_RESOLVE: boolean(false),
    AUTO_INSTALL_AGENT: boolean(false),
    PENDING_TIMEOUT_SECONDS: int(900, 30, 86_400),
    STUCK_TIMEOUT_SECONDS: int(600, 30, 86_400),
    FAST_PATH_TIMEOUT_SECONDS: int(5, 1, 9),
    CAPTURE_POLL_SCHEDULE: pollSchedule,
    POLL_CONCURRENCY: int(8, 1, 64),
    POLL_RECORD_TIME_LIMIT_SECONDS: int(30, 5, 300),
    POLL_TICK_TIME_LIMIT_SECONDS: int(240, 10, 540),
    CAPTURE_FILE_WAIT_SECONDS: int(300, 0, 3_600),
    LEDGER_RETENTION_DAYS: int(30, 1, 3_650),
    NOTIFY_WEBHOOK_URL: httpsUrl,
    NOTIFY_TEAMS_WEBHOOK_URL: httpsUrl,
    NOTIFY_SLACK_WEBHOOK_URL: httpsUrl,
    NOTIFY_MAX_ATTEMPTS: int(10, 1, 100),
    NOTIFY_INCLUDE_SAS_LINK: boolean(false),
    SUMMARY_TIME_LIMIT_SECONDS: int(20, 1, 300),
    ARM_ENDPOINT: z
      .url({ protocol: /^https$/, error: 'expected an https URL' })
      .default('https://management.azure.com'),
    CAPTURE_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
    LOCAL_TIME_SCALE: int(1, 1, 3_600),
    LEDGER_STORAGE_ACCOUNT_NAME: z
      .string()
      .regex(/^[a-z0-9]{3,24}$/, {
        error: 'expected a storage account name (3-24 lower-case letters and digits)',
      })
      .optional(),
    LEDGER_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
    LEDGER_TABLE_NAME: z
      .string()
      .default('captures')
      .pipe(
        z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, { error: 'expected a table name (3-63 letters and digits)' })
          // "tables" is reserved by the Table service.
          .refine((v) => v.toLowerCase() !== 'tables', {
            error: 'expected a table name other than "tables"',
          }),
      ),
    STORAGE_ENDPOINT_SUFFIX: z
      .string()
      .default('core.windows.net')
      .pipe(
        z.string().regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, {
          error: "expected the cloud's storage DNS suffix, e.g. core.windows.net",
        }),
      ),
    NETWORK_WATCHER_RESOURCE_GROUP: z
      .string()
      .default('NetworkWatcherRG')
      .pipe(
        z.string().regex(/^[-\w._()]{0,89}[-\w_()]$/, {
          error: 'expected a resource group name (1-90 letters, digits, -_.() not ending in .)',
        }),
      ),
    SECURE_WEBHOOK_TENANT_ID: z.guid({ error: 'expected a tenant id (GUID)' }).optional(),
    SECURE_WEBHOOK_AUDIENCE: z.string().min(1).optional(),
    SECURE_WEBHOOK_CLIENT_ID: z.guid({ error: 'expected the application (client) id (GUID)' }).optional(),
    SECURE_WEBHOOK_ROLE: z.string().min(1).default('ActionGroupsSecureWebhook'),
    // The "AzNS AAD Webhook" app Azure Monitor action groups get tokens as:
    // https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups#secure-webhook-powershell-script
    // ($actionGroupsAppId = "461e8683-5575-4561-ac7f-899cc907d62a").
    SECURE_WEBHOOK_CALLER_APP_ID: z
      .guid({ error: 'expected an application id (GUID)' })
      .default('461e8683-5575-4561-ac7f-899cc907d62a'),
    SECURE_WEBHOOK_AUTHORITY_HOST: authorityUrl('https://login.microsoftonline.com'),
    SECURE_WEBHOOK_V1_ISSUER_HOST: authorityUrl('https://sts.windows.net'),
  })
  .superRefine((s, ctx) => {
    if (!s.LEDGER_STORAGE_ACCOUNT_NAME && !s.LEDGER_STORAGE_CONNECTION_STRING) {
      ctx.addIssue({
        code: 'custom',
        path: ['LEDGER_STORAGE_ACCOUNT_NAME'],
        message:
          'required: set LEDGER_STORAGE_ACCOUNT_NAME (managed identity) or LEDGER_STORAGE_CONNECTION_STRING',
      });
    }
    // A ring above the operator's maxima is a mistake to report, not to shrink silently: it sets the storage bound.
    if (s.RING_FILE_COUNT > s.RING_MAX_FILE_COUNT) {
      ctx.addIssue({
        code: 'custom',
        path: ['RING_FILE_COUNT'],
        message: `expected at most RING_MAX_FILE_COUNT (${s.RING_MAX_FILE_COUNT}), found ${s.RING_FILE_COUNT}`,
      });
    }
    if (s.RING_FILE_SIZE_BYTES > s.RING_MAX_FILE_SIZE_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['RING_FILE_SIZE_BYTES'],
        message: `expected at most RING_MAX_FILE_SIZE_BYTES (${s.RING_MAX_FILE_SIZE_BYTES}), found ${s.RING_FILE_SIZE_BYTES}`,
      });
    }
    // A lead as long as the session would re-arm a ring at once, every tick.
    const ringSeconds = ringSessionSeconds({ sessionTimeLimitInSeconds: s.RING_SESSION_SECONDS });
    if (s.RING_REARM_LEAD_SECONDS >= ringSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['RING_REARM_LEAD_SECONDS'],
        message: `expected less than the ring's session, min(RING_SESSION_SECONDS, 18000) = ${ringSeconds}, found ${s.RING_REARM_LEAD_SECONDS}`,
      });
    }
    // A listed ring VM the app may not capture is a mistake to report, not to skip: the operator asked for it.
    const outside = s.RING_VM_IDS.filter((id) => !isWithinAnyScope(id, s.ALLOWED_SCOPES));
    if (outside.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['RING_VM_IDS'],
        message: `expected VMs inside ALLOWED_SCOPES (${s.ALLOWED_SCOPES.join(', ')}), found "${outside[0]}"${outside.length > 1 ? ` and ${outside.length - 1} more` : ''} outside`,
      });
    }
    if (s.CAPTURE_TIME_LIMIT_SECONDS > s.CAPTURE_MAX_TIME_LIMIT_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['CAPTURE_TIME_LIMIT_SECONDS'],
        message: `expected at most CAPTURE_MAX_TIME_LIMIT_SECONDS (${s.CAPTURE_MAX_TIME_LIMIT_SECONDS}), found ${s.CAPTURE_TIME_LIMIT_SECONDS}`,
      });
    }
    const audienceSet = Boolean(s.SECURE_WEBHOOK_AUDIENCE || s.SECURE_WEBHOOK_CLIENT_ID);
    if (Boolean(s.SECURE_WEBHOOK_TENANT_ID) !== audienceSet) {
      ctx.addIssue({
        code: 'custom',
        path: [s.SECURE_WEBHOOK_TENANT_ID ? 'SECURE_WEBHOOK_AUDIENCE' : 'SECURE_WEBHOOK_TENANT_ID'],
        message:
          'expected SECURE_WEBHOOK_TENANT_ID together with SECURE_WEBHOOK_AUDIENCE (Application ID URI) and/or SECURE_WEBHOOK_CLIENT_ID',
      });
    }
  });

/** The names of every app setting the app knows. */
export const SETTING_NAMES = Object.keys(settingsSchema.shape) as readonly string[];

/** The names of the app settings that have no default and must be set. */
export const REQUIRED_SETTING_NAMES = ['CAPTURE_STORAGE_ACCOUNT_ID', 'ALLOWED_SCOPES'] as const;

type Settings = z.output<typeof settingsSchema>;

/** The parsed configuration handed to the core. */
export interface Config {
  captureStorageAccountId: string;
  /**
   * Local runs only (Azurite speaks plain http, where bearer tokens are refused): read capture files with this
   * connection string. Unset in Azure, where the identity reads them (Storage Blob Data Reader).
   */
  captureStorageConnectionString?: string;
  /**
   * Local runs only (the sandbox's emulated clock runs this many times faster than the wall clock): the poller
   * expects captures to end that much sooner. 1 in Azure.
   */
  localTimeScale: number;
  captureTimeLimitSeconds: number;
  captureMaxTimeLimitSeconds: number;
  /** 0 captures whole packets. */
  captureBytesPerPacket: number;
  captureTotalBytes: number;
  captureFilters: CaptureFilter[];
  captureSessionBudget: number;
  captureNamePrefix: string;
  /** Standing ring-buffer captures (continuous capture) on chosen VMs: the minutes before an alert. */
  ring: RingConfig;
  /** Lower-cased ids, or `['*']`. */
  allowedScopes: string[];
  stopOnResolve: boolean;
  autoInstallAgent: boolean;
  pendingTimeoutSeconds: number;
  stuckTimeoutSeconds: number;
  fastPathTimeoutSeconds: number;
  pollSchedule: string;
  pollConcurrency: number;
  /** Deadline of one record's work in a tick. */
  pollRecordTimeLimitSeconds: number;
  /** Budget of one tick, below the host's `functionTimeout` (host.json: 10 min). */
  pollTickTimeLimitSeconds: number;
  /** How long after a capture's end its file is waited for before notifying without a summary. */
  captureFileWaitSeconds: number;
  /** Records created longer ago than this (and done) are removed from the ledger. */
  ledgerRetentionDays: number;
  notify: {
    webhookUrl?: string;
    teamsWebhookUrl?: string;
    slackWebhookUrl?: string;
    maxAttempts: number;
    includeSasLink: boolean;
  };
  summaryTimeLimitSeconds: number;
  armEndpoint: string;
  ledger: { accountName?: string; connectionString?: string; tableName: string };
  /** The cloud's storage DNS suffix (`core.windows.net` in the public cloud); capture files are only read there. */
  storageEndpointSuffix: string;
  /** Where the regional Network Watchers live when they cannot be listed (Azure's default `NetworkWatcherRG`). */
  networkWatcherResourceGroup: string;
  /** Entra ID "secure webhook": absent unless `SECURE_WEBHOOK_TENANT_ID` is set. */
  secureWebhook?: SecureWebhookConfig;
}

/** What a secure webhook token must carry, and where the tenant's keys are published. */
export interface SecureWebhookConfig {
  tenantId: string;
  /** Accepted `aud` values: the Application ID URI (v1 tokens) and/or the client id (v2 tokens). */
  audiences: string[];
  /** App role the caller must hold (`roles` claim). */
  requiredRole: string;
  /** The caller's app id (`appid` in v1, `azp` in v2): Azure Monitor's "AzNS AAD Webhook" app by default. */
  callerAppId: string;
  /** OpenID authority origin, e.g. `https://login.microsoftonline.com` (sovereign clouds, a local issuer). */
  authorityHost: string;
  /** Origin of v1 token issuers, e.g. `https://sts.windows.net`. */
  v1IssuerHost: string;
}

/** Ring-buffer settings (`RING_*`). */
export interface RingConfig {
  /**
   * VMs whose tag `tagName` has the value `tagValue` keep a ring. ARM compares tag names case-insensitively and
   * values as its tag filter does (case-sensitive per its docs): see `src/rings/discoverRingVms.ts`.
   */
  tagName: string;
  tagValue: string;
  /** VMs that keep a ring whatever their tags (lower case; each inside `allowedScopes`). */
  vmIds: string[];
  /** At most this many ring VMs (the first by id order); discovery reports how many more were left out. */
  maxVms: number;
  /** The poller lists the ring tags again after this long (at once after `ring enable|disable`). */
  discoverySeconds: number;
  fileCount: number;
  fileSizeInBytes: number;
  /** Snap length; 0 keeps whole packets. */
  bytesToCapturePerPacket: number;
  /** The ring's session limit (`sessionTimeLimitInSeconds`); re-armed before it. */
  sessionTimeLimitInSeconds: number;
  /** The next generation is armed this long before the current one's session ends (`ringSessionSeconds`). */
  rearmLeadSeconds: number;
  /**
   * A running ring's status (queryStatus, an ARM write) is asked this long after its last check, besides at its
   * re-arm time and session end; between checks its liveness comes from one list (a read) of its watcher's captures.
   */
  statusCheckSeconds: number;
  /** Network Watcher filters of ring captures (`RING_FILTERS`; unset: `CAPTURE_FILTERS`, so before and after compare). */
  filters: CaptureFilter[];
  /** Kept files start this much before the alert's window. */
  windowMarginSeconds: number;
  /** The window when the alert gives no `windowStartTime`: this long before `firedDateTime`. */
  defaultLookbackSeconds: number;
  /**
   * How long after the fired time an alert goes on keeping its ring files (the last ones are still being written
   * when it fires); past it the message reports what was kept.
   */
  keepWaitSeconds: number;
}

function toConfig(s: Settings): Config {
  return {
    captureStorageAccountId: s.CAPTURE_STORAGE_ACCOUNT_ID,
    captureStorageConnectionString: s.CAPTURE_STORAGE_CONNECTION_STRING,
    localTimeScale: s.LOCAL_TIME_SCALE,
    captureTimeLimitSeconds: s.CAPTURE_TIME_LIMIT_SECONDS,
    captureMaxTimeLimitSeconds: s.CAPTURE_MAX_TIME_LIMIT_SECONDS,
    captureBytesPerPacket: s.CAPTURE_BYTES_PER_PACKET,
    captureTotalBytes: s.CAPTURE_TOTAL_BYTES,
    captureFilters: s.CAPTURE_FILTERS,
    captureSessionBudget: s.CAPTURE_SESSION_BUDGET,
    captureNamePrefix: s.CAPTURE_NAME_PREFIX.toLowerCase(),
    ring: {
      tagName: s.RING_TAG_NAME,
      tagValue: s.RING_TAG_VALUE,
      vmIds: s.RING_VM_IDS,
      maxVms: s.RING_MAX_VMS,
      discoverySeconds: s.RING_DISCOVERY_SECONDS,
      fileCount: s.RING_FILE_COUNT,
      fileSizeInBytes: s.RING_FILE_SIZE_BYTES,
      bytesToCapturePerPacket: s.RING_BYTES_PER_PACKET,
      sessionTimeLimitInSeconds: s.RING_SESSION_SECONDS,
      rearmLeadSeconds: s.RING_REARM_LEAD_SECONDS,
      statusCheckSeconds: s.RING_STATUS_CHECK_SECONDS,
      filters: s.RING_FILTERS ?? s.CAPTURE_FILTERS,
      windowMarginSeconds: s.RING_WINDOW_MARGIN_SECONDS,
      defaultLookbackSeconds: s.RING_DEFAULT_LOOKBACK_SECONDS,
      keepWaitSeconds: s.RING_KEEP_WAIT_SECONDS,
    },
    allowedScopes: s.ALLOWED_SCOPES,
    stopOnResolve: s.STOP_ON_RESOLVE,
    autoInstallAgent: s.AUTO_INSTALL_AGENT,
    pendingTimeoutSeconds: s.PENDING_TIMEOUT_SECONDS,
    stuckTimeoutSeconds: s.STUCK_TIMEOUT_SECONDS,
    fastPathTimeoutSeconds: s.FAST_PATH_TIMEOUT_SECONDS,
    pollSchedule: s.CAPTURE_POLL_SCHEDULE,
    pollConcurrency: s.POLL_CONCURRENCY,
    pollRecordTimeLimitSeconds: s.POLL_RECORD_TIME_LIMIT_SECONDS,
    pollTickTimeLimitSeconds: s.POLL_TICK_TIME_LIMIT_SECONDS,
    captureFileWaitSeconds: s.CAPTURE_FILE_WAIT_SECONDS,
    ledgerRetentionDays: s.LEDGER_RETENTION_DAYS,
    notify: {
      webhookUrl: s.NOTIFY_WEBHOOK_URL,
      teamsWebhookUrl: s.NOTIFY_TEAMS_WEBHOOK_URL,
      slackWebhookUrl: s.NOTIFY_SLACK_WEBHOOK_URL,
      maxAttempts: s.NOTIFY_MAX_ATTEMPTS,
      includeSasLink: s.NOTIFY_INCLUDE_SAS_LINK,
    },
    summaryTimeLimitSeconds: s.SUMMARY_TIME_LIMIT_SECONDS,
    armEndpoint: s.ARM_ENDPOINT.replace(/\/+$/, ''),
    ledger: {
      accountName: s.LEDGER_STORAGE_ACCOUNT_NAME,
      connectionString: s.LEDGER_STORAGE_CONNECTION_STRING,
      tableName: s.LEDGER_TABLE_NAME,
    },
    storageEndpointSuffix: s.STORAGE_ENDPOINT_SUFFIX.toLowerCase(),
    networkWatcherResourceGroup: s.NETWORK_WATCHER_RESOURCE_GROUP,
    secureWebhook: s.SECURE_WEBHOOK_TENANT_ID
      ? {
          tenantId: s.SECURE_WEBHOOK_TENANT_ID.toLowerCase(),
          audiences: [s.SECURE_WEBHOOK_AUDIENCE, s.SECURE_WEBHOOK_CLIENT_ID].filter(
            (a): a is string => a !== undefined,
          ),
          requiredRole: s.SECURE_WEBHOOK_ROLE,
          callerAppId: s.SECURE_WEBHOOK_CALLER_APP_ID.toLowerCase(),
          authorityHost: s.SECURE_WEBHOOK_AUTHORITY_HOST,
          v1IssuerHost: s.SECURE_WEBHOOK_V1_ISSUER_HOST,
        }
      : undefined,
  };
}

/**
 * Parses the app settings. Every problem is reported at once in one {@link ConfigError}, each naming the
 * setting, what was expected and what was found. Empty strings count as unset.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') input[name] = value.trim();
  }
  const result = settingsSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const name = String(i.path[0] ?? 'settings');
      const found = input[name];
      const shown =
        found === undefined ? 'unset' : /URL|CONNECTION_STRING/.test(name) ? '(hidden)' : `"${found}"`;
      return `${name}: ${i.message} (found ${shown})`;
    });
    throw new ConfigError(problems);
  }
  return toConfig(result.data);
}

/**
 * Just the poller's schedule, read when the function registers (before the rest of the settings are needed): other
 * bad settings must not change when the poller runs, and a bad schedule falls back to the default (the poller then
 * reports the settings problem on its first tick).
 */
export function pollScheduleFrom(env: Record<string, string | undefined>): string {
  const value = env.CAPTURE_POLL_SCHEDULE?.trim() || undefined;
  const parsed = pollSchedule.safeParse(value);
  return parsed.success ? parsed.data : '*/30 * * * * *';
}

/**
 * Bytes a capture needs per packet to keep every header the summary reads: Ethernet (14) + IPv6 (40) + the
 * longest TCP header (60, with options; RFC 9293 §3.1). Linux puts 12 bytes of timestamps on every segment.
 */
export const FULL_HEADER_BYTES = 14 + 40 + 60;

/**
 * Settings that are valid but probably not what was meant, in words for the log. A `CAPTURE_BYTES_PER_PACKET`
 * below {@link FULL_HEADER_BYTES} cuts TCP headers with options: packets still count in their conversations by
 * their ports, but flags, sequence numbers and windows (conn_state, retransmissions) are lost for some of them.
 */
export function configWarnings(config: Config): string[] {
  const bytes = config.captureBytesPerPacket;
  if (bytes === 0 || bytes >= FULL_HEADER_BYTES) return [];
  return [
    `CAPTURE_BYTES_PER_PACKET: ${bytes} bytes cut TCP headers with options (Ethernet + IPv6 + TCP need up to ` +
      `${FULL_HEADER_BYTES}); conversations still count those packets by their ports, but connection states, ` +
      `retransmissions and zero windows will miss some (found "${bytes}", expected 0 or at least ${FULL_HEADER_BYTES})`,
  ];
}
