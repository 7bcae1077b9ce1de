import type { TokenCredential } from '@azure/core-auth';
import { NetworkManagementClient, type PacketCapture } from '@azure/arm-network';
import { ResourceManagementClient } from '@azure/arm-resources';
import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import type { CaptureTarget } from '../captures/captureTarget.js';
import { stripQuery } from '../logger.js';
import { parseResourceId } from './armId.js';
import type {
  ListSubscriptionsOptions,
  ListTaggedResourcesOptions,
  RingTagGateway,
  SubscriptionList,
  TaggedResource,
  TaggedResourceList,
  TagRef,
} from './ringTagGateway.js';
import { armStatus } from './armErrors.js';
import {
  AGENT_PUBLISHER,
  AGENT_TYPES,
  type AgentStatus,
  type CaptureGateway,
  type CaptureResource,
  type CaptureStatus,
  type CreatedCapture,
  type GatewayCallOptions,
  type ListedCapture,
  type OperationAnswer,
  type SideEffectAnswer,
  type StatusAnswer,
  type WatcherRef,
} from './captureGateway.js';

export type {
  AgentState,
  AgentStatus,
  CaptureGateway,
  GatewayCallOptions,
  ListedCapture,
  WatcherRef,
} from './captureGateway.js';

/** The Network API version @azure/arm-network 36 speaks (its own calls use the same). */
const NETWORK_API_VERSION = '2025-05-01';
/** Compute API version used for the generic GETs and PUTs of VMs, scale sets and their extensions. */
const COMPUTE_API_VERSION = '2024-07-01';
/** The name under which the app installs the agent when none exists (Azure's portal uses it too). */
export const AGENT_EXTENSION_NAME = 'AzureNetworkWatcherExtension';
/** A status operation whose Retry-After is at most this is read at once, in the same call. */
const READ_AT_ONCE_SECONDS = 1;
/** Default bound of a tag-filtered resource list, and of the subscription list. */
const DEFAULT_MAX_TAGGED_RESOURCES = 5000;
const DEFAULT_MAX_SUBSCRIPTIONS = 1000;

/** Options for {@link NetworkWatcherGateway}. */
export interface NetworkWatcherGatewayOptions {
  /** How long a VM's region and agent state and a subscription's watcher list stay cached. Default 600 s. */
  cacheTtlSeconds?: number;
  /** Retries of the SDK's own retry policy (429, 5xx, resets). Default 3. */
  maxRetries?: number;
  /** Clock, for tests. */
  now?: () => number;
  /**
   * Resource group of the regional watchers when listing them is not allowed (`NETWORK_WATCHER_RESOURCE_GROUP`, set
   * by the Bicep from the same parameter its role assignments use). Default Azure's `NetworkWatcherRG`.
   */
  networkWatcherResourceGroup?: string;
}

/** What every SDK client of the gateway is made with. */
interface ClientOptions {
  endpoint: string;
  retryOptions: { maxRetries: number; retryDelayInMs: number; maxRetryDelayInMs: number };
}

interface CacheEntry<T> {
  value: Promise<T>;
  expiresAt: number;
}

/** Normalises an Azure location ("West Europe" → "westeurope"). */
export function normalizeLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

interface RawAnswer {
  status: number;
  headers: { get(name: string): string | undefined };
  body: unknown;
}

/**
 * Everything alert-capture asks Azure Resource Manager, through the real SDK clients
 * (`@azure/arm-network` for watchers and captures, `@azure/arm-resources` for VMs and the agent extension).
 * Holds the caches that keep the fast path to two or three sequential round trips: a VM's region and
 * agent state, and each subscription's watcher list.
 */
export class NetworkWatcherGateway implements CaptureGateway, RingTagGateway {
  private readonly networkClients = new Map<string, NetworkManagementClient>();
  private readonly resourceClients = new Map<string, ResourceManagementClient>();
  private subscriptionClient: SubscriptionClient | undefined;
  private readonly regionCache = new Map<string, CacheEntry<string>>();
  private readonly watcherCache = new Map<string, CacheEntry<WatcherRef[]>>();
  private readonly agentCache = new Map<string, { status: AgentStatus; expiresAt: number }>();
  /** Subscriptions whose watcher list ARM refused (403): watchers are then found by their default name. */
  private readonly listForbidden = new Set<string>();
  private readonly ttlInMs: number;
  private readonly now: () => number;

