import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  AUTHORIZATION_API_VERSIONS,
  COMPUTE_API_VERSIONS,
  FIRST_PAGED_NETWORK_API_VERSION,
  MSI_API_VERSION,
  NETWORK_API_VERSIONS,
  RESOURCES_API_VERSIONS,
  SUBSCRIPTIONS_API_VERSIONS,
} from './apiVersions.js';
import { ArmError, sendJson } from './armError.js';
import { CaptureStore } from './CaptureStore.js';
import { createCertificate, writeCertificateFile } from './createCertificate.js';
import { EmulatedClock } from './EmulatedClock.js';
import { describe, FaultRuleError, parseFaultRule, takeFault, type ActiveFault } from './faultRules.js';
import {
  CAPTURE_START_SECONDS,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_UPLOAD_DELAY_SECONDS,
  NetworkWatcherModel,
  RegistrationError,
  type MissingAgentBehaviour,
} from './NetworkWatcherModel.js';
import { parseCaptureBody } from './parseCaptureBody.js';
import { applyTagPatch, matchesFilter, parseResourceFilter } from './ResourceTags.js';
import { TokenIssuer } from './TokenIssuer.js';
import type {
  Emulator,
  EmulatorConfig,
  EmulatorOptions,
  EmulatorVm,
  FaultRule,
  PlantedCapture,
  TrafficEventInput,
  RequestLogEntry,
} from './types.js';

/** Client id the identity endpoint reports unless told otherwise. */
export const DEFAULT_CLIENT_ID = '5f0c7b1e-3d2a-4c8e-9b6f-1a2b3c4d5e6f';
const MAX_BODY_BYTES = 1024 * 1024;

/** Whose api-versions a route accepts; operation URLs carry the version of the request that made them. */
type Provider = 'network' | 'compute' | 'operation' | 'authorization' | 'resources' | 'subscriptions';

/** What a route handler gets: the request, its parsed parts and the path's captures (original case). */
interface ArmContext {
  method: string;
  url: URL;
  params: string[];
  body: unknown;
  apiVersion: string;
  failOperation: boolean;
}

interface ArmAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Route {
  method: string;
  pattern: RegExp;
  provider: Provider;
  /** The RBAC action the request needs and its scope, for routes that check `deniedActions`. */
  action?: (params: string[]) => { action: string; scope: string };
  handle: (ctx: ArmContext) => ArmAnswer;
}

const SUB = '/subscriptions/([^/]+)';
const RG = '/resourceGroups/([^/]+)';
const NW = `${SUB}${RG}/providers/Microsoft\\.Network/networkWatchers/([^/]+)`;
const PC = `${NW}/packetCaptures/([^/]+)`;
const VM = `${SUB}${RG}/providers/Microsoft\\.Compute/virtualMachines/([^/]+)`;
const VMSS = `${SUB}${RG}/providers/Microsoft\\.Compute/virtualMachineScaleSets/([^/]+)`;

