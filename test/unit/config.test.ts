import { describe, expect, it } from 'vitest';
import { createAppContext } from '../../src/appContext.js';
import {
  configWarnings,
  FULL_HEADER_BYTES,
  loadConfig,
  pollScheduleFrom,
  SETTING_NAMES,
} from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import sample from '../../local.settings.sample.json' with { type: 'json' };

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const minimal = {
  CAPTURE_STORAGE_ACCOUNT_ID: `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/capstore`,
  ALLOWED_SCOPES: SUB,
  LEDGER_STORAGE_ACCOUNT_NAME: 'appstore',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the defaults DESIGN.md gives', () => {
    const config = loadConfig(minimal);
    expect(config.captureSessionBudget).toBe(10);
    expect(config.captureTimeLimitSeconds).toBe(300);
    expect(config.armEndpoint).toBe('https://management.azure.com');
    expect(config.stopOnResolve).toBe(false);
    expect(config.captureFilters).toEqual([]);
    expect(config.allowedScopes).toEqual([SUB]);
    expect(config.ledger).toEqual({
      accountName: 'appstore',
      connectionString: undefined,
      tableName: 'captures',
    });
  });

  it('reports every bad setting at once, naming each and what was found', () => {
    const problems = problemsOf({
      CAPTURE_SESSION_BUDGET: 'ten',
      CAPTURE_FILTERS: '{not json',
      ARM_ENDPOINT: 'http://insecure.example',
    });
    const text = problems.join('\n');
    for (const name of [
      'CAPTURE_STORAGE_ACCOUNT_ID',
      'ALLOWED_SCOPES',
      'CAPTURE_SESSION_BUDGET',
      'CAPTURE_FILTERS',
      'ARM_ENDPOINT',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toContain('found "ten"');
  });

  it('asks for ledger storage by account name or connection string', () => {
    const { LEDGER_STORAGE_ACCOUNT_NAME: _, ...withoutLedger } = minimal;
    expect(problemsOf(withoutLedger).join()).toMatch(
      /LEDGER_STORAGE_ACCOUNT_NAME.*LEDGER_STORAGE_CONNECTION_STRING/,
    );
  });

  it('never echoes a webhook URL or connection string, which may hold a secret', () => {
    const problems = problemsOf({ ...minimal, NOTIFY_SLACK_WEBHOOK_URL: 'not a url?sig=SECRET' });
    expect(problems.join()).not.toContain('SECRET');
  });

  it('rejects a scope that is neither a subscription nor a resource group', () => {
    const problems = problemsOf({ ...minimal, ALLOWED_SCOPES: `${SUB}/resourceGroups/rg/providers/x/y/z` });
    expect(problems.join()).toContain('ALLOWED_SCOPES');
  });

  it('parses lists of scopes, "*" and filter JSON', () => {
    const config = loadConfig({
      ...minimal,
      ALLOWED_SCOPES: `${SUB}/resourceGroups/Prod-RG, *`,
      CAPTURE_FILTERS: '[{"protocol":"TCP","remotePort":"443"}]',
      STOP_ON_RESOLVE: 'True',
    });
    expect(config.allowedScopes).toEqual([`${SUB}/resourcegroups/prod-rg`, '*']);
    expect(config.captureFilters).toEqual([{ protocol: 'TCP', remotePort: '443' }]);
    expect(config.stopOnResolve).toBe(true);
  });

  it('refuses a default duration above the configured maximum', () => {
    const problems = problemsOf({
      ...minimal,
      CAPTURE_TIME_LIMIT_SECONDS: '4000',
      CAPTURE_MAX_TIME_LIMIT_SECONDS: '600',
    });
    expect(problems.join()).toContain('CAPTURE_TIME_LIMIT_SECONDS');
  });

  it("knows exactly the settings local.settings.sample.json sets (besides the host's own)", () => {
    const hostSettings = [
      'FUNCTIONS_WORKER_RUNTIME',
      'AzureWebJobsStorage',
      'AzureWebJobsFeatureFlags',
      'IDENTITY_ENDPOINT',
      'IDENTITY_HEADER',
      'NODE_EXTRA_CA_CERTS',
    ];
    const sampleNames = Object.keys(sample.Values).filter((n) => !hostSettings.includes(n));
    expect([...sampleNames].sort()).toEqual([...SETTING_NAMES].sort());
  });

  it('accepts local.settings.sample.json as it is, pointing no notification at a route the app does not serve', () => {
    const config = loadConfig(sample.Values);
    expect(config.allowedScopes).toEqual(['/subscriptions/00000000-0000-0000-0000-000000000000']);
    // The app's only HTTP route is /api/alertWebhook: a notification URL on the app itself would always fail.
    expect(Object.values(sample.Values).filter((v) => v.includes('/api/'))).toEqual([]);
  });
});

