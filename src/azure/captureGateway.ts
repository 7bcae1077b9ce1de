import type { PacketCapture } from '@azure/arm-network';
import type { CaptureTarget } from '../captures/captureTarget.js';

/**
 * What alert-capture asks Azure Resource Manager, as one interface: the real implementation is
 * `NetworkWatcherGateway` (the Azure SDK clients over HTTPS); tests may put an in-memory fake behind it that
 * holds any call until the test releases it, so a race is one deterministic test.
 *
 * No method waits for a long-running operation: a create, stop or delete returns once ARM accepted it, and a
 * status query that ARM answers later (202 + `Location`) returns the URL to read on a later tick.
 */
export interface CaptureGateway {
  /** The region ARM gives for a VM or scale set (cached; never a payload's hint). */
  getLocation(resourceId: string, options?: GatewayCallOptions): Promise<string>;
  /** Every Network Watcher of a subscription (cached). */
  listWatchers(subscriptionId: string, options?: GatewayCallOptions): Promise<WatcherRef[]>;
  /** The watcher of one region, if any. */
  findWatcher(
    subscriptionId: string,
    region: string,
    options?: GatewayCallOptions,
  ): Promise<WatcherRef | undefined>;
  /** The Network Watcher agent on the target, found by publisher and type whatever its extension's name. */
  getAgent(target: CaptureTarget, options?: GatewayCallOptions): Promise<AgentStatus>;
  /** Starts installing the agent on a VM (returns once ARM accepted the PUT). */
  installAgent(vmId: string, options?: GatewayCallOptions): Promise<void>;
  /** The capture resources of a watcher. */
  listCaptures(watcher: WatcherRef, options?: GatewayCallOptions): Promise<ListedCapture[]>;
  /** PUTs a capture; returns once ARM accepted it (201), with its async operation's URL. */
  createCapture(
    watcher: WatcherRef,
    name: string,
    parameters: PacketCapture,
    options?: GatewayCallOptions,
  ): Promise<CreatedCapture>;
  /** Starts a status query (queryStatus); see {@link StatusAnswer}. */
  queryStatus(watcher: WatcherRef, name: string, options?: GatewayCallOptions): Promise<StatusAnswer>;
  /** Reads a status query ARM accepted earlier (its `Location`). */
  readStatusOperation(operationUrl: string, options?: GatewayCallOptions): Promise<StatusAnswer>;
  /** Reads an `Azure-AsyncOperation` (the PUT's): `InProgress`, `Succeeded`, `Failed` with Azure's error. */
  readOperation(operationUrl: string, options?: GatewayCallOptions): Promise<OperationAnswer>;
  /** The capture resource (provisioning state, storage path), or `undefined` when it does not exist. */
  getCapture(
    watcher: WatcherRef,
    name: string,
    options?: GatewayCallOptions,
  ): Promise<CaptureResource | undefined>;
  /** Asks ARM to stop a capture; `accepted` as soon as ARM accepted (the stop runs on). */
  stopCapture(watcher: WatcherRef, name: string, options?: GatewayCallOptions): Promise<SideEffectAnswer>;
  /** Asks ARM to delete a capture resource (the file stays); `accepted` as soon as ARM accepted. */
  deleteCapture(watcher: WatcherRef, name: string, options?: GatewayCallOptions): Promise<SideEffectAnswer>;
}

/** Options carrying an abort signal (the caller's deadline). */
export interface GatewayCallOptions {
  abortSignal?: AbortSignal;
}

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

/** What ARM answered to a capture PUT. */
export interface CreatedCapture {
  id?: string;
  provisioningState?: string;
  /** The file's blob URL as ARM reports it (query string removed); the file appears there after the stop. */
  storagePath?: string;
  /** The `Azure-AsyncOperation` URL that says whether the create succeeded. */
  operationUrl?: string;
}

/** A capture resource. */
export interface CaptureResource {
  id?: string;
  target?: string;
  provisioningState?: string;
  /** The storage path without its query string. */
  storagePath?: string;
  /** Where ARM says the file goes (`storagePath` here keeps what ARM answered, query string removed). */
  storageLocation?: { storageId?: string; storagePath?: string };
}

/** A capture's status (queryStatus result). */
export interface CaptureStatus {
  /** `NotStarted`, `Running`, `Stopped`, `Error`, `Unknown`. */
  packetCaptureStatus?: string;
  stopReason?: string;
  /** ISO. */
  captureStartTime?: string;
  packetCaptureError?: string[];
}

/** The answer to a status query. */
export type StatusAnswer =
  | { kind: 'status'; status: CaptureStatus }
  /** ARM will answer at `operationUrl`, after `retryAfterSeconds`. */
  | { kind: 'accepted'; operationUrl: string; retryAfterSeconds: number }
  /** The capture (or the status operation) does not exist. */
  | { kind: 'missing' };

/** The state of an `Azure-AsyncOperation`. */
export interface OperationAnswer {
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
  /** Azure's error when it failed. */
  error?: { code?: string; message?: string };
}

/** ARM accepted a stop or delete, or there was nothing to stop or delete. */
export type SideEffectAnswer = 'accepted' | 'missing';

/** The Network Watcher agent's state on a target. */
export type AgentState = 'installed' | 'installing' | 'missing' | 'failed';

/** The Network Watcher agent extension found on a target. */
export interface AgentStatus {
  state: AgentState;
  /** The extension's name, whatever it is (`AzureNetworkWatcherExtension`, `networkWatcherAgent`...). */
  extensionName?: string;
  /** The extension's provisioningState as Compute reports it. */
  provisioningState?: string;
}

/** The agent's publisher. */
export const AGENT_PUBLISHER = 'Microsoft.Azure.NetworkWatcher';
/** The agent's extension types. */
export const AGENT_TYPES = ['NetworkWatcherAgentLinux', 'NetworkWatcherAgentWindows'] as const;