/**
 * Starts the Network Watcher emulator: an HTTPS server on 127.0.0.1 answering the ARM operations alert-capture
 * uses (network watchers, packet captures, VMs, the agent extension), the App Service managed identity endpoint,
 * and an admin API under `/_emulator/`.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const tls = options.tls ?? (await createCertificate());
  const caFile = writeCertificateFile(tls.cert);
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  const identityHeader = randomBytes(24).toString('hex');
  const pageSize = positive(options.pageSize ?? 50, 'pageSize');
  const settings = {
    latencyInMs: nonNegative(options.latencyInMs ?? 0, 'latencyInMs'),
    sessionLimit: nonNegative(options.sessionLimit ?? 10_000, 'sessionLimit'),
    agentInstallSeconds: nonNegative(options.agentInstallSeconds ?? 30, 'agentInstallSeconds'),
    captureStartSeconds: nonNegative(
      options.captureStartSeconds ?? CAPTURE_START_SECONDS,
      'captureStartSeconds',
    ),
    retryAfterSeconds: nonNegative(
      options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
      'retryAfterSeconds',
    ),
    uploadDelaySeconds: nonNegative(
      options.uploadDelaySeconds ?? DEFAULT_UPLOAD_DELAY_SECONDS,
      'uploadDelaySeconds',
    ),
    fileNameSkewMs: nonNegative(options.fileNameSkewMs ?? 0, 'fileNameSkewMs'),
    missingAgent: missingAgentBehaviour(options.missingAgent ?? 'captureError'),
    ringBlobLayout: oneOf(options.ringBlobLayout ?? 'captureFolder', 'ringBlobLayout', RING_LAYOUTS),
    ringDeleteWhen: oneOf(options.ringDeleteWhen ?? 'newFileStarts', 'ringDeleteWhen', RING_DELETE_WHEN),
    ringUploadDelaySeconds: nonNegative(
      options.ringUploadDelaySeconds ?? DEFAULT_RING_UPLOAD_DELAY_SECONDS,
      'ringUploadDelaySeconds',
    ),
    continuousFalse: oneOf(options.continuousFalse ?? 'singleFile', 'continuousFalse', CONTINUOUS_FALSE),
    ringSessionEnd: oneOf(options.ringSessionEnd ?? 'sessionTimeLimit', 'ringSessionEnd', RING_SESSION_END),
    tagValueMatch: oneOf(options.tagValueMatch ?? 'caseSensitive', 'tagValueMatch', TAG_VALUE_MATCH),
  };
  const clock = new EmulatedClock(positive(options.timeScale ?? 1, 'timeScale'));
  const model = new NetworkWatcherModel(
    clock,
    new CaptureStore(options.blobConnectionString),
    settings,
    (s, region, id) =>
      `${baseUrl}/subscriptions/${s}/providers/Microsoft.Network/locations/${region}/operations/${id}?api-version=${OPERATION_URI_API_VERSION}`,
  );
  let faults: ActiveFault[] = [];
  let requestLog: RequestLogEntry[] = [];
  let baseUrl = '';
  const issuer = new TokenIssuer(() => `${baseUrl}/msi/`, clientId);

  const configure = (c: EmulatorConfig): void => {
    if (c.latencyInMs !== undefined) settings.latencyInMs = nonNegative(c.latencyInMs, 'latencyInMs');
    if (c.sessionLimit !== undefined) settings.sessionLimit = nonNegative(c.sessionLimit, 'sessionLimit');
    if (c.timeScale !== undefined) clock.setTimeScale(positive(c.timeScale, 'timeScale'));
    if (c.retryAfterSeconds !== undefined)
      settings.retryAfterSeconds = nonNegative(c.retryAfterSeconds, 'retryAfterSeconds');
    if (c.uploadDelaySeconds !== undefined)
      settings.uploadDelaySeconds = nonNegative(c.uploadDelaySeconds, 'uploadDelaySeconds');
    if (c.fileNameSkewMs !== undefined)
      settings.fileNameSkewMs = nonNegative(c.fileNameSkewMs, 'fileNameSkewMs');
    if (c.captureStartSeconds !== undefined)
      settings.captureStartSeconds = nonNegative(c.captureStartSeconds, 'captureStartSeconds');
    if (c.agentInstallSeconds !== undefined)
      settings.agentInstallSeconds = nonNegative(c.agentInstallSeconds, 'agentInstallSeconds');
    if (c.missingAgent !== undefined) settings.missingAgent = missingAgentBehaviour(c.missingAgent);
    if (c.ringBlobLayout !== undefined)
      settings.ringBlobLayout = oneOf(c.ringBlobLayout, 'ringBlobLayout', RING_LAYOUTS);
    if (c.ringDeleteWhen !== undefined)
      settings.ringDeleteWhen = oneOf(c.ringDeleteWhen, 'ringDeleteWhen', RING_DELETE_WHEN);
    if (c.ringUploadDelaySeconds !== undefined)
      settings.ringUploadDelaySeconds = nonNegative(c.ringUploadDelaySeconds, 'ringUploadDelaySeconds');
    if (c.continuousFalse !== undefined)
      settings.continuousFalse = oneOf(c.continuousFalse, 'continuousFalse', CONTINUOUS_FALSE);
    if (c.ringSessionEnd !== undefined)
      settings.ringSessionEnd = oneOf(c.ringSessionEnd, 'ringSessionEnd', RING_SESSION_END);
    if (c.tagValueMatch !== undefined)
      settings.tagValueMatch = oneOf(c.tagValueMatch, 'tagValueMatch', TAG_VALUE_MATCH);
  };
  const addFault = (rule: FaultRule): void => {
    faults.push(parseFaultRule(rule));
  };
  const advanceClock = async (seconds: number): Promise<void> => {
    clock.advance(nonNegative(seconds, 'seconds'));
    await model.settled();
  };
  const reset = (): void => {
    model.reset();
    clock.clear();
    faults = [];
    requestLog = [];
  };

  /**
   * The Retry-After of every long-running-operation answer: `retryAfterSeconds` emulated seconds in wall-clock
   * seconds, rounded to the nearest whole second (the header is an integer): 10 at time scale 1, 0 from scale 20 on,
   * which leaves the SDK at its own polling interval.
   */
  const retryAfter = (): string => String(Math.round(settings.retryAfterSeconds / clock.timeScale));

  const routes: Route[] = [
    {
      // Permissions - List For Resource Group / For Resource: what the caller may do at a scope, as ARM computes it
      // from the caller's role assignments (https://learn.microsoft.com/rest/api/authorization/permissions).
      // The emulator's identity has every action but `deniedActions` (its notActions).
      method: 'GET',
      pattern: new RegExp(`^${SUB}(?:/.+)?/providers/Microsoft\\.Authorization/permissions$`, 'i'),
      provider: 'authorization',
      handle: () => ({
        status: 200,
        body: {
          value: [
            {
              actions: ['*'],
              notActions: [...(options.deniedActions ?? [])],
              dataActions: [],
              notDataActions: [],
            },
          ],
        },
      }),
    },
    {
      // Subscriptions - List (https://learn.microsoft.com/rest/api/resources/subscriptions/list): ARM answers the
      // subscriptions the caller holds any role on; here, every subscription of a registered VM or watcher.
      method: 'GET',
      pattern: /^\/subscriptions$/i,
      provider: 'subscriptions',
      handle: (ctx) => page(ctx, model.subscriptionIds().map(subscriptionBody), true),
    },
    {
      // Resources - List (https://learn.microsoft.com/rest/api/resources/resources/list).
      method: 'GET',
      pattern: new RegExp(`^${SUB}/resources$`, 'i'),
      provider: 'resources',
      action: ([s]) => ({
        action: 'Microsoft.Resources/subscriptions/resources/read',
        scope: `/subscriptions/${s!}`,
      }),
      handle: (ctx) => listResources(ctx, ctx.params[0]!),
    },
    {
      // Resources - List By Resource Group
      // (https://learn.microsoft.com/rest/api/resources/resources/list-by-resource-group).
      method: 'GET',
      pattern: new RegExp(`^${SUB}${RG}/resources$`, 'i'),
      provider: 'resources',
      action: ([s, g]) => ({
        action: 'Microsoft.Resources/subscriptions/resourceGroups/resources/read',
        scope: `/subscriptions/${s!}/resourceGroups/${g!}`,
      }),
      handle: (ctx) => listResources(ctx, ctx.params[0]!, ctx.params[1]),
    },
    {
      // Tags - Get At Scope (https://learn.microsoft.com/rest/api/resources/tags/get-at-scope).
      method: 'GET',
      pattern: TAGS_AT_SCOPE,
      provider: 'resources',
      action: ([scope]) => ({ action: 'Microsoft.Resources/tags/read', scope: scope! }),
      handle: ({ params: [scope] }) => ({ status: 200, body: tagsBody(model.resourceTags(scope!)) }),
    },
    {
      // Tags - Update At Scope (https://learn.microsoft.com/rest/api/resources/tags/update-at-scope). Declared
      // long-running in the spec (200 or 202); the emulator always completes it at once with 200.
      method: 'PATCH',
      pattern: TAGS_AT_SCOPE,
      provider: 'resources',
      action: ([scope]) => ({ action: 'Microsoft.Resources/tags/write', scope: scope! }),
      handle: ({ params: [scope], body }) => {
        const current = model.resourceTags(scope!);
        model.setResourceTags(current.id, applyTagPatch(current.tags, body));
        return { status: 200, body: tagsBody(model.resourceTags(current.id)) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${SUB}/providers/Microsoft\\.Network/networkWatchers$`, 'i'),
      provider: 'network',
      handle: (ctx) => page(ctx, model.listWatchers(ctx.params[0]!)),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${SUB}${RG}/providers/Microsoft\\.Network/networkWatchers$`, 'i'),
      provider: 'network',
      handle: (ctx) => page(ctx, model.listWatchers(ctx.params[0]!, ctx.params[1])),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${NW}$`, 'i'),
      provider: 'network',
      handle: ({ params: [s, g, w] }) => ({ status: 200, body: model.getWatcher(s!, g!, w!) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${NW}/packetCaptures$`, 'i'),
      provider: 'network',
      handle: (ctx) => page(ctx, model.listCaptures(ctx.params[0]!, ctx.params[1]!, ctx.params[2]!)),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${PC}$`, 'i'),
      provider: 'network',
      handle: ({ params: [s, g, w, n] }) => ({ status: 200, body: model.getCapture(s!, g!, w!, n!) }),
    },
    {
      method: 'PUT',
      pattern: new RegExp(`^${PC}$`, 'i'),
      provider: 'network',
      handle: (ctx) => {
        const [s, g, w, n] = ctx.params as [string, string, string, string];
        const parsed = parseCaptureBody(ctx.body);
        // continuousCapture and captureSettings exist from 2023-11-01 on; ARM drops properties an older
        // api-version does not define (assumption: silently, as for other unknown properties).
        const { continuousCapture: _c, captureSettings: _s, ...classic } = parsed;
        const request = ctx.apiVersion < FIRST_CONTINUOUS_API_VERSION ? classic : parsed;
        const accepted = model.createCapture(s, g, w, n, request, { failOperation: ctx.failOperation });
        const region = watcherRegion(s, g, w);
        return {
          status: 201,
          body: accepted.body,
          headers: {
            'azure-asyncoperation': `${baseUrl}/subscriptions/${s}/providers/Microsoft.Network/locations/${region}/operations/${accepted.operationId}?api-version=${ctx.apiVersion}`,
            'retry-after': retryAfter(),
          },
        };
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^${PC}$`, 'i'),
      provider: 'network',
      handle: (ctx) => {
        const [s, g, w, n] = ctx.params as [string, string, string, string];
        const accepted = model.deleteCapture(s, g, w, n);
        if (!accepted) return { status: 204 };
        return locationAnswer(ctx, s, g, w, accepted.operationId);
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${PC}/stop$`, 'i'),
      provider: 'network',
      handle: (ctx) => {
        const [s, g, w, n] = ctx.params as [string, string, string, string];
        const accepted = model.stopCapture(s, g, w, n);
        return locationAnswer(ctx, s, g, w, accepted.operationId);
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${PC}/queryStatus$`, 'i'),
      provider: 'network',
      handle: (ctx) => {
        const [s, g, w, n] = ctx.params as [string, string, string, string];
        const accepted = model.queryStatus(s, g, w, n);
        return {
          ...locationAnswer(ctx, s, g, w, accepted.operationId),
          body: accepted.body,
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${NW}/operationResults/([^/]+)$`, 'i'),
      provider: 'operation',
      handle: (ctx) => {
        const result = model.locationResult(ctx.params[3]!);
        if (result.status === 202) {
          return {
            status: 202,
            headers: {
              location: `${baseUrl}${ctx.url.pathname}${ctx.url.search}`,
              'retry-after': retryAfter(),
            },
          };
        }
        return { status: result.status, body: result.body };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(
        `^${SUB}/providers/Microsoft\\.(?:Network|Compute)/locations/([^/]+)/operations/([^/]+)$`,
        'i',
      ),
      provider: 'operation',
      handle: (ctx) => {
        const { body, remainingMs } = model.asyncOperation(ctx.params[2]!);
        const headers: Record<string, string> = remainingMs > 0 ? { 'retry-after': retryAfter() } : {};
        return { status: 200, body, headers };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${VM}$`, 'i'),
      provider: 'compute',
      handle: ({ params: [s, g, v] }) => ({ status: 200, body: model.getVm(s!, g!, v!) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${VMSS}$`, 'i'),
      provider: 'compute',
      handle: ({ params: [s, g, ss] }) => ({ status: 200, body: model.getScaleSet(s!, g!, ss!) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${VMSS}/virtualMachines/([^/]+)$`, 'i'),
      provider: 'compute',
      handle: ({ params: [s, g, ss, i] }) => ({ status: 200, body: model.getScaleSetVm(s!, g!, ss!, i!) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${VM}/extensions$`, 'i'),
      provider: 'compute',
      handle: ({ params: [s, g, v], url }) => ({
        status: 200,
        body: model.listExtensions(s!, g!, v!, expandsInstanceView(url)),
      }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${VM}/extensions/([^/]+)$`, 'i'),
      provider: 'compute',
      handle: ({ params: [s, g, v, e], url }) => ({
        status: 200,
        body: model.getExtension(s!, g!, v!, e!, expandsInstanceView(url)),
      }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${VMSS}/virtualMachines/([^/]+)/extensions$`, 'i'),
      provider: 'compute',
      handle: ({ params: [s, g, ss, i], url }) => ({
        status: 200,
        body: model.listScaleSetVmExtensions(s!, g!, ss!, i!, expandsInstanceView(url)),
      }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${VMSS}/extensions$`, 'i'),
      provider: 'compute',
      handle: ({ params: [s, g, ss] }) => ({ status: 200, body: model.listScaleSetExtensions(s!, g!, ss!) }),
    },
    {
      method: 'PUT',
      pattern: new RegExp(`^${VM}/extensions/([^/]+)$`, 'i'),
      provider: 'compute',
      handle: (ctx) => {
        const [s, g, v, e] = ctx.params as [string, string, string, string];
        const accepted = model.putExtension(s, g, v, e, ctx.body, { failOperation: ctx.failOperation });
        const region = (accepted.body as { location: string }).location;
        return {
          status: accepted.created ? 201 : 200,
          body: accepted.body,
          headers: {
            'azure-asyncoperation': `${baseUrl}/subscriptions/${s}/providers/Microsoft.Compute/locations/${region}/operations/${accepted.operationId}?api-version=${ctx.apiVersion}`,
            'retry-after': retryAfter(),
          },
        };
      },
    },
  ];

  function watcherRegion(s: string, g: string, w: string): string {
    return (model.getWatcher(s, g, w) as { location: string }).location;
  }

  function locationAnswer(ctx: ArmContext, s: string, g: string, w: string, operationId: string): ArmAnswer {
    return {
      status: 202,
      headers: {
        location: `${baseUrl}/subscriptions/${s}/resourceGroups/${g}/providers/Microsoft.Network/networkWatchers/${w}/operationResults/${operationId}?api-version=${ctx.apiVersion}`,
        'retry-after': retryAfter(),
      },
    };
  }

  /**
   * The resources of a scope that pass the request's `$filter`, paged. With a tag filter ARM leaves `tags` out of
   * every item ("When you filter by a tag name and value, the tags for each resource are not returned in the
   * results", Resources - List By Resource Group; Azure/azure-rest-api-specs#3819).
   */
  function listResources(ctx: ArmContext, subscriptionId: string, resourceGroup?: string): ArmAnswer {
    const filter = parseResourceFilter(ctx.url.searchParams.get('$filter'));
    const items = model
      .genericResources(subscriptionId, resourceGroup)
      .filter((r) => matchesFilter(r, filter, settings.tagValueMatch))
      .map(({ tags, ...rest }) => (filter.kind === 'tag' ? rest : { ...rest, tags }));
    return page(ctx, items, true);
  }

  /**
   * One page of a list. Network lists page only from {@link FIRST_PAGED_NETWORK_API_VERSION} (`always` false);
   * Microsoft.Resources lists always have `nextLink` in their spec.
   */
  function page(ctx: ArmContext, items: unknown[], always = false): ArmAnswer {
    // ISO dates compare as strings.
    if (!always && ctx.apiVersion < FIRST_PAGED_NETWORK_API_VERSION)
      return { status: 200, body: { value: items } };
    const token = ctx.url.searchParams.get('$skipToken') ?? '0';
    const skip = Number(token);
    if (!Number.isInteger(skip) || skip < 0) {
      throw new ArmError(400, 'InvalidSkipToken', `The skip token '${token}' is not valid.`);
    }
    const value = items.slice(skip, skip + pageSize);
    const body: { value: unknown[]; nextLink?: string } = { value };
    if (skip + pageSize < items.length) {
      const next = new URLSearchParams({
        'api-version': ctx.apiVersion,
        ...(ctx.url.searchParams.has('$filter') ? { $filter: ctx.url.searchParams.get('$filter')! } : {}),
        $skipToken: String(skip + pageSize),
      });
      body.nextLink = `${baseUrl}${ctx.url.pathname}?${next.toString()}`;
    }
    return { status: 200, body };
  }

  async function handleArm(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    if (settings.latencyInMs > 0) await delay(settings.latencyInMs);
    let failOperation = false;
    const fault = takeFault(faults, method, path);
    switch (fault?.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'slow':
        await delay(fault.delayInMs ?? 1000);
        break;
      case 'throttle': {
        const seconds = fault.retryAfterSeconds ?? 1;
        throw new ArmError(
          429,
          'TooManyRequests',
          `The request is being throttled. Retry after ${seconds} seconds (injected fault).`,
          { 'retry-after': String(seconds) },
        );
      }
      case 'error500':
        throw new ArmError(500, 'InternalServerError', 'An internal server error occurred (injected fault).');
      case 'error503':
        throw new ArmError(
          503,
          'ServiceUnavailable',
          'The service is temporarily unavailable (injected fault).',
        );
      case 'forbidden':
        // What ARM answers when the caller's roles do not cover the request's scope.
        throw new ArmError(
          403,
          'AuthorizationFailed',
          `The client does not have authorization to perform action over scope '${path}' (injected fault).`,
        );
      case 'operationFailed':
        failOperation = true;
        break;
      case undefined:
        break;
    }

    authenticate(req.headers.authorization);
    clock.catchUp();

    const candidates = routes.filter((r) => r.pattern.test(path));
    const route = candidates.find((r) => r.method === method);
    if (!route) {
      if (candidates.length > 0) {
        throw new ArmError(
          405,
          'MethodNotAllowed',
          `The requested resource does not support http method '${method}'.`,
        );
      }
      throw new ArmError(
        404,
        'NotFound',
        `No HTTP resource was found that matches the request URI '${path}'.`,
      );
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) {
      throw new ArmError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    }
    const supported = API_VERSIONS[route.provider];
    if (!supported.includes(apiVersion)) {
      throw new ArmError(
        400,
        'InvalidApiVersionParameter',
        `The api-version '${apiVersion}' is invalid. The supported versions are '${supported.join(',')}'.`,
      );
    }
    let parsedBody: unknown;
    if (method === 'PUT' || method === 'PATCH' || (method === 'POST' && body.length > 0)) {
      try {
        parsedBody = body.length === 0 ? undefined : (JSON.parse(body.toString('utf8')) as unknown);
      } catch {
        throw new ArmError(
          400,
          'InvalidRequestContent',
          'The request content was invalid and could not be deserialized.',
        );
      }
    }
    const params = (route.pattern.exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p));
    if (route.action) authorize(route.action(params));
    const answer = route.handle({ method, url, params, body: parsedBody, apiVersion, failOperation });
    sendJson(res, answer.status, answer.body, answer.headers);
  }

  /**
   * ARM's refusal of an action the caller's roles lack (`deniedActions`), with its code and message
   * (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting, "AuthorizationFailed").
   */
  function authorize({ action, scope }: { action: string; scope: string }): void {
    const denied = (options.deniedActions ?? []).some((a) => a.toLowerCase() === action.toLowerCase());
    if (!denied) return;
    throw new ArmError(
      403,
      'AuthorizationFailed',
      `The client '${clientId}' with object id '${clientId}' does not have authorization to perform action ` +
        `'${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please ` +
        'refresh your credentials.',
    );
  }

  function authenticate(header: string | undefined): void {
    const challenge = (description: string): Record<string, string> => ({
      'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="${description}"`,
    });
    if (!header) {
      throw new ArmError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
        challenge("The authentication failed because of missing 'Authorization' header."),
      );
    }
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      throw new ArmError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        challenge("The authentication failed because of an invalid 'Authorization' header."),
      );
    }
    // ARM takes tokens for its own resource only: management.azure.com (or the older management.core.windows.net)
    // and, here, the emulator's URL, which is what the SDK asks for when its endpoint is the emulator.
    const audiences = [
      baseUrl,
      `${baseUrl}/`,
      'https://management.azure.com',
      'https://management.azure.com/',
      'https://management.core.windows.net',
      'https://management.core.windows.net/',
    ];
    const result = issuer.check(match[1]!, audiences);
    const problem = result?.problem;
    if (result?.problem === 'audience') {
      // Code and message as ARM answers them (Azure-Samples/active-directory-dotnetcore-daemon-v2#145).
      throw new ArmError(
        401,
        'InvalidAuthenticationTokenAudience',
        `The access token has been obtained for wrong audience or resource '${result.audience}'. It should exactly ` +
          `match with one of the allowed audiences ${audiences.map((a) => `'${a}'`).join(',')}.`,
        challenge('The access token has been obtained for wrong audience or resource.'),
      );
    }
    if (problem === 'expired') {
      throw new ArmError(
        401,
        'ExpiredAuthenticationToken',
        'The access token has expired.',
        challenge('The access token has expired.'),
      );
    }
    if (problem) {
      throw new ArmError(
        401,
        'InvalidAuthenticationToken',
        'The access token is invalid: it was not issued by this emulator.',
        challenge('The access token is invalid.'),
      );
    }
  }

  function handleIdentity(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const fail = (status: number, message: string): void =>
      sendJson(res, status, { statusCode: status, message });
    if (req.method !== 'GET')
      return fail(405, `The identity endpoint answers GET only, found ${req.method}.`);
    const version = url.searchParams.get('api-version');
    if (version !== MSI_API_VERSION) {
      return fail(
        400,
        `api-version must be ${MSI_API_VERSION}, found ${version === null ? 'none' : `'${version}'`}.`,
      );
    }
    const secret = req.headers['x-identity-header'];
    if (secret === undefined) return fail(400, 'The X-IDENTITY-HEADER header is missing.');
    if (secret !== identityHeader)
      return fail(401, 'The X-IDENTITY-HEADER header does not match this identity endpoint.');
    const resource = url.searchParams.get('resource') ?? url.searchParams.get('scope');
    if (!resource) return fail(400, "The 'resource' query parameter is required.");
    const askedFor =
      url.searchParams.get('client_id') ??
      url.searchParams.get('principal_id') ??
      url.searchParams.get('object_id');
    if (askedFor !== null && askedFor.toLowerCase() !== clientId.toLowerCase()) {
      return fail(400, `No managed identity with id '${askedFor}' is assigned to this app.`);
    }
    const token = issuer.issue(resource.replace(/\/\.default$/, ''));
    sendJson(res, 200, {
      access_token: token.accessToken,
      expires_on: String(token.expiresOnSeconds),
      resource,
      token_type: 'Bearer',
      client_id: clientId,
    });
  }

  async function handleAdmin(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: Buffer,
  ): Promise<void> {
    const remote = req.socket.remoteAddress ?? '';
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote)) {
      return sendJson(res, 403, {
        error: { code: 'Forbidden', message: 'The admin API answers loopback callers only.' },
      });
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const route = `${method} ${path.replace(/\/+$/, '').toLowerCase()}`;
    const bad = (message: string): void => sendJson(res, 400, { error: { code: 'InvalidRequest', message } });
    let input: unknown;
    if (body.length > 0) {
      try {
        input = JSON.parse(body.toString('utf8')) as unknown;
      } catch {
        return bad('The body is not valid JSON.');
      }
    }
    const obj = (): Record<string, unknown> => {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new RegistrationError(`body must be a JSON object, found ${describe(input)}`);
      }
      return input as Record<string, unknown>;
    };
    try {
      switch (route) {
        case 'POST /_emulator/traffic-events':
          model.addTrafficEvent(obj() as unknown as TrafficEventInput);
          return sendJson(res, 201, {});
        case 'POST /_emulator/vms':
          model.registerVm(obj() as unknown as EmulatorVm);
          return sendJson(res, 201, { registered: (input as { id: string }).id });
        case 'POST /_emulator/watchers': {
          const w = obj();
          model.registerWatcher({ id: w.id as string, location: w.location as string });
          return sendJson(res, 201, { registered: w.id });
        }
        case 'GET /_emulator/captures':
          clock.catchUp();
          return sendJson(res, 200, model.captures());
        case 'POST /_emulator/captures':
          return sendJson(res, 201, model.plantCapture(obj() as unknown as PlantedCapture));
        case 'GET /_emulator/requests':
          return sendJson(res, 200, requestLog);
        case 'POST /_emulator/config': {
          const c = obj();
          const unknown = Object.keys(c).filter((k) => !CONFIG_FIELDS.includes(k));
          if (unknown.length > 0) {
            return bad(
              `unknown config field(s) ${unknown.join(', ')}; expected any of ${CONFIG_FIELDS.join(', ')}`,
            );
          }
          const { latencyMs, ...rest } = c;
          const latency = latencyMs ?? c.latencyInMs;
          // Everything is checked before anything changes: a bad field leaves the settings as they were.
          const next = {
            ...rest,
            ...(latency === undefined ? {} : { latencyInMs: latency }),
          } as EmulatorConfig;
          const saved = { ...settings };
          const savedScale = clock.timeScale;
          try {
            configure(next);
          } catch (e) {
            Object.assign(settings, saved);
            if (clock.timeScale !== savedScale) clock.setTimeScale(savedScale);
            throw e;
          }
          return sendJson(res, 200, { ...settings, timeScale: clock.timeScale });
        }
        case 'POST /_emulator/faults': {
          const list = Array.isArray(input) ? input : [input];
          const parsed = list.map((r, i) => parseFaultRule(r, Array.isArray(input) ? `body[${i}]` : 'body'));
          faults.push(...parsed);
          return sendJson(res, 201, { faults: faults.map((f) => f.rule) });
        }
        case 'DELETE /_emulator/faults':
          faults = [];
          return sendJson(res, 200, { faults: [] });
        case 'POST /_emulator/clock': {
          const c = obj();
          if (typeof c.advanceSeconds !== 'number' || !(c.advanceSeconds >= 0)) {
            return bad(`advanceSeconds must be a number ≥ 0, found ${describe(c.advanceSeconds)}`);
          }
          await advanceClock(c.advanceSeconds);
          return sendJson(res, 200, { now: new Date(clock.now()).toISOString() });
        }
        case 'POST /_emulator/reset':
          reset();
          return sendJson(res, 200, { reset: true });
        default:
          return sendJson(res, 404, {
            error: { code: 'NotFound', message: `No admin route ${method} ${path}.` },
          });
      }
    } catch (e) {
      if (e instanceof RegistrationError || e instanceof FaultRuleError || e instanceof RangeError)
        return bad(e.message);
      throw e;
    }
  }

  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const startedAt = Date.now();
    // ARM tolerates repeated slashes, and @azure/arm-resources' *ById calls send "//subscriptions/..." (which
    // `new URL(path, base)` would read as a host name).
    const raw = req.url ?? '/';
    const queryAt = raw.indexOf('?');
    const rawPath = queryAt < 0 ? raw : raw.slice(0, queryAt);
    const url = new URL(
      rawPath.replace(/\/{2,}/g, '/') + (queryAt < 0 ? '' : raw.slice(queryAt)),
      'https://127.0.0.1',
    );
    const lowerPath = url.pathname.toLowerCase();
    const isArm = !lowerPath.startsWith('/_emulator/') && lowerPath !== '/msi/token';
    let errorCode: string | undefined;
    if (isArm) {
      let logged = false;
      const log = (status: number): void => {
        if (logged) return;
        logged = true;
        requestLog.push({
          method: (req.method ?? 'GET').toUpperCase(),
          path: url.pathname,
          status,
          startedAt,
          endedAt: Date.now(),
          ...(errorCode === undefined ? {} : { errorCode }),
        });
      };
      // Logged as the answer is sent, so a client that got its answer always finds it in the log ('finish' can
      // come later over TLS); 'close' without an answer is a reset connection.
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        log(res.statusCode);
        return end(...args);
      }) as typeof res.end;
      res.once('close', () => log(0));
    }
    readBody(req)
      .then(async (body) => {
        if (lowerPath.startsWith('/_emulator/')) return handleAdmin(req, res, url.pathname, body);
        if (lowerPath === '/msi/token') {
          const fault = takeFault(faults, req.method ?? 'GET', url.pathname);
          if (fault?.kind === 'reset') return void req.socket.destroy();
          return handleIdentity(req, res, url);
        }
        return handleArm(req, res, url, body);
      })
      .catch((e: unknown) => {
        if (res.headersSent || req.socket.destroyed) return;
        const error =
          e instanceof ArmError
            ? e
            : new ArmError(
                500,
                'InternalServerError',
                `The emulator failed: ${e instanceof Error ? e.message : String(e)}`,
              );
        errorCode = error.code;
        sendJson(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `https://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    caPem: tls.cert,
    caFile,
    identityEndpoint: `${baseUrl}/msi/token`,
    identityHeader,
    clientId,
    registerVm: (vm) => model.registerVm(vm),
    tagsOf: (id) => model.resourceTags(id).tags,
    addTrafficEvent: (event) => model.addTrafficEvent(event),
    registerWatcher: (w) => model.registerWatcher(w),
    plantCapture: (c) => model.plantCapture(c),
    stopAgent: (vmId) => {
      clock.catchUp();
      model.stopAgent(vmId);
    },
    captures: () => {
      clock.catchUp();
      return model.captures();
    },
    requests: () => requestLog.map((r) => ({ ...r })),
    limitRefusals: () => model.limitRefusals(),
    configure,
    addFault,
    clearFaults: () => {
      faults = [];
    },
    advanceClock,
    now: () => clock.now(),
    reset,
    stop: async () => {
      clock.dispose();
      // The certificate's own nw-emulator-* temporary folder: nothing else uses it once the server stops.
      rmSync(path.dirname(caFile), { recursive: true, force: true });
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await model.settled();
    },
  };
}

/** Whether a Compute GET asked for `$expand=instanceView`. */
function expandsInstanceView(url: URL): boolean {
  return (url.searchParams.get('$expand') ?? '').toLowerCase() === 'instanceview';
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(
          new ArmError(413, 'RequestEntityTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes.`),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Fields `POST /_emulator/config` takes. */
const CONFIG_FIELDS = [
  'latencyMs',
  'latencyInMs',
  'sessionLimit',
  'timeScale',
  'retryAfterSeconds',
  'uploadDelaySeconds',
  'fileNameSkewMs',
  'captureStartSeconds',
  'agentInstallSeconds',
  'missingAgent',
  'ringBlobLayout',
  'ringDeleteWhen',
  'ringUploadDelaySeconds',
  'continuousFalse',
  'ringSessionEnd',
  'tagValueMatch',
];

/** The api-versions each kind of route accepts (operation URLs carry the version of the request that made them). */
const API_VERSIONS: Record<Provider, readonly string[]> = {
  operation: [...NETWORK_API_VERSIONS, ...COMPUTE_API_VERSIONS],
  authorization: AUTHORIZATION_API_VERSIONS,
  network: NETWORK_API_VERSIONS,
  compute: COMPUTE_API_VERSIONS,
  resources: RESOURCES_API_VERSIONS,
  subscriptions: SUBSCRIPTIONS_API_VERSIONS,
};

/** `{resourceId}/providers/Microsoft.Resources/tags/default`: the Tags API at a resource's scope. */
const TAGS_AT_SCOPE = /^(\/subscriptions\/[^/]+\/.+?)\/providers\/Microsoft\.Resources\/tags\/default$/i;

/** Tenant id the subscriptions list reports. */
const EMULATOR_TENANT_ID = '72f988bf-0000-4000-8000-00000000e1a7';

/** A subscription as Subscriptions - List answers it. */
function subscriptionBody(subscriptionId: string): unknown {
  return {
    id: `/subscriptions/${subscriptionId}`,
    subscriptionId,
    tenantId: EMULATOR_TENANT_ID,
    displayName: `Emulated subscription ${subscriptionId}`,
    state: 'Enabled',
    subscriptionPolicies: {
      locationPlacementId: 'Public_2014-09-01',
      quotaId: 'PayAsYouGo_2014-09-01',
      spendingLimit: 'Off',
    },
    authorizationSource: 'RoleBased',
  };
}

/** The Tags API's answer: `TagsResource`. */
function tagsBody({ id, tags }: { id: string; tags: Record<string, string> }): unknown {
  return {
    id: `${id}/providers/Microsoft.Resources/tags/default`,
    name: 'default',
    type: 'Microsoft.Resources/tags',
    properties: { tags },
  };
}

/** First Microsoft.Network api-version whose PacketCaptureParameters has continuousCapture and captureSettings. */
const FIRST_CONTINUOUS_API_VERSION = '2023-11-01';

/** Default `ringUploadDelaySeconds` (assumption: the same order as a single file's upload after its stop). */
export const DEFAULT_RING_UPLOAD_DELAY_SECONDS = 10;
/** The values of each assumption setting (README "Assumptions"), the first the default. */
export const RING_LAYOUTS = ['captureFolder', 'firstFileSiblings'] as const;
export const RING_DELETE_WHEN = ['newFileStarts', 'newFileUploaded'] as const;
export const CONTINUOUS_FALSE = ['singleFile', 'stopAtFileCount'] as const;
export const RING_SESSION_END = ['sessionTimeLimit', 'shorterOfBoth'] as const;
export const TAG_VALUE_MATCH = ['caseSensitive', 'caseInsensitive'] as const;

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new RangeError(`${field} must be ${allowed.join(' or ')}, found ${describe(value)}`);
  }
  return value as T;
}

/** api-version quoted in the operation URL of an AnotherOperationInProgress message (what arm-network 36 sends). */
const OPERATION_URI_API_VERSION = '2025-05-01';

function missingAgentBehaviour(value: unknown): MissingAgentBehaviour {
  if (value !== 'captureError' && value !== 'createFails') {
    throw new RangeError(`missingAgent must be captureError or createFails, found ${describe(value)}`);
  }
  return value;
}

function positive(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${field} must be a number > 0, found ${describe(value)}`);
  }
  return value;
}

function nonNegative(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${field} must be a number ≥ 0, found ${describe(value)}`);
  }
  return value;
}