  constructor(
    private readonly credential: TokenCredential,
    private readonly armEndpoint: string,
    private readonly options: NetworkWatcherGatewayOptions = {},
  ) {
    this.ttlInMs = (options.cacheTtlSeconds ?? 600) * 1000;
    this.now = options.now ?? Date.now;
  }

  private network(subscriptionId: string): NetworkManagementClient {
    return this.clientFor(
      this.networkClients,
      subscriptionId,
      (options) => new NetworkManagementClient(this.credential, subscriptionId, options),
    );
  }

  private resources(subscriptionId: string): ResourceManagementClient {
    return this.clientFor(
      this.resourceClients,
      subscriptionId,
      (options) => new ResourceManagementClient(this.credential, subscriptionId, options),
    );
  }

  private subscriptionsClient(): SubscriptionClient {
    this.subscriptionClient ??= new SubscriptionClient(this.credential, this.clientOptions());
    return this.subscriptionClient;
  }

  /** One client per subscription and kind, each with the gateway's client options. */
  private clientFor<T>(
    clients: Map<string, T>,
    subscriptionId: string,
    create: (options: ClientOptions) => T,
  ): T {
    let client = clients.get(subscriptionId);
    if (!client) {
      client = create(this.clientOptions());
      clients.set(subscriptionId, client);
    }
    return client;
  }

  /** The ARM endpoint and the retry policy every client of the gateway uses. */
  private clientOptions(): ClientOptions {
    return {
      endpoint: this.armEndpoint,
      retryOptions: {
        maxRetries: this.options.maxRetries ?? 3,
        retryDelayInMs: 200,
        maxRetryDelayInMs: 4000,
      },
    };
  }

