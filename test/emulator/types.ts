import type { TagValueMatch } from './ResourceTags.js';
import type {
  ContinuousFalseBehaviour,
  RingBlobLayout,
  RingDeleteWhen,
  RingFile,
  RingSessionEnd,
} from './RingRecorder.js';
/** Options for {@link startEmulator}. */
export interface EmulatorOptions {
  /**
   * ARM actions the identity lacks (e.g. `Microsoft.Network/networkWatchers/packetCaptures/write`): the
   * permissions list answers them as `notActions` of an otherwise `*` grant, and the Microsoft.Resources routes
   * (resource list, Tags API) refuse a request needing one with 403 `AuthorizationFailed`. Other routes do not read
   * it (use a `forbidden` fault there).
   */
  deniedActions?: string[];
  /** Port on 127.0.0.1; default 0 (free port). */
  port?: number;
  /** TLS key and cert (PEM). Default: a new self-signed cert for 127.0.0.1 + localhost made at start. */
  tls?: { key: string; cert: string };
  /** Where capture files go: an Azurite (or Azure) blob connection string. If absent, no file is uploaded but storagePath is still set. */
  blobConnectionString?: string;
  /** Emulated seconds per real second (default 1). 1000 makes a 300 s capture end in 0.3 s. */
  timeScale?: number;
  /** Added to every ARM request, ms (default 0). */
  latencyInMs?: number;
  /** Platform packet-capture session limit per subscription and region (default 10000). */
  sessionLimit?: number;
  /** Emulated seconds an agent-extension PUT takes to reach Succeeded (default 30). */
  agentInstallSeconds?: number;
  /** Emulated seconds a new capture stays NotStarted before it runs (default 2). */
  captureStartSeconds?: number;
  /**
   * `Retry-After` on every long-running-operation answer, in emulated seconds (the header carries it scaled to the
   * wall clock, rounded); also how long a create, stop or delete operation stays in progress. Default 10.
   */
  retryAfterSeconds?: number;
  /** Emulated seconds between a capture's stop and its file appearing in storage (default 10). */
  uploadDelaySeconds?: number;
  /**
   * The agent names the file by its own start time: the uploaded blob's name is this many ms later than the
   * `storagePath` reported at creation (default 0: the same name). An assumption, to test a reader that looks
   * under the folder when `storagePath` is absent.
   */
  fileNameSkewMs?: number;
  /**
   * A capture on a VM whose agent is missing or not Succeeded: `captureError` (default: the create succeeds and the
   * session ends in Error with AgentStopped) or `createFails` (the create operation fails). An assumption.
   */
  missingAgent?: 'captureError' | 'createFails';
  /** Assumptions about continuous captures (README "Continuous captures"). */
  ringBlobLayout?: RingBlobLayout;
  ringDeleteWhen?: RingDeleteWhen;
  ringUploadDelaySeconds?: number;
  continuousFalse?: ContinuousFalseBehaviour;
  ringSessionEnd?: RingSessionEnd;
  /** How the resource list's `tagValue eq` compares values (default `caseSensitive`; an assumption). */
  tagValueMatch?: TagValueMatch;
  /** Items per page for list operations before a nextLink (default 50). */
  pageSize?: number;
  /** Client id reported by the identity endpoint (default a fixed GUID). */
  clientId?: string;
}

/** The state a pre-installed Network Watcher agent extension reports (see README, "VMs and the agent extension"). */
export type AgentState = 'Succeeded' | 'Transitioning' | 'Failed';

/** A virtual machine (or VMSS instance) known to the emulator. */
export interface EmulatorVm {
  id: string;
  location: string;
  osType?: 'Linux' | 'Windows';
  /** Whether the Network Watcher agent extension is installed (default true). */
  agentInstalled?: boolean;
  /** Name of the installed agent extension (default `AzureNetworkWatcherExtension`); its handler is always
   * `Microsoft.Azure.NetworkWatcher` / `NetworkWatcherAgentLinux|Windows`. */
  agentExtensionName?: string;
  /** State of the installed agent extension (default `Succeeded`); it stays so until the extension is PUT again. */
  agentState?: AgentState;
  /**
   * The VM's tags (default none). For a scale-set instance, the tags of its scale set (the resource the resource
   * list and the Tags API see); a later instance's `tags` replace them.
   */
  tags?: Record<string, string>;
}

/**
 * A capture made by a person (portal, CLI), planted with `POST /_emulator/captures`: listed, read and queried like
 * any other, counted toward the session limit, never made through ARM.
 */
export interface PlantedCapture {
  /** The network watcher resource id it belongs to (must be registered). */
  watcherId: string;
  name: string;
  /** A VM or scale-set resource id in the watcher's subscription (it need not be registered). */
  target: string;
  status: 'NotStarted' | 'Running' | 'Stopped' | 'Error';
  /** For Stopped: default `TimeExceeded`. */
  stopReason?: string;
  /** For Error: default `['InternalError']`. */
  errors?: string[];
  /** Default 18000 (the portal's default). A Running capture stops at it. */
  timeLimitInSeconds?: number;
}

/**
 * A known traffic change on a VM (`POST /_emulator/traffic-events`): from `at` a remote host sends UDP datagrams to
 * the VM, so a test knows which conversation exists only after that time.
 */
