import { z } from 'zod';
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

const jsonFilters = z
  .string()
  .default('[]')
  .transform((v, ctx) => {
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
  });

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
          .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, { error: 'expected a table name (3-63 letters and digits)' }),
      ),
    SECURE_WEBHOOK_TENANT_ID: z.uuid({ error: 'expected a tenant id (GUID)' }).optional(),
    SECURE_WEBHOOK_AUDIENCE: z.string().min(1).optional(),
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
    if (s.CAPTURE_TIME_LIMIT_SECONDS > s.CAPTURE_MAX_TIME_LIMIT_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['CAPTURE_TIME_LIMIT_SECONDS'],
        message: `expected at most CAPTURE_MAX_TIME_LIMIT_SECONDS (${s.CAPTURE_MAX_TIME_LIMIT_SECONDS}), found ${s.CAPTURE_TIME_LIMIT_SECONDS}`,
      });
    }
    if (Boolean(s.SECURE_WEBHOOK_TENANT_ID) !== Boolean(s.SECURE_WEBHOOK_AUDIENCE)) {
      ctx.addIssue({
        code: 'custom',
        path: ['SECURE_WEBHOOK_AUDIENCE'],
        message: 'expected SECURE_WEBHOOK_TENANT_ID and SECURE_WEBHOOK_AUDIENCE to be set together',
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
  secureWebhook?: { tenantId: string; audience: string };
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
    secureWebhook:
      s.SECURE_WEBHOOK_TENANT_ID && s.SECURE_WEBHOOK_AUDIENCE
        ? { tenantId: s.SECURE_WEBHOOK_TENANT_ID, audience: s.SECURE_WEBHOOK_AUDIENCE }
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
