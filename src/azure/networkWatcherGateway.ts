import type { TokenCredential } from '@azure/core-auth';
import {
  NetworkManagementClient,
  type PacketCapture,
  type PacketCaptureQueryStatusResult,
} from '@azure/arm-network';
import { ResourceManagementClient } from '@azure/arm-resources';
import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { parseResourceId } from './armId.js';

/** The Network API version @azure/arm-network 36 speaks (its own calls use the same). */
const NETWORK_API_VERSION = '2025-05-01';
/** Compute API version used for the generic GETs and PUTs of VMs, scale sets and their extensions. */
const COMPUTE_API_VERSION = '2024-07-01';
/** The Network Watcher agent's extension name, publisher and types. */
export const AGENT_EXTENSION_NAME = 'AzureNetworkWatcherExtension';
const AGENT_PUBLISHER = 'Microsoft.Azure.NetworkWatcher';

/** A regional Network Watcher. */
export interface WatcherRef {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
}

/** A packet capture resource as listed in a watcher. */
export interface ListedCapture {
  name: string;
  target?: string;
  provisioningState?: string;
}

/** The Network Watcher agent's state on a VM. */
export type AgentState = 'installed' | 'installing' | 'missing' | 'failed';

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

/** Options carrying an abort signal (the caller's time budget). */
export interface GatewayCallOptions {
  abortSignal?: AbortSignal;
}

interface CacheEntry<T> {
  value: Promise<T>;
  expiresAt: number;
}

/** Normalises an Azure location ("West Europe" → "westeurope"). */
export function normalizeLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

/** True when an ARM failure is worth retrying later (throttling, 5xx, network, timeout, abort). */
export function isTransient(e: unknown): boolean {
  if (e instanceof RestError) {
    if (e.statusCode === undefined) return true;
    return e.statusCode === 408 || e.statusCode === 429 || e.statusCode >= 500;
  }
  if (e instanceof Error) {
    return (
      e.name === 'AbortError' ||
      e.name === 'TimeoutError' ||
      /ECONNRESET|ECONNREFUSED|socket hang up|ETIMEDOUT/i.test(e.message)
    );
  }
  return false;
}

/** The ARM status code of a failure, if any. */
export function armStatus(e: unknown): number | undefined {
  return e instanceof RestError ? e.statusCode : undefined;
}

/** The ARM error code of a failure, if any. */
export function armCode(e: unknown): string | undefined {
  return e instanceof RestError ? e.code : undefined;
}

/**
 * Everything alert-capture asks Azure Resource Manager, through the real SDK clients
 * (`@azure/arm-network` for watchers and captures, `@azure/arm-resources` for VMs and the agent extension).
 * Holds the caches that keep the fast path to two or three sequential round trips: a VM's region and
 * agent state, and each subscription's watcher list.
 */
export class NetworkWatcherGateway {
  private readonly networkClients = new Map<string, NetworkManagementClient>();
  private readonly resourceClients = new Map<string, ResourceManagementClient>();
  private readonly regionCache = new Map<string, CacheEntry<string>>();
  private readonly watcherCache = new Map<string, CacheEntry<WatcherRef[]>>();
  private readonly agentCache = new Map<string, number>();
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