describe('notification URLs and the poll schedule', () => {
  it('refuses plain http to anything but loopback, without echoing the URL', () => {
    const problems = problemsOf({
      ...minimal,
      NOTIFY_TEAMS_WEBHOOK_URL: 'http://example.com/webhook?sig=SECRET',
    });
    expect(problems.join()).toMatch(/NOTIFY_TEAMS_WEBHOOK_URL: expected an https URL/);
    expect(problems.join()).not.toContain('SECRET');
    expect(
      loadConfig({ ...minimal, NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:7071/hook' }).notify.webhookUrl,
    ).toBe('http://127.0.0.1:7071/hook');
  });

  it('checks the poll schedule, and reads it alone for the timer registration', () => {
    expect(problemsOf({ ...minimal, CAPTURE_POLL_SCHEDULE: 'every 30 seconds' }).join()).toContain(
      'CAPTURE_POLL_SCHEDULE',
    );
    expect(pollScheduleFrom({ CAPTURE_POLL_SCHEDULE: '*/5 * * * * *' })).toBe('*/5 * * * * *');
    // Flex Consumption has no TimeSpan timers (scenario 10): refused, saying so, and never registered.
    expect(pollScheduleFrom({ CAPTURE_POLL_SCHEDULE: '00:00:10' })).toBe('*/30 * * * * *');
    expect(problemsOf({ ...minimal, CAPTURE_POLL_SCHEDULE: '00:00:30' }).join()).toMatch(
      /CAPTURE_POLL_SCHEDULE: a TimeSpan schedule is not supported: Flex Consumption timers need an NCRONTAB expression/,
    );
    expect(pollScheduleFrom({ CAPTURE_POLL_SCHEDULE: 'nonsense' })).toBe('*/30 * * * * *');
    expect(pollScheduleFrom({})).toBe('*/30 * * * * *');
  });
});

describe('loopback notification URLs', () => {
  it('accepts a loopback receiver without a path, and refuses a host that only starts like one', () => {
    expect(loadConfig({ ...minimal, NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:8080' }).notify.webhookUrl).toBe(
      'http://127.0.0.1:8080',
    );
    expect(
      problemsOf({ ...minimal, NOTIFY_WEBHOOK_URL: 'http://127.0.0.1.evil.example/x' }).join(),
    ).toContain('NOTIFY_WEBHOOK_URL');
  });
});

describe('issue 10 settings: storage suffix, watcher resource group, ledger table, secure webhook', () => {
  it('defaults to the public cloud and NetworkWatcherRG, and takes a sovereign cloud and another group', () => {
    const defaults = loadConfig(minimal);
    expect(defaults.storageEndpointSuffix).toBe('core.windows.net');
    expect(defaults.networkWatcherResourceGroup).toBe('NetworkWatcherRG');
    const china = loadConfig({
      ...minimal,
      STORAGE_ENDPOINT_SUFFIX: 'core.chinacloudapi.cn',
      NETWORK_WATCHER_RESOURCE_GROUP: 'nw-rg',
    });
    expect(china.storageEndpointSuffix).toBe('core.chinacloudapi.cn');
    expect(china.networkWatcherResourceGroup).toBe('nw-rg');
  });

  it('refuses a storage suffix that is not a DNS suffix and a resource group ending in a dot', () => {
    const problems = problemsOf({
      ...minimal,
      STORAGE_ENDPOINT_SUFFIX: 'attacker.example/x',
      NETWORK_WATCHER_RESOURCE_GROUP: 'rg.',
    }).join('\n');
    expect(problems).toContain('STORAGE_ENDPOINT_SUFFIX');
    expect(problems).toContain('NETWORK_WATCHER_RESOURCE_GROUP');
  });

  it('refuses the reserved table name "tables"', () => {
    expect(problemsOf({ ...minimal, LEDGER_TABLE_NAME: 'Tables' }).join()).toMatch(
      /LEDGER_TABLE_NAME.*tables/,
    );
  });

  it('needs an audience or a client id with the tenant, and takes the documented defaults', () => {
    expect(
      problemsOf({ ...minimal, SECURE_WEBHOOK_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47' }).join(),
    ).toContain('SECURE_WEBHOOK_AUDIENCE');
    expect(
      problemsOf({ ...minimal, SECURE_WEBHOOK_CLIENT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47' }).join(),
    ).toContain('SECURE_WEBHOOK_TENANT_ID');
    const config = loadConfig({
      ...minimal,
      SECURE_WEBHOOK_TENANT_ID: '72F988BF-86F1-41AF-91AB-2D7CD011DB47',
      SECURE_WEBHOOK_CLIENT_ID: '99999999-8888-7777-6666-555555555555',
    });
    expect(config.secureWebhook).toEqual({
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      audiences: ['99999999-8888-7777-6666-555555555555'],
      requiredRole: 'ActionGroupsSecureWebhook',
      callerAppId: '461e8683-5575-4561-ac7f-899cc907d62a',
      authorityHost: 'https://login.microsoftonline.com',
      v1IssuerHost: 'https://sts.windows.net',
    });
  });

  it('takes an https authority host (or loopback http) without a path', () => {
    const base = {
      ...minimal,
      SECURE_WEBHOOK_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      SECURE_WEBHOOK_AUDIENCE: 'api://x',
    };
    expect(
      loadConfig({ ...base, SECURE_WEBHOOK_AUTHORITY_HOST: 'https://login.chinacloudapi.cn/' }).secureWebhook
        ?.authorityHost,
    ).toBe('https://login.chinacloudapi.cn');
    expect(problemsOf({ ...base, SECURE_WEBHOOK_AUTHORITY_HOST: 'http://login.example' }).join()).toContain(
      'SECURE_WEBHOOK_AUTHORITY_HOST',
    );
    expect(
      problemsOf({ ...base, SECURE_WEBHOOK_AUTHORITY_HOST: 'https://login.example/tenant' }).join(),
    ).toContain('SECURE_WEBHOOK_AUTHORITY_HOST');
  });
});

describe('configWarnings', () => {
  it('warns when CAPTURE_BYTES_PER_PACKET cuts TCP headers with options, naming the setting and the need', () => {
    const warnings = configWarnings(loadConfig({ ...minimal, CAPTURE_BYTES_PER_PACKET: '64' }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^CAPTURE_BYTES_PER_PACKET: 64 bytes cut TCP headers/);
    expect(warnings[0]).toContain(`at least ${FULL_HEADER_BYTES}`);
  });

  it('says nothing for whole packets (0) or enough bytes for Ethernet, IPv6 and TCP with options', () => {
    expect(configWarnings(loadConfig(minimal))).toEqual([]);
    expect(configWarnings(loadConfig({ ...minimal, CAPTURE_BYTES_PER_PACKET: '114' }))).toEqual([]);
    expect(configWarnings(loadConfig({ ...minimal, CAPTURE_BYTES_PER_PACKET: '113' }))).toHaveLength(1);
  });

  it('is logged once when the app context is built', () => {
    const warned: string[] = [];
    const logger = { info: () => undefined, warn: (m: string) => warned.push(m), error: () => undefined };
    const credential = { getToken: () => Promise.resolve(null) };
    createAppContext(
      {
        ...minimal,
        LEDGER_STORAGE_ACCOUNT_NAME: undefined,
        LEDGER_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
        CAPTURE_BYTES_PER_PACKET: '60',
      },
      { credential, logger },
    );
    expect(warned).toEqual([expect.stringContaining('CAPTURE_BYTES_PER_PACKET: 60 bytes')]);
  });
});

describe('ring settings (RING_*)', () => {
  const VM = `${SUB}/resourceGroups/App-RG/providers/Microsoft.Compute/virtualMachines/web-01`;

  it('defaults: tag alert-capture:ring=on, no listed VM, 10 files of 10 MiB, whole packets', () => {
    expect(loadConfig(minimal).ring).toEqual({
      tagName: 'alert-capture:ring',
      tagValue: 'on',
      vmIds: [],
      maxVms: 50,
      discoverySeconds: 300,
      fileCount: 10,
      fileSizeInBytes: 10_485_760,
      bytesToCapturePerPacket: 0,
      sessionTimeLimitInSeconds: 86_400,
      rearmLeadSeconds: 300,
      statusCheckSeconds: 300,
      filters: [],
      windowMarginSeconds: 60,
      defaultLookbackSeconds: 600,
      keepWaitSeconds: 900,
    });
  });

  it('takes a list of VM ids, lower-cased and deduplicated', () => {
    const config = loadConfig({ ...minimal, RING_VM_IDS: `${VM}, ${VM.toUpperCase()};` });
    expect(config.ring.vmIds).toEqual([VM.toLowerCase()]);
  });

  it('reports every bad ring setting at once, naming each', () => {
    const problems = problemsOf({
      ...minimal,
      RING_VM_IDS: `${VM},${SUB}/resourceGroups/rg`,
      RING_FILE_COUNT: '1',
      RING_TAG_NAME: 'a/b',
    });
    expect(problems.some((p) => p.startsWith('RING_VM_IDS: expected virtual machine resource ids'))).toBe(
      true,
    );
    expect(problems.some((p) => p.startsWith('RING_FILE_COUNT: expected an integer from 2'))).toBe(true);
    expect(problems.some((p) => p.startsWith('RING_TAG_NAME:'))).toBe(true);
  });

  it('refuses a listed VM outside ALLOWED_SCOPES, naming it and how many more are outside', () => {
    const other = '/subscriptions/11111111-1111-1111-1111-111111111111';
    const problems = problemsOf({
      ...minimal,
      ALLOWED_SCOPES: `${SUB}/resourceGroups/app-rg`,
      RING_VM_IDS: [
        VM,
        `${SUB}/resourceGroups/app-rg2/providers/Microsoft.Compute/virtualMachines/db-01`,
        `${other}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-02`,
      ].join(','),
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(
        `^RING_VM_IDS: expected VMs inside ALLOWED_SCOPES \\(${SUB}/resourcegroups/app-rg\\), found "${SUB}/resourcegroups/app-rg2/providers/microsoft\\.compute/virtualmachines/db-01" and 1 more outside`,
      ),
    );
  });

  it('takes listed VMs anywhere with ALLOWED_SCOPES "*", and inside a listed resource group', () => {
    const elsewhere =
      '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/x/providers/Microsoft.Compute/virtualMachines/y';
    expect(loadConfig({ ...minimal, ALLOWED_SCOPES: '*', RING_VM_IDS: elsewhere }).ring.vmIds).toEqual([
      elsewhere.toLowerCase(),
    ]);
    expect(
      loadConfig({ ...minimal, ALLOWED_SCOPES: `${SUB}/resourceGroups/APP-rg`, RING_VM_IDS: VM }).ring.vmIds,
    ).toEqual([VM.toLowerCase()]);
  });

  it('bounds the ring VMs with RING_MAX_VMS (1-1000)', () => {
    expect(loadConfig({ ...minimal, RING_MAX_VMS: '3' }).ring.maxVms).toBe(3);
    expect(problemsOf({ ...minimal, RING_MAX_VMS: '0' })).toEqual([
      'RING_MAX_VMS: expected an integer from 1 to 1000 (found "0")',
    ]);
  });

  it('refuses a ring above the operator maxima rather than shrinking it silently', () => {
    const problems = problemsOf({
      ...minimal,
      RING_FILE_COUNT: '30',
      RING_MAX_FILE_COUNT: '20',
      RING_FILE_SIZE_BYTES: '209715200',
    });
    expect(problems).toContain(
      'RING_FILE_COUNT: expected at most RING_MAX_FILE_COUNT (20), found 30 (found "30")',
    );
    expect(
      problems.some((p) =>
        p.startsWith('RING_FILE_SIZE_BYTES: expected at most RING_MAX_FILE_SIZE_BYTES (104857600)'),
      ),
    ).toBe(true);
  });

  it('ring filters default to CAPTURE_FILTERS, so before and after are captured alike; RING_FILTERS wins', () => {
    const filters = '[{"protocol":"TCP","localPort":"443"}]';
    expect(loadConfig({ ...minimal, CAPTURE_FILTERS: filters }).ring.filters).toEqual([
      { protocol: 'TCP', localPort: '443' },
    ]);
    expect(loadConfig({ ...minimal, CAPTURE_FILTERS: filters, RING_FILTERS: '[]' }).ring.filters).toEqual([]);
    expect(problemsOf({ ...minimal, RING_FILTERS: '{"protocol":"TCP"}' })).toEqual([
      expect.stringMatching(/^RING_FILTERS: expected a JSON array of at most 10 filter objects/),
    ]);
  });

  it('refuses a re-arm lead as long as the ring session (the shorter of its two limits)', () => {
    expect(problemsOf({ ...minimal, RING_SESSION_SECONDS: '600', RING_REARM_LEAD_SECONDS: '600' })).toEqual([
      'RING_REARM_LEAD_SECONDS: expected less than the ring\'s session, min(RING_SESSION_SECONDS, 18000) = 600, found 600 (found "600")',
    ]);
    // The default session (86 400 s) is sent as timeLimitInSeconds 18 000: the lead must be below that.
    expect(problemsOf({ ...minimal, RING_REARM_LEAD_SECONDS: '18000' })).toHaveLength(1);
    expect(loadConfig({ ...minimal, RING_REARM_LEAD_SECONDS: '17999' }).ring.rearmLeadSeconds).toBe(17_999);
  });

  it('takes a ring status check interval of 60 to 3600 s, naming the setting otherwise', () => {
    expect(loadConfig({ ...minimal, RING_STATUS_CHECK_SECONDS: '60' }).ring.statusCheckSeconds).toBe(60);
    expect(loadConfig({ ...minimal, RING_STATUS_CHECK_SECONDS: '3600' }).ring.statusCheckSeconds).toBe(3_600);
    for (const bad of ['59', '3601', 'often']) {
      expect(problemsOf({ ...minimal, RING_STATUS_CHECK_SECONDS: bad })).toEqual([
        expect.stringMatching(/^RING_STATUS_CHECK_SECONDS: /),
      ]);
    }
  });
});