export interface TrafficEventInput {
  /** A registered VM (or scale-set instance) id. */
  vmId: string;
  /** ISO date-time on the emulated clock. */
  at: string;
  /** Default: to the end of every capture. */
  durationSeconds?: number;
  remoteIp: string;
  /** Default 40000. */
  remotePort?: number;
  /** Default 9999. */
  localPort?: number;
  /** 1–200, default 20. */
  packetsPerSecond?: number;
  /** 0–1400, default 200. */
  payloadBytes?: number;
}

/** A packet capture as the emulator holds it (a view for tests, not the ARM wire shape). */
export interface EmulatorCapture {
  id: string;
  name: string;
  target: string;
  targetType: string;
  status: 'NotStarted' | 'Running' | 'Stopped' | 'Error';
  stopReason?: string;
  storagePath?: string;
  filters: unknown[];
  bytesToCapturePerPacket: number;
  totalBytesPerSession: number;
  timeLimitInSeconds: number;
  scope?: unknown;
  /** For a scale-set capture (`AzureVMSS`): the instance it runs on. */
  instanceId?: string;
  /** Emulated ms since the epoch. */
  createdAt: number;
  captureStartTime?: string;
  errors: string[];
  /** ARM provisioning state of the capture resource. */
  provisioningState: 'Updating' | 'Succeeded' | 'Failed' | 'Deleting';
  /** Packets in the capture's file, once the capture stopped with a file. */
  packets?: number;
  /** Emulated ms at which the file reached storage (`uploadDelaySeconds` after the stop). */
  uploadedAt?: number;
  /** Blob name (in `network-watcher-logs`) the file was written to; differs from storagePath's with fileNameSkewMs. */
  uploadedBlobPath?: string;
  /** True for a capture planted through the admin API (made by a person, not through ARM). */
  planted?: true;
  /** For a continuous capture: every file of its ring so far, deleted ones included (`deletedAt`). */
  ringFiles?: RingFile[];
}

/** One ARM request the emulator answered. */
export interface RequestLogEntry {
  method: string;
  /** Path without query. */
  path: string;
  /** HTTP status; 0 when the connection was reset by a fault. */
  status: number;
  /** Wall-clock ms since the epoch. */
  startedAt: number;
  endedAt: number;
  /** `error.code` of an error answer. */
  errorCode?: string;
}

/** What a fault rule does to a matching request. */
export type FaultKind =
  'throttle' | 'error500' | 'error503' | 'forbidden' | 'reset' | 'slow' | 'operationFailed';

/** A fault to inject into matching ARM requests. */
export interface FaultRule {
  method?: string;
  /** RegExp source matched against the path (no query), case-insensitive. */
  pathPattern: string;
  kind: FaultKind;
  /** Times to fire, default unlimited. */
  count?: number;
  /** 0..1, default 1. */
  probability?: number;
  /** For throttle, default 1. */
  retryAfterSeconds?: number;
  /** For slow (default 1000). */
  delayInMs?: number;
}

/** Settings that can change while the emulator runs. */
export interface EmulatorConfig {
  latencyInMs?: number;
  sessionLimit?: number;
  timeScale?: number;
  retryAfterSeconds?: number;
  uploadDelaySeconds?: number;
  fileNameSkewMs?: number;
  captureStartSeconds?: number;
  agentInstallSeconds?: number;
  missingAgent?: 'captureError' | 'createFails';
  ringBlobLayout?: RingBlobLayout;
  ringDeleteWhen?: RingDeleteWhen;
  ringUploadDelaySeconds?: number;
  continuousFalse?: ContinuousFalseBehaviour;
  ringSessionEnd?: RingSessionEnd;
  tagValueMatch?: TagValueMatch;
}

/** A running emulator. */
export interface Emulator {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** The certificate clients must trust. */
  caPem: string;
  /** `caPem` written to a PEM file in a temp dir. */
  caFile: string;
  /** `${url}/msi/token` (App Service managed identity endpoint). */
  identityEndpoint: string;
  /** Random secret made at start. */
  identityHeader: string;
  clientId: string;
  registerVm(vm: EmulatorVm): void;
  /** The tags of a registered VM or scale set, as the Tags API would answer them. */
  tagsOf(resourceId: string): Record<string, string>;
  /** Adds a network watcher besides the default `NetworkWatcher_<region>` ones. */
  registerWatcher(watcher: { id: string; location: string }): void;
  /** Adds a known traffic change on a VM (see {@link TrafficEventInput}). */
  addTrafficEvent(event: TrafficEventInput): void;
  /** Plants a capture made by a person; answers its view. */
  plantCapture(capture: PlantedCapture): EmulatorCapture;
  /** The agent on a registered VM stops: its running captures end in `Error` (`AgentStopped`); see the README. */
  stopAgent(vmId: string): void;
  captures(): EmulatorCapture[];
  requests(): RequestLogEntry[];
  /** Packet-capture PUTs refused because the session limit was reached. */
  limitRefusals(): number;
  configure(c: EmulatorConfig): void;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Moves the emulated clock forward (captures reach their time limit without waiting). Resolves after resulting uploads. */
  advanceClock(seconds: number): Promise<void>;
  /** Emulated time, ms since the epoch. */
  now(): number;
  /** Forgets VMs, watchers, captures, faults, request log. */
  reset(): void;
  stop(): Promise<void>;
}