  /** One client per subscription and kind, each with the ARM endpoint and the retry policy of the gateway. */
  private clientFor<T>(
    clients: Map<string, T>,
    subscriptionId: string,
    create: (options: {
      endpoint: string;
      retryOptions: { maxRetries: number; retryDelayInMs: number; maxRetryDelayInMs: number };
    }) => T,
  ): T {
    let client = clients.get(subscriptionId);
    if (!client) {
      client = create({
        endpoint: this.armEndpoint,
        retryOptions: {
          maxRetries: this.options.maxRetries ?? 3,
          retryDelayInMs: 200,
          maxRetryDelayInMs: 4000,
        },
      });
      clients.set(subscriptionId, client);
    }
    return client;
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

  /** Remembers a region learnt from the alert payload, saving a GET. */
  rememberLocation(resourceId: string, location: string): void {
    const key = resourceId.toLowerCase();
    if (!this.regionCache.has(key)) {
      this.regionCache.set(key, {
        value: Promise.resolve(normalizeLocation(location)),
        expiresAt: this.now() + this.ttlInMs,
      });
    }
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
   * Creates a capture and returns as soon as ARM accepted the PUT (201), without polling its operation: the SDK's
   * `beginCreate` polls once before returning, a round trip the webhook's answer does not need. The request goes
   * through the same client pipeline (token, retries on 429/5xx/resets) as every other call.
   */
  async createCapture(
    watcher: WatcherRef,
    name: string,
    parameters: PacketCapture,
    options: GatewayCallOptions = {},
  ): Promise<{ id?: string; provisioningState?: string }> {
    const path =
      `/subscriptions/${encodeURIComponent(watcher.subscriptionId)}/resourceGroups/${encodeURIComponent(watcher.resourceGroup)}` +
      `/providers/Microsoft.Network/networkWatchers/${encodeURIComponent(watcher.name)}/packetCaptures/${encodeURIComponent(name)}`;
    const response = await this.network(watcher.subscriptionId).sendRequest(
      createPipelineRequest({
        url: `${this.armEndpoint}${path}?api-version=${NETWORK_API_VERSION}`,
        method: 'PUT',
        headers: createHttpHeaders({ 'content-type': 'application/json', accept: 'application/json' }),
        body: JSON.stringify({ properties: parameters }),
        abortSignal: options.abortSignal,
      }),
    );
    const body = parseJson(response.bodyAsText);
    if (response.status !== 200 && response.status !== 201) {
      const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new RestError(error?.message ?? `packet capture PUT answered ${response.status}`, {
        code: error?.code,
        statusCode: response.status,
      });
    }
    const created = body as { id?: string; properties?: { provisioningState?: string } } | undefined;
    return { id: created?.id, provisioningState: created?.properties?.provisioningState };
  }

  /** The capture's status (queryStatus, waiting for its short operation). Undefined when it does not exist. */
  async getCaptureStatus(
    watcher: WatcherRef,
    name: string,
    options: GatewayCallOptions = {},
  ): Promise<PacketCaptureQueryStatusResult | undefined> {
    try {
      return await this.network(watcher.subscriptionId).packetCaptures.beginGetStatusAndWait(
        watcher.resourceGroup,
        watcher.name,
        name,
        { abortSignal: options.abortSignal, updateIntervalInMs: 250 },
      );
    } catch (e) {
      if (armStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** The capture resource (target, storage path...). Undefined when it does not exist. */
  async getCapture(watcher: WatcherRef, name: string, options: GatewayCallOptions = {}) {
    try {
      return await this.network(watcher.subscriptionId).packetCaptures.get(
        watcher.resourceGroup,
        watcher.name,
        name,
        {
          abortSignal: options.abortSignal,
        },
      );
    } catch (e) {
      if (armStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** Deletes a capture resource and waits for the deletion (the file in storage stays). Missing is fine. */
  deleteCapture(watcher: WatcherRef, name: string, options: GatewayCallOptions = {}): Promise<void> {
    return this.untilDone(watcher, name, 'beginDeleteAndWait', options);
  }

  /** Stops a running capture and waits for the stop (its file is then written). Missing is fine. */
  stopCapture(watcher: WatcherRef, name: string, options: GatewayCallOptions = {}): Promise<void> {
    return this.untilDone(watcher, name, 'beginStopAndWait', options);
  }

  private async untilDone(
    watcher: WatcherRef,
    name: string,
    operation: 'beginDeleteAndWait' | 'beginStopAndWait',
    options: GatewayCallOptions,
  ): Promise<void> {
    try {
      await this.network(watcher.subscriptionId).packetCaptures[operation](
        watcher.resourceGroup,
        watcher.name,
        name,
        {
          abortSignal: options.abortSignal,
          updateIntervalInMs: 250,
        },
      );
    } catch (e) {
      if (armStatus(e) !== 404) throw e;
    }
  }

  /** The Network Watcher agent's state on a VM (a positive answer is cached). */
  async getAgentState(vmId: string, options: GatewayCallOptions = {}): Promise<AgentState> {
    const key = vmId.toLowerCase();
    const knownAt = this.agentCache.get(key);
    if (knownAt !== undefined && knownAt > this.now()) return 'installed';
    const id = requireId(vmId);
    try {
      const ext = await this.resources(id.subscriptionId).resources.getById(
        `${vmId}/extensions/${AGENT_EXTENSION_NAME}`,
        COMPUTE_API_VERSION,
        { abortSignal: options.abortSignal },
      );
      const state = stringProperty(ext.properties, ['provisioningState']) ?? 'Succeeded';
      if (/^succeeded$/i.test(state)) {
        this.agentCache.set(key, this.now() + this.ttlInMs);
        return 'installed';
      }
      return /^failed$|^canceled$/i.test(state) ? 'failed' : 'installing';
    } catch (e) {
      if (armStatus(e) === 404) return 'missing';
      throw e;
    }
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