  private cached<T>(cache: Map<string, CacheEntry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit && hit.expiresAt > this.now()) return hit.value;
    const value = load();
    cache.set(key, { value, expiresAt: this.now() + this.ttlInMs });
    // A failed load must not be cached: the next caller tries again.
    value.catch(() => {
      if (cache.get(key)?.value === value) cache.delete(key);
    });
    return value;
  }

  /** The region of a VM or scale set (cached). */
  getLocation(resourceId: string, options: GatewayCallOptions = {}): Promise<string> {
    const key = resourceId.toLowerCase();
    return this.cached(this.regionCache, key, async () => {
      const id = requireId(resourceId);
      const resource = await this.resources(id.subscriptionId).resources.getById(
        resourceId,
        COMPUTE_API_VERSION,
        {
          abortSignal: options.abortSignal,
        },
      );
      if (!resource.location) throw new Error(`ARM returned no location for ${resourceId}`);
      return normalizeLocation(resource.location);
    });
  }

  /**
   * Every Network Watcher of a subscription (ListAll, cached). An identity whose roles are assigned on resource
   * groups only may not list at subscription scope (403): then the list is empty and {@link findWatcher} falls
   * back to Azure's default watcher.
   */
  listWatchers(subscriptionId: string, options: GatewayCallOptions = {}): Promise<WatcherRef[]> {
    return this.cached(this.watcherCache, subscriptionId.toLowerCase(), async () => {
      const watchers: WatcherRef[] = [];
      try {
        for await (const w of this.network(subscriptionId).networkWatchers.listAll({
          abortSignal: options.abortSignal,
        })) {
          const ref = toWatcherRef(w);
          if (ref) watchers.push(ref);
        }
      } catch (e) {
        if (armStatus(e) !== 403) throw e;
        this.listForbidden.add(subscriptionId.toLowerCase());
      }
      return watchers;
    });
  }

  /**
   * The watcher of a region: from the (cached) list, from a fresh list when the cached one may predate the
   * region's watcher, and last from Azure's default name (`NetworkWatcherRG/NetworkWatcher_<region>`), which a
   * role on that resource group can read even when listing the subscription is not allowed.
   */
  async findWatcher(
    subscriptionId: string,
    region: string,
    options: GatewayCallOptions = {},
  ): Promise<WatcherRef | undefined> {
    const inRegion = (list: WatcherRef[]) => list.find((w) => w.location === region);
    let watcher = inRegion(await this.listWatchers(subscriptionId, options));
    const sub = subscriptionId.toLowerCase();
    if (!watcher && !this.listForbidden.has(sub)) {
      // The list may be cached from before the region's watcher was created (Azure makes one with the region's
      // first virtual network): ask again once.
      this.forgetWatchers(subscriptionId);
      watcher = inRegion(await this.listWatchers(subscriptionId, options));
    }
    if (!watcher && this.listForbidden.has(sub)) {
      try {
        const w = await this.network(subscriptionId).networkWatchers.get(
          this.options.networkWatcherResourceGroup ?? 'NetworkWatcherRG',
          `NetworkWatcher_${region}`,
          {
            abortSignal: options.abortSignal,
          },
        );
        watcher = toWatcherRef(w);
      } catch (e) {
        if (armStatus(e) !== 404 && armStatus(e) !== 403) throw e;
      }
    }
    return watcher;
  }

  /** Forgets a subscription's watcher list (after a watcher turned out to be gone). */
  private forgetWatchers(subscriptionId: string): void {
    this.watcherCache.delete(subscriptionId.toLowerCase());
    this.listForbidden.delete(subscriptionId.toLowerCase());
  }

  /** Lists the capture resources of a watcher. */
  async listCaptures(watcher: WatcherRef, options: GatewayCallOptions = {}): Promise<ListedCapture[]> {
    const captures: ListedCapture[] = [];
    const pages = this.network(watcher.subscriptionId).packetCaptures.list(
      watcher.resourceGroup,
      watcher.name,
      {
        abortSignal: options.abortSignal,
      },
    );
    for await (const c of pages) {
      if (c.name) captures.push({ name: c.name, target: c.target, provisioningState: c.provisioningState });
    }
    return captures;
  }

  /**
   * One request through the subscription's Network client pipeline (token, the SDK's retries on 429/5xx/resets
   * honouring `Retry-After`, bounded by the caller's abort signal), answered whatever its status.
   */
  private async send(
    subscriptionId: string,
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    url: string,
    options: GatewayCallOptions,
    body?: unknown,
  ): Promise<RawAnswer> {
    const response = await this.network(subscriptionId).sendRequest(
      createPipelineRequest({
        url,
        method,
        headers: createHttpHeaders({
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        }),
        body: body === undefined ? undefined : JSON.stringify(body),
        abortSignal: options.abortSignal,
      }),
    );
    return { status: response.status, headers: response.headers, body: parseJson(response.bodyAsText) };
  }

  private captureUrl(watcher: WatcherRef, name: string, suffix = ''): string {
    return (
      `${this.armEndpoint}/subscriptions/${encodeURIComponent(watcher.subscriptionId)}/resourceGroups/${encodeURIComponent(watcher.resourceGroup)}` +
      `/providers/Microsoft.Network/networkWatchers/${encodeURIComponent(watcher.name)}/packetCaptures/${encodeURIComponent(name)}${suffix}` +
      `?api-version=${NETWORK_API_VERSION}`
    );
  }

  /**
   * An operation URL from an ARM header, only when it points at the ARM endpoint itself: the pipeline sends our
   * identity's token with it, so a header naming another host is refused (exact origin, not a suffix).
   */
  private operationUrl(value: string | undefined): string | undefined {
    if (!value) return undefined;
    try {
      const url = new URL(value, this.armEndpoint);
      return url.origin === new URL(this.armEndpoint).origin ? url.toString() : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Creates a capture and returns as soon as ARM accepted the PUT (201), without polling its operation: the next
   * tick reads `operationUrl` and fails the record with Azure's reason if the create failed.
   */
  async createCapture(
    watcher: WatcherRef,
    name: string,
    parameters: PacketCapture,
    options: GatewayCallOptions = {},
  ): Promise<CreatedCapture> {
    const answer = await this.send(watcher.subscriptionId, 'PUT', this.captureUrl(watcher, name), options, {
      properties: parameters,
    });
    if (answer.status !== 200 && answer.status !== 201) throw armError(answer, 'packet capture PUT');
    const created = answer.body as
      | {
          id?: string;
          properties?: { provisioningState?: string; storageLocation?: { storagePath?: string } };
        }
      | undefined;
    const storagePath = created?.properties?.storageLocation?.storagePath;
    return {
      id: created?.id,
      provisioningState: created?.properties?.provisioningState,
      storagePath: storagePath ? stripQuery(storagePath) : undefined,
      operationUrl: this.operationUrl(answer.headers.get('azure-asyncoperation')),
    };
  }

  /**
   * Starts a status query. ARM answers 200 with the status, or 202 with a `Location` to read after its
   * `Retry-After` (10 s on real Microsoft.Network): when that is short it is read at once, else its URL is
   * returned for a later tick, so one slow capture never holds a tick.
   */
  async queryStatus(
    watcher: WatcherRef,
    name: string,
    options: GatewayCallOptions = {},
  ): Promise<StatusAnswer> {
    const answer = await this.send(
      watcher.subscriptionId,
      'POST',
      this.captureUrl(watcher, name, '/queryStatus'),
      options,
    );
    return this.statusAnswer(answer, options, true);
  }

  /** Reads a status query ARM accepted earlier. A gone operation is `missing` (the caller queries again). */
  async readStatusOperation(operationUrl: string, options: GatewayCallOptions = {}): Promise<StatusAnswer> {
    const url = this.operationUrl(operationUrl);
    if (!url) return { kind: 'missing' };
    const answer = await this.send(this.subscriptionOf(url), 'GET', url, options);
    return this.statusAnswer(answer, options, false);
  }

  private async statusAnswer(
    answer: RawAnswer,
    options: GatewayCallOptions,
    first: boolean,
  ): Promise<StatusAnswer> {
    if (answer.status === 404) return { kind: 'missing' };
    if (answer.status === 200) return { kind: 'status', status: toStatus(answer.body) };
    if (answer.status !== 202) throw armError(answer, 'packet capture queryStatus');
    const location = this.operationUrl(
      answer.headers.get('location') ?? answer.headers.get('azure-asyncoperation'),
    );
    if (!location) throw armError(answer, 'packet capture queryStatus (no Location)');
    const retryAfterSeconds = Number(answer.headers.get('retry-after') ?? '0') || 0;
    if (first && retryAfterSeconds <= READ_AT_ONCE_SECONDS) {
      await delay(retryAfterSeconds * 1000, options.abortSignal);
      return this.readStatusOperation(location, options);
    }
    return { kind: 'accepted', operationUrl: location, retryAfterSeconds };
  }

  /** Reads an `Azure-AsyncOperation` URL (the PUT's). */
  async readOperation(operationUrl: string, options: GatewayCallOptions = {}): Promise<OperationAnswer> {
    const url = this.operationUrl(operationUrl);
    if (!url) return { status: 'Succeeded' };
    const answer = await this.send(this.subscriptionOf(url), 'GET', url, options);
    if (answer.status === 404) return { status: 'Succeeded' }; // expired: the resource's state says the rest
    if (answer.status !== 200) throw armError(answer, 'operation status');
    const body = answer.body as { status?: string; error?: { code?: string; message?: string } } | undefined;
    const status = body?.status;
    if (status === 'Succeeded' || status === 'Failed' || status === 'Canceled') {
      return { status, ...(body?.error ? { error: body.error } : {}) };
    }
    return { status: 'InProgress' };
  }

  private subscriptionOf(url: string): string {
    return /\/subscriptions\/([^/]+)/i.exec(new URL(url).pathname)?.[1] ?? 'operations';
  }

  /** The capture resource (target, storage path...). Undefined when it does not exist. */
  async getCapture(
    watcher: WatcherRef,
    name: string,
    options: GatewayCallOptions = {},
  ): Promise<CaptureResource | undefined> {
    const answer = await this.send(watcher.subscriptionId, 'GET', this.captureUrl(watcher, name), options);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw armError(answer, 'packet capture GET');
    const body = answer.body as
      | {
          id?: string;
          properties?: {
            target?: string;
            provisioningState?: string;
            storageLocation?: { storageId?: string; storagePath?: string };
          };
        }
      | undefined;
    const location = body?.properties?.storageLocation;
    const storagePath = location?.storagePath ? stripQuery(location.storagePath) : undefined;
    return {
      id: body?.id,
      target: body?.properties?.target,
      provisioningState: body?.properties?.provisioningState,
      storagePath,
      storageLocation: { storageId: location?.storageId, storagePath },
    };
  }

  /** Asks ARM to delete a capture resource (the file in storage stays); does not wait for the deletion. */
  async deleteCapture(
    watcher: WatcherRef,
    name: string,
    options: GatewayCallOptions = {},
  ): Promise<SideEffectAnswer> {
    const answer = await this.send(watcher.subscriptionId, 'DELETE', this.captureUrl(watcher, name), options);
    if (answer.status === 404 || answer.status === 204) return answer.status === 404 ? 'missing' : 'accepted';
    if (answer.status === 200 || answer.status === 202) return 'accepted';
    throw armError(answer, 'packet capture DELETE');
  }

  /** Asks ARM to stop a running capture (its file is then written); does not wait for the stop. */
  async stopCapture(
    watcher: WatcherRef,
    name: string,
    options: GatewayCallOptions = {},
  ): Promise<SideEffectAnswer> {
    const answer = await this.send(
      watcher.subscriptionId,
      'POST',
      this.captureUrl(watcher, name, '/stop'),
      options,
    );
    if (answer.status === 404) return 'missing';
    if (answer.status === 200 || answer.status === 202 || answer.status === 204) return 'accepted';
    throw armError(answer, 'packet capture stop');
  }

  /**
   * The Network Watcher agent on a VM (its extensions) or a scale set (its model's extensions), recognised by
   * publisher `Microsoft.Azure.NetworkWatcher` and type `NetworkWatcherAgentLinux`/`Windows` whatever the
   * extension's name: Microsoft's docs install it as `AzureNetworkWatcherExtension` (portal, CLI),
   * `networkWatcherAgent` (PowerShell) or `Microsoft.Azure.NetworkWatcher` (templates), and Compute refuses a
   * second extension of the same handler. An installed agent is cached.
   * https://learn.microsoft.com/azure/network-watcher/network-watcher-agent-linux
   */
  async getAgent(target: CaptureTarget, options: GatewayCallOptions = {}): Promise<AgentStatus> {
    const resourceId = target.kind === 'vm' ? target.vmId : target.scaleSetId;
    const key = resourceId.toLowerCase();
    const known = this.agentCache.get(key);
    if (known && known.expiresAt > this.now()) return known.status;
    const answer = await this.send(
      target.subscriptionId,
      'GET',
      `${this.armEndpoint}${resourceId}/extensions?api-version=${COMPUTE_API_VERSION}`,
      options,
    );
    if (answer.status !== 200) throw armError(answer, 'extension list');
    const value = (answer.body as { value?: unknown[] } | undefined)?.value ?? [];
    for (const item of value) {
      const ext = item as { name?: string; properties?: Record<string, unknown> };
      const publisher = stringProperty(ext.properties, ['publisher']) ?? '';
      const type = stringProperty(ext.properties, ['type']) ?? '';
      if (publisher.toLowerCase() !== AGENT_PUBLISHER.toLowerCase()) continue;
      if (!AGENT_TYPES.some((t) => t.toLowerCase() === type.toLowerCase())) continue;
      const provisioningState = stringProperty(ext.properties, ['provisioningState']) ?? 'Succeeded';
      const state = /^succeeded$/i.test(provisioningState)
        ? 'installed'
        : /^(failed|canceled)$/i.test(provisioningState)
          ? 'failed'
          : 'installing';
      const status: AgentStatus = { state, extensionName: ext.name, provisioningState };
      if (state === 'installed') this.agentCache.set(key, { status, expiresAt: this.now() + this.ttlInMs });
      return status;
    }
    return { state: 'missing' };
  }

  /**
   * The resources of a subscription or resource group carrying `tag` (Resources - List / List By Resource Group
   * with `$filter=tagName eq '…' and tagValue eq '…'`). The filter cannot also name a resource type: ARM refuses
   * a tag filter combined with anything else (400 `InvalidFilterInQueryString`; Azure/azure-rest-api-specs#21324),
   * so every type comes back and the caller keeps the ones it wants. Pages are read until `maxResults`.
   */
  async listTaggedResources(
    scope: string,
    tag: TagRef,
    options: ListTaggedResourcesOptions = {},
  ): Promise<TaggedResourceList> {
    const maxResults = options.maxResults ?? DEFAULT_MAX_TAGGED_RESOURCES;
    const match = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?\/?$/i.exec(scope);
    if (!match) throw new Error(`not a subscription or resource-group id: ${scope}`);
    const [, subscriptionId, resourceGroup] = match as unknown as [string, string, string | undefined];
    const listOptions = { filter: tagFilter(tag), abortSignal: options.abortSignal };
    const arm = this.resources(subscriptionId);
    const pages =
      resourceGroup === undefined
        ? arm.resources.list(listOptions)
        : arm.resources.listByResourceGroup(resourceGroup, listOptions);
    const resources: TaggedResource[] = [];
    for await (const r of pages) {
      if (resources.length >= maxResults) return { resources, complete: false };
      if (r.id) resources.push({ id: r.id, name: r.name, type: r.type, location: r.location });
    }
    return { resources, complete: true };
  }

  /** The subscriptions the identity can see (Subscriptions - List: those it holds any role on). */
  async listSubscriptions(options: ListSubscriptionsOptions = {}): Promise<SubscriptionList> {
    const maxResults = options.maxResults ?? DEFAULT_MAX_SUBSCRIPTIONS;
    const subscriptionIds: string[] = [];
    for await (const s of this.subscriptionsClient().subscriptions.list({
      abortSignal: options.abortSignal,
    })) {
      if (subscriptionIds.length >= maxResults) return { subscriptionIds, complete: false };
      if (s.subscriptionId) subscriptionIds.push(s.subscriptionId);
    }
    return { subscriptionIds, complete: true };
  }

  /** A resource's tags (Tags - Get At Scope). */
  async getTags(resourceId: string, options: GatewayCallOptions = {}): Promise<Record<string, string>> {
    const id = requireId(resourceId);
    const answer = await this.resources(id.subscriptionId).tagsOperations.getAtScope(resourceId, {
      abortSignal: options.abortSignal,
    });
    return { ...(answer.properties.tags ?? {}) };
  }

  /**
   * Sets one tag, the others untouched (Tags - Update At Scope, `Merge`). The operation is long-running in the
   * spec (200 or 202): the SDK follows a 202 until done, within the caller's deadline.
   */
  async setTag(resourceId: string, tag: TagRef, options: GatewayCallOptions = {}): Promise<void> {
    const id = requireId(resourceId);
    await this.resources(id.subscriptionId).tagsOperations.beginUpdateAtScopeAndWait(
      resourceId,
      { operation: 'Merge', properties: { tags: { [tag.name]: tag.value } } },
      { abortSignal: options.abortSignal, updateIntervalInMs: TAG_POLL_INTERVAL_IN_MS },
    );
  }

  /**
   * Removes one tag: its stored name is found case-insensitively (ARM's tag names are), then `Delete` is sent with
   * that name and its current value, which removes it whether ARM deletes by name or by name and value.
   */
  async removeTag(resourceId: string, tagName: string, options: GatewayCallOptions = {}): Promise<boolean> {
    const tags = await this.getTags(resourceId, options);
    const stored = Object.keys(tags).find((k) => k.toLowerCase() === tagName.toLowerCase());
    if (stored === undefined) return false;
    const id = requireId(resourceId);
    await this.resources(id.subscriptionId).tagsOperations.beginUpdateAtScopeAndWait(
      resourceId,
      { operation: 'Delete', properties: { tags: { [stored]: tags[stored]! } } },
      { abortSignal: options.abortSignal, updateIntervalInMs: TAG_POLL_INTERVAL_IN_MS },
    );
    return true;
  }

  /** Starts installing the Network Watcher agent on a VM (returns once ARM accepted the PUT). */
  async installAgent(vmId: string, options: GatewayCallOptions = {}): Promise<void> {
    const id = requireId(vmId);
    const vm = await this.resources(id.subscriptionId).resources.getById(vmId, COMPUTE_API_VERSION, {
      abortSignal: options.abortSignal,
    });
    const osType = stringProperty(vm.properties, ['storageProfile', 'osDisk', 'osType']) ?? 'Linux';
    await this.resources(id.subscriptionId).resources.beginCreateOrUpdateById(
      `${vmId}/extensions/${AGENT_EXTENSION_NAME}`,
      COMPUTE_API_VERSION,
      {
        location: vm.location,
        properties: {
          publisher: AGENT_PUBLISHER,
          type: /^windows$/i.test(osType) ? 'NetworkWatcherAgentWindows' : 'NetworkWatcherAgentLinux',
          typeHandlerVersion: '1.4',
          autoUpgradeMinorVersion: true,
        },
      },
      { abortSignal: options.abortSignal },
    );
  }
}

/** Polling interval of a Tags - Update At Scope that ARM answered 202 (a header's Retry-After wins). */
const TAG_POLL_INTERVAL_IN_MS = 2000;

/**
 * The OData filter for one tag (quotes doubled inside the literals, as OData escapes them). Tag names match
 * case-insensitively; values as ARM compares them (case-sensitive per
 * https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations).
 */
export function tagFilter(tag: TagRef): string {
  const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return `tagName eq ${literal(tag.name)} and tagValue eq ${literal(tag.value)}`;
}

function toWatcherRef(w: { id?: string; name?: string; location?: string }): WatcherRef | undefined {
  const id = w.id ? parseResourceId(w.id) : undefined;
  if (!id?.resourceGroup || !w.location || !w.name || !w.id) return undefined;
  return {
    id: w.id,
    subscriptionId: id.subscriptionId,
    resourceGroup: id.resourceGroup,
    name: w.name,
    location: normalizeLocation(w.location),
  };
}

function requireId(resourceId: string) {
  const id = parseResourceId(resourceId);
  if (!id) throw new Error(`not an ARM resource id: ${resourceId}`);
  return id;
}

/** Reads a string at a path of a generic resource's untyped properties. */
function stringProperty(properties: unknown, path: readonly string[]): string | undefined {
  let value: unknown = properties;
  for (const key of path) {
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return typeof value === 'string' ? value : undefined;
}

function parseJson(text: string | null | undefined): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

function toStatus(body: unknown): CaptureStatus {
  const b = (body ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const errors = Array.isArray(b.packetCaptureError)
    ? b.packetCaptureError.filter((e): e is string => typeof e === 'string')
    : [];
  return {
    packetCaptureStatus: text(b.packetCaptureStatus),
    stopReason: text(b.stopReason),
    captureStartTime: text(b.captureStartTime),
    packetCaptureError: errors,
  };
}

/** The ARM error body of a refused request, as the SDK's own `RestError`. */
function armError(answer: RawAnswer, what: string): RestError {
  const error = (answer.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return new RestError(error?.message ?? `${what} answered ${answer.status}`, {
    code: error?.code,
    statusCode: answer.status,
  });
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    });
  });
}
