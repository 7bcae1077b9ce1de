import { createHash, randomUUID } from 'node:crypto';
import { ArmError, invalidRequestFormat, resourceNotFound } from './armError.js';
import { describe } from './faultRules.js';
import { checkTags, TagError, type Tags } from './ResourceTags.js';
import type { CaptureStore } from './CaptureStore.js';
import type { EmulatedClock } from './EmulatedClock.js';
import {
  DEFAULT_TIME_LIMIT_SECONDS,
  DEFAULT_TOTAL_BYTES_PER_SESSION,
  type CaptureRequest,
} from './parseCaptureBody.js';
import { parseIpv4, synthesizeCapture, type SynthesizedCapture } from './traffic/index.js';
import type { TrafficEvent } from './traffic/synthesizeCapture.js';
import type { AgentState, EmulatorCapture, EmulatorVm, PlantedCapture, TrafficEventInput } from './types.js';
import {
  RING_DEFAULTS,
  RingRecorder,
  type ContinuousFalseBehaviour,
  type RingBlobLayout,
  type RingDeleteWhen,
  type RingSessionEnd,
} from './RingRecorder.js';

/**
 * Stop reasons the emulator reports. `TimeExceeded` is Azure's (spec example); the other two are the emulator's
 * choice, as no public source names Azure's strings for them.
 */
export const STOP_REASONS = {
  time: 'TimeExceeded',
  bytes: 'TotalBytesExceeded',
  manual: 'Manual',
} as const;

/** Default emulated seconds a capture stays NotStarted (`captureStartSeconds`). */
export const CAPTURE_START_SECONDS = 2;
/**
 * Default `retryAfterSeconds`: the `Retry-After` Microsoft.Network answers on its long-running operations, and the
 * time a create, stop or delete operation of the emulator stays in progress.
 */
export const DEFAULT_RETRY_AFTER_SECONDS = 10;
/**
 * Default `uploadDelaySeconds`: emulated seconds between a capture's stop and its file appearing in storage. Azure
 * documents that the file is uploaded once the session has completed, never how long that takes: the figure is the
 * emulator's assumption (see README), non-zero so that a stopped capture without its file yet is the normal case.
 */
export const DEFAULT_UPLOAD_DELAY_SECONDS = 10;
/** What a capture on a VM whose agent is missing or not Succeeded does (see README, an assumption). */
export type MissingAgentBehaviour = 'captureError' | 'createFails';

const NW_PUBLISHER = 'Microsoft.Azure.NetworkWatcher';
/** The name the portal and most docs give the agent extension; others exist (`networkWatcherAgent`, ...). */
export const DEFAULT_AGENT_EXTENSION_NAME = 'AzureNetworkWatcherExtension';
const AGENT_STATES: readonly AgentState[] = ['Succeeded', 'Transitioning', 'Failed'];
/** The size every emulated machine reports. */
const VM_SIZE = 'Standard_D2s_v3';
const NW_AGENT_TYPES = ['NetworkWatcherAgentLinux', 'NetworkWatcherAgentWindows'];

const VM_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i;
const VMSS_VM_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachineScaleSets\/([^/]+)\/virtualMachines\/([^/]+)$/i;
const VMSS_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachineScaleSets\/([^/]+)$/i;
const WATCHER_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/networkWatchers\/([^/]+)$/i;

/** Thrown for a bad admin registration; the message names the field. */
export class RegistrationError extends Error {
  override name = 'RegistrationError';
}

interface ExtensionRecord {
  id: string;
  name: string;
  location: string;
  properties: Record<string, unknown>;
  createdAt: number;
  readyAt: number;
  /** A state set by registration that stays until the extension is PUT again (otherwise `readyAt` decides). */
  fixedState?: AgentState;
}

interface VmRecord {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Scale set id for a VMSS instance. */
  scaleSetId?: string;
  instanceId?: string;
  location: string;
  osType: 'Linux' | 'Windows';
  vmId: string;
  localIp: string;
  extensions: Map<string, ExtensionRecord>;
}

/** A resource as Resources - List answers it. */
export interface GenericResource {
  id: string;
  name: string;
  type: string;
  location: string;
  tags: Tags;
}

interface WatcherRecord {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  etag: string;
}

interface CaptureRecord {
  id: string;
  name: string;
  watcher: WatcherRecord;
  request: CaptureRequest;
  /** The storageLocation answered on the wire. */
  storageLocation: Record<string, string>;
  vm: VmRecord;
  provisioningState: EmulatorCapture['provisioningState'];
  status: EmulatorCapture['status'];
  stopReason?: string;
  errors: string[];
  createdAt: number;
  startAt: number;
  captureStartTimeMs?: number;
  etag: string;
  blobPath: string;
  blobUrl: string;
  /** Why the create operation fails, once known (injected fault, or the agent with `createFails`). */
  failure?: { code: string; message: string; errors: string[] };
  /** The create, stop or delete operation in progress on this capture, refusing others until it ends. */
  busy?: { operationId: string; untilMs: number };
  plan?: SynthesizedCapture;
  packets?: number;
  /** Emulated ms at which the file reached storage. */
  uploadedAt?: number;
  /** The blob the file was written to (differs from storagePath with fileNameSkewMs). */
  uploadedBlobPath?: string;
  cancels: Array<() => void>;
  planted?: true;
  /** For a continuous capture: its ring of files. */
  ring?: RingRecorder;
}

/** A long-running operation behind an `Azure-AsyncOperation` or `Location` URL. */
interface OperationRecord {
  id: string;
  startedAt: number;
  doneAt: number;
  result: () => { status: 'Succeeded' | 'Failed'; error?: { code: string; message: string } };
  /** For Location operations: what the URL answers once done. */
  final?: () => { status: number; body?: unknown };
}

/** Settings the model reads on every call (they can change while the emulator runs). */
export interface ModelSettings {
  sessionLimit: number;
  agentInstallSeconds: number;
  /** Emulated seconds a capture stays NotStarted before it runs. */
  captureStartSeconds: number;
  /** Emulated seconds a create, stop or delete operation stays in progress (and the Retry-After answered). */
  retryAfterSeconds: number;
  /** Emulated seconds between a capture's stop and its file appearing in storage. */
  uploadDelaySeconds: number;
  /** How much later than the reported storagePath's name the uploaded blob's name is, ms. */
  fileNameSkewMs: number;
  missingAgent: MissingAgentBehaviour;
  /** Where a continuous capture's files go and what storagePath says (undocumented). */
  ringBlobLayout: RingBlobLayout;
  /** When a ring's oldest file is deleted (undocumented). */
  ringDeleteWhen: RingDeleteWhen;
  /** Emulated seconds between a ring file filling and its appearing in storage (undocumented). */
  ringUploadDelaySeconds: number;
  /** What `continuousCapture: false` does (undocumented). */
  continuousFalse: ContinuousFalseBehaviour;
  /** Which limit ends a continuous session (undocumented). */
  ringSessionEnd: RingSessionEnd;
}

/** What a create, stop or delete answers besides the body: the operation to point at. */
export interface Accepted<T> {
  body: T;
  operationId: string;
  /** Emulated ms until the operation completes. */
  remainingMs: number;
}

/**
 * The emulator's state and behaviour, independent of HTTP: VMs, watchers, packet captures and their lifecycle on the
 * emulated clock, long-running operations. Methods throw {@link ArmError} for ARM error answers.
 */
export class NetworkWatcherModel {
  private vms = new Map<string, VmRecord>();
  private watchers = new Map<string, WatcherRecord>();
  private capturesById = new Map<string, CaptureRecord>();
  private operations = new Map<string, OperationRecord>();
  private pending = new Set<Promise<void>>();
  private refusals = 0;
  /** Known traffic changes per VM id (lower case). */
  private trafficEvents = new Map<string, TrafficEvent[]>();
  /** Tags of VMs and scale sets, by resource id (lower case). */
  private tagsById = new Map<string, Tags>();

  /** `operationUri` gives the Azure-AsyncOperation URL of an operation (quoted in AnotherOperationInProgress). */
  constructor(
    private readonly clock: EmulatedClock,
    private readonly store: CaptureStore,
    private readonly settings: ModelSettings,
    private readonly operationUri: (subscriptionId: string, region: string, operationId: string) => string = (
      _s,
      _r,
      id,
    ) => id,
  ) {}

  // ---- registration -------------------------------------------------------------------------------------------

  /** Registers a VM (or VMSS instance) and, if its subscription and region have none, the default watcher. */
  registerVm(input: EmulatorVm): void {
    const vmMatch = VM_ID.exec(input.id ?? '');
    const ssMatch = VMSS_VM_ID.exec(input.id ?? '');
    const match = vmMatch ?? ssMatch;
    if (!match) {
      throw new RegistrationError(
        `id must be a virtual machine (or scale set VM) resource id, found "${String(input.id)}"`,
      );
    }
    const location = normalizeLocation(input.location, 'location');
    if (input.osType !== undefined && input.osType !== 'Linux' && input.osType !== 'Windows') {
      throw new RegistrationError(`osType must be Linux or Windows, found "${String(input.osType)}"`);
    }
    if (input.agentInstalled !== undefined && typeof input.agentInstalled !== 'boolean') {
      throw new RegistrationError(`agentInstalled must be a boolean, found ${typeof input.agentInstalled}`);
    }
    const agentName: unknown = input.agentExtensionName ?? DEFAULT_AGENT_EXTENSION_NAME;
    if (typeof agentName !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(agentName)) {
      throw new RegistrationError(
        `agentExtensionName must be an extension name (letters, digits, '.', '_', '-', at most 80), found ${describe(agentName)}`,
      );
    }
    const agentState: unknown = input.agentState ?? 'Succeeded';
    if (!AGENT_STATES.includes(agentState as AgentState)) {
      throw new RegistrationError(
        `agentState must be one of ${AGENT_STATES.join(', ')}, found ${describe(agentState)}`,
      );
    }
    if (
      input.agentInstalled === false &&
      (input.agentExtensionName !== undefined || input.agentState !== undefined)
    ) {
      throw new RegistrationError(
        'agentExtensionName and agentState describe an installed agent: leave them out with agentInstalled false',
      );
    }
    let tags: Tags | undefined;
    try {
      tags = input.tags === undefined ? undefined : checkTags(input.tags, 'tags');
    } catch (e) {
      throw e instanceof TagError ? new RegistrationError(e.message) : e;
    }
    const [, subscriptionId, resourceGroup, nameOrScaleSet, instanceId] = match as unknown as string[];
    if (ssMatch) {
      // A scale set lives in one region: its instances cannot disagree.
      const scaleSetId = input.id.replace(/\/virtualMachines\/[^/]+$/i, '');
      const sibling = this.instancesOf(scaleSetId).find((v) => !same(v.id, input.id));
      if (sibling && sibling.location !== location) {
        throw new RegistrationError(
          `location must be the scale set's region "${sibling.location}" (instance ${sibling.instanceId!} is there), found "${location}"`,
        );
      }
    }
    const hash = createHash('sha256').update(input.id.toLowerCase()).digest();
    const vm: VmRecord = {
      id: input.id,
      subscriptionId: subscriptionId!,
      resourceGroup: resourceGroup!,
      name: ssMatch ? `${nameOrScaleSet}_${instanceId}` : nameOrScaleSet!,
      ...(ssMatch
        ? { scaleSetId: input.id.replace(/\/virtualMachines\/[^/]+$/i, ''), instanceId: instanceId! }
        : {}),
      location,
      osType: input.osType ?? 'Linux',
      vmId: formatGuid(hash),
      // Deterministic private address per VM: 10.x.y.z with z in 4..254 (Azure reserves .0-.3 and .255).
      localIp: `10.${hash[16]! % 256}.${hash[17]! % 256}.${4 + (hash[18]! % 251)}`,
      extensions: new Map(),
    };
    if (input.agentInstalled ?? true) {
      vm.extensions.set(agentName.toLowerCase(), {
        id: `${vm.id}/extensions/${agentName}`,
        name: agentName,
        location: vm.location,
        properties: {
          publisher: NW_PUBLISHER,
          type: `NetworkWatcherAgent${vm.osType}`,
          typeHandlerVersion: '1.4',
          autoUpgradeMinorVersion: true,
        },
        createdAt: 0,
        readyAt: 0,
        fixedState: agentState as AgentState,
      });
    }
    this.vms.set(vm.id.toLowerCase(), vm);
    // A scale-set instance's tags are its scale set's: the resource list and the Tags API see the scale set.
    if (tags !== undefined) this.tagsById.set((vm.scaleSetId ?? vm.id).toLowerCase(), tags);
    const hasWatcher = [...this.watchers.values()].some(
      (w) => w.subscriptionId.toLowerCase() === vm.subscriptionId.toLowerCase() && w.location === location,
    );
    if (!hasWatcher) {
      this.registerWatcher({
        id: `/subscriptions/${vm.subscriptionId}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_${location}`,
        location,
      });
    }
  }

  /** Registers a network watcher. */
  registerWatcher(input: { id: string; location: string }): void {
    const match = WATCHER_ID.exec(input.id ?? '');
    if (!match)
      throw new RegistrationError(`id must be a network watcher resource id, found "${String(input.id)}"`);
    const [, subscriptionId, resourceGroup, name] = match as unknown as string[];
    this.watchers.set(input.id.toLowerCase(), {
      id: input.id,
      subscriptionId: subscriptionId!,
      resourceGroup: resourceGroup!,
      name: name!,
      location: normalizeLocation(input.location, 'location'),
      etag: `W/"${randomUUID()}"`,
    });
  }

  /** Forgets everything (pending uploads still finish). */
  reset(): void {
    for (const c of this.capturesById.values()) c.cancels.forEach((cancel) => cancel());
    this.vms.clear();
    this.watchers.clear();
    this.capturesById.clear();
    this.operations.clear();
    this.refusals = 0;
    this.trafficEvents.clear();
    this.tagsById.clear();
  }

  /**
   * Adds a known traffic change on a registered VM (or scale-set instance): every capture and ring file spanning
   * `at` holds it. Throws {@link RegistrationError} naming a bad field.
   */
  addTrafficEvent(input: TrafficEventInput): void {
    const vm = this.vms.get(String(input?.vmId ?? '').toLowerCase());
    if (!vm) throw new RegistrationError(`vmId must be a registered VM, found ${describe(input?.vmId)}`);
    const atMs = typeof input.at === 'string' ? Date.parse(input.at) : Number.NaN;
    if (!Number.isFinite(atMs))
      throw new RegistrationError(`at must be an ISO date-time, found ${describe(input.at)}`);
    if (typeof input.remoteIp !== 'string' || parseIpv4(input.remoteIp) === undefined)
      throw new RegistrationError(`remoteIp must be an IPv4 address, found ${describe(input.remoteIp)}`);
    const whole = (value: unknown, field: string, min: number, max: number, fallback?: number): number => {
      const v = value ?? fallback;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
        throw new RegistrationError(
          `${field} must be an integer from ${min} to ${max}, found ${describe(value)}`,
        );
      return v;
    };
    const event: TrafficEvent = {
      atMs,
      remoteIp: input.remoteIp,
      remotePort: whole(input.remotePort, 'remotePort', 1, 65_535, 40_000),
      localPort: whole(input.localPort, 'localPort', 1, 65_535, 9_999),
      // Bounded: a ring file spanning the event must stay a few MB whatever a test asks.
      packetsPerSecond: whole(input.packetsPerSecond, 'packetsPerSecond', 1, 200, 20),
      payloadBytes: whole(input.payloadBytes, 'payloadBytes', 0, 1_400, 200),
      ...(input.durationSeconds === undefined
        ? {}
        : { durationSeconds: whole(input.durationSeconds, 'durationSeconds', 1, 86_400) }),
    };
    const list = this.trafficEvents.get(vm.id.toLowerCase()) ?? [];
    list.push(event);
    this.trafficEvents.set(vm.id.toLowerCase(), list);
  }

  private eventsOf(vm: VmRecord): TrafficEvent[] {
    return this.trafficEvents.get(vm.id.toLowerCase()) ?? [];
  }

  /** Resolves once every upload started so far has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** PUTs refused for the session limit. */
  limitRefusals(): number {
    return this.refusals;
  }

  /** Every capture, as a test view. */
  captures(): EmulatorCapture[] {
    return [...this.capturesById.values()].map((c) => ({
      id: c.id,
      name: c.name,
      target: c.request.target,
      targetType: c.request.targetType ?? 'AzureVM',
      status: c.status,
      ...(c.stopReason === undefined ? {} : { stopReason: c.stopReason }),
      ...(c.storageLocation.storagePath === undefined ? {} : { storagePath: c.storageLocation.storagePath }),
      filters: c.request.filters,
      bytesToCapturePerPacket: c.request.bytesToCapturePerPacket,
      totalBytesPerSession: c.request.totalBytesPerSession,
      timeLimitInSeconds: c.request.timeLimitInSeconds,
      ...(c.request.scope === undefined ? {} : { scope: c.request.scope }),
      ...(c.vm.instanceId === undefined ? {} : { instanceId: c.vm.instanceId }),
      createdAt: c.createdAt,
      ...(c.captureStartTimeMs === undefined ? {} : { captureStartTime: isoMs(c.captureStartTimeMs) }),
      errors: [...c.errors],
      provisioningState: c.provisioningState,
      ...(c.packets === undefined ? {} : { packets: c.packets }),
      ...(c.uploadedAt === undefined ? {} : { uploadedAt: c.uploadedAt }),
      ...(c.uploadedBlobPath === undefined ? {} : { uploadedBlobPath: c.uploadedBlobPath }),
      ...(c.planted ? { planted: true as const } : {}),
      ...(c.ring ? { ringFiles: c.ring.files.map((f) => ({ ...f })) } : {}),
    }));
  }

  /**
   * The Network Watcher agent on a VM stops (it crashed; its handler starts it again): every session running or
   * about to run on the VM ends in `Error` with `['AgentStopped']` (a PcError value of the spec), the resource
   * stays, listed with provisioningState `Succeeded`. A ring's closed files stay, its open file is lost, as on a
   * delete. The extension stays `Succeeded`, so the next capture runs. Assumption: what Azure shows then is
   * undocumented. Throws {@link RegistrationError} for an unknown VM.
   */
  stopAgent(vmId: string): void {
    const vm = this.vms.get(String(vmId).toLowerCase());
    if (!vm) throw new RegistrationError(`vmId must be a registered VM, found ${describe(vmId)}`);
    const now = this.clock.now();
    for (const capture of this.capturesById.values()) {
      if (capture.vm !== vm || (capture.status !== 'Running' && capture.status !== 'NotStarted')) continue;
      capture.ring?.stop(now, false);
      capture.cancels.forEach((cancel) => cancel());
      capture.cancels = [];
      capture.plan = undefined;
      capture.status = 'Error';
      capture.errors = ['AgentStopped'];
    }
  }

  /**
   * Plants a capture made by a person (the portal never deletes them): listed, read and queried like any other and
   * counted toward the session limit. A Running one runs on the clock until its time limit, and its file is
   * uploaded like any other when it stops. Throws {@link RegistrationError} naming a bad field.
   */
  plantCapture(input: PlantedCapture): EmulatorCapture {
    if (typeof input !== 'object' || input === null) {
      throw new RegistrationError(`body must be an object, found ${describe(input)}`);
    }
    const watcher =
      typeof input.watcherId === 'string' ? this.watchers.get(input.watcherId.toLowerCase()) : undefined;
    if (!watcher) {
      throw new RegistrationError(
        `watcherId must be the id of a registered network watcher, found ${describe(input.watcherId)}`,
      );
    }
    if (typeof input.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(input.name)) {
      throw new RegistrationError(
        `name must be a capture name (letters, digits, '.', '_', '-', at most 80), found ${describe(input.name)}`,
      );
    }
    const id = `${watcher.id}/packetCaptures/${input.name}`;
    if (this.capturesById.has(id.toLowerCase())) {
      throw new RegistrationError(`name "${input.name}" is already a capture of ${watcher.name}`);
    }
    const vmMatch = typeof input.target === 'string' ? VM_ID.exec(input.target) : null;
    const ssMatch = typeof input.target === 'string' ? VMSS_ID.exec(input.target) : null;
    const match = vmMatch ?? ssMatch;
    if (!match) {
      throw new RegistrationError(
        `target must be a virtual machine or scale set resource id, found ${describe(input.target)}`,
      );
    }
    if (!same(match[1]!, watcher.subscriptionId)) {
      throw new RegistrationError(
        `target must be in the watcher's subscription ${watcher.subscriptionId}, found ${match[1]!}`,
      );
    }
    const statuses = ['NotStarted', 'Running', 'Stopped', 'Error'] as const;
    if (!statuses.includes(input.status)) {
      throw new RegistrationError(
        `status must be one of ${statuses.join(', ')}, found ${describe(input.status)}`,
      );
    }
    if (input.stopReason !== undefined && (typeof input.stopReason !== 'string' || input.stopReason === '')) {
      throw new RegistrationError(
        `stopReason must be a non-empty string, found ${describe(input.stopReason)}`,
      );
    }
    if (
      input.errors !== undefined &&
      (!Array.isArray(input.errors) || !input.errors.every((e) => typeof e === 'string'))
    ) {
      throw new RegistrationError(`errors must be an array of strings, found ${describe(input.errors)}`);
    }
    const limit = input.timeLimitInSeconds ?? DEFAULT_TIME_LIMIT_SECONDS;
    if (!Number.isInteger(limit) || limit < 0 || limit > DEFAULT_TIME_LIMIT_SECONDS) {
      throw new RegistrationError(
        `timeLimitInSeconds must be an integer from 0 to ${DEFAULT_TIME_LIMIT_SECONDS}, found ${describe(input.timeLimitInSeconds)}`,
      );
    }
    const targetType = ssMatch ? 'AzureVMSS' : 'AzureVM';
    const vm =
      (ssMatch ? this.instancesOf(input.target)[0] : this.vms.get(input.target.toLowerCase())) ??
      detachedVm(input.target, watcher.location, ssMatch !== null);
    const now = this.clock.now();
    const storageId = `/subscriptions/${watcher.subscriptionId}/resourceGroups/${watcher.resourceGroup}/providers/Microsoft.Storage/storageAccounts/portalcaptures`;
    const blobPath = `${captureFolder(input.target, vm)}/${blobFileName(now)}`;
    const blobUrl = this.store.urlFor(blobPath, storageId);
    const capture: CaptureRecord = {
      id,
      name: input.name,
      watcher,
      request: {
        target: input.target,
        targetType,
        bytesToCapturePerPacket: 0,
        totalBytesPerSession: DEFAULT_TOTAL_BYTES_PER_SESSION,
        timeLimitInSeconds: limit,
        storageLocation: { storageId },
        filters: [],
      },
      storageLocation: { storageId, storagePath: blobUrl },
      vm,
      provisioningState: 'Succeeded',
      status: 'NotStarted',
      errors: [],
      createdAt: now,
      startAt: now,
      etag: `W/"${randomUUID()}"`,
      blobPath,
      blobUrl,
      cancels: [],
      planted: true,
    };
    this.capturesById.set(id.toLowerCase(), capture);
    if (input.status === 'Running') this.run(capture, now);
    else if (input.status === 'Stopped') {
      capture.status = 'Stopped';
      capture.stopReason = input.stopReason ?? STOP_REASONS.time;
      capture.captureStartTimeMs = now - limit * 1000;
    } else if (input.status === 'Error') {
      capture.status = 'Error';
      capture.errors = [...(input.errors ?? ['InternalError'])];
    }
    return this.captures().find((c) => c.id === id)!;
  }

  // ---- network watchers -----------------------------------------------------------------------------------------

  /** Watchers of a subscription, optionally of one resource group. */
  listWatchers(subscriptionId: string, resourceGroup?: string): unknown[] {
    return [...this.watchers.values()]
      .filter(
        (w) =>
          same(w.subscriptionId, subscriptionId) &&
          (resourceGroup === undefined || same(w.resourceGroup, resourceGroup)),
      )
      .map(watcherBody);
  }

  /** One watcher's wire body. */
  getWatcher(subscriptionId: string, resourceGroup: string, name: string): unknown {
    return watcherBody(this.watcher(subscriptionId, resourceGroup, name));
  }

  // ---- packet captures ------------------------------------------------------------------------------------------

  /** Captures of one watcher, wire bodies. */
  listCaptures(subscriptionId: string, resourceGroup: string, watcherName: string): unknown[] {
    const watcher = this.watcher(subscriptionId, resourceGroup, watcherName);
    return [...this.capturesById.values()]
      .filter((c) => c.watcher === watcher)
      .map((c) => captureBody(c, true));
  }

  /** One capture's wire body. */
  getCapture(subscriptionId: string, resourceGroup: string, watcherName: string, name: string): unknown {
    return captureBody(this.capture(subscriptionId, resourceGroup, watcherName, name), true);
  }

  /**
   * Creates and starts a capture. Refuses an existing name (409 `PacketCaptureAlreadyExists`), a target that is not
   * registered (404), a target outside the watcher's subscription or region (400), and a PUT past the session limit
   * (409 `PacketCaptureSessionLimitReached`).
   */
  createCapture(
    subscriptionId: string,
    resourceGroup: string,
    watcherName: string,
    name: string,
    request: CaptureRequest,
    createOptions: { failOperation: boolean },
  ): Accepted<unknown> {
    const watcher = this.watcher(subscriptionId, resourceGroup, watcherName);
    const id = `${watcher.id}/packetCaptures/${name}`;
    const existing = this.capturesById.get(id.toLowerCase());
    if (existing) {
      this.refuseWhileBusy(existing);
      throw new ArmError(
        409,
        'PacketCaptureAlreadyExists',
        `Packet capture session '${existing.name}' already exists in network watcher '${watcher.name}' ` +
          `(status ${existing.status}). A packet capture cannot be updated: delete it first.`,
      );
    }
    const vm = this.targetVm(request);
    if (!same(vm.subscriptionId, watcher.subscriptionId) || vm.location !== watcher.location) {
      throw new ArmError(
        400,
        'InvalidTargetResourceLocation',
        `Target '${request.target}' is in region '${vm.location}' of subscription '${vm.subscriptionId}'; network watcher ` +
          `'${watcher.name}' serves region '${watcher.location}' of subscription '${watcher.subscriptionId}'.`,
      );
    }
    const inRegion = [...this.capturesById.values()].filter(
      (c) =>
        same(c.watcher.subscriptionId, watcher.subscriptionId) && c.watcher.location === watcher.location,
    ).length;
    if (inRegion >= this.settings.sessionLimit) {
      this.refusals += 1;
      throw new ArmError(
        409,
        'PacketCaptureSessionLimitReached',
        `Subscription '${watcher.subscriptionId}' already has ${inRegion} packet capture sessions in region ` +
          `'${watcher.location}'; the limit is ${this.settings.sessionLimit}. Delete finished sessions and retry.`,
      );
    }

    const now = this.clock.now();
    const startAt = now + this.settings.captureStartSeconds * 1000;
    // The create operation ends once the capture started and at least retryAfterSeconds after the PUT.
    const doneAt = Math.max(startAt, now + this.settings.retryAfterSeconds * 1000);
    const ring = this.ringOf(request, vm, name, startAt);
    const blobPath =
      ring?.storagePathBlob() ?? `${captureFolder(request.target, vm)}/${blobFileName(startAt)}`;
    const blobUrl = this.store.urlFor(blobPath, request.storageLocation.storageId);
    const operationId = randomUUID();
    const capture: CaptureRecord = {
      id,
      name,
      watcher,
      request,
      // Echo what the caller sent (spec example); Azure fills storagePath when the caller gave only a storageId.
      storageLocation: {
        ...request.storageLocation,
        ...(request.storageLocation.storagePath ? {} : { storagePath: blobUrl }),
      },
      vm,
      provisioningState: 'Updating',
      status: 'NotStarted',
      errors: [],
      createdAt: now,
      startAt,
      etag: `W/"${randomUUID()}"`,
      blobPath,
      blobUrl,
      ...(createOptions.failOperation
        ? {
            failure: {
              code: 'InternalServerError',
              message: `Packet capture session '${name}' could not be started: an internal error occurred (injected fault).`,
              errors: ['InternalError'],
            },
          }
        : {}),
      busy: { operationId, untilMs: doneAt },
      cancels: [],
      ...(ring ? { ring } : {}),
    };
    this.capturesById.set(id.toLowerCase(), capture);
    capture.cancels.push(this.clock.schedule(startAt, () => this.start(capture)));
    // Not among the cancels: start() replaces those, and this one must run whatever the capture does meanwhile.
    this.clock.schedule(doneAt, () => this.provisioned(capture, operationId));
    this.operations.set(operationId, {
      id: operationId,
      startedAt: now,
      doneAt,
      result: () =>
        capture.failure
          ? { status: 'Failed', error: { code: capture.failure.code, message: capture.failure.message } }
          : { status: 'Succeeded' },
    });
    return { body: captureBody(capture, false), operationId, remainingMs: doneAt - now };
  }

  /**
   * Deletes a capture (a running one is stopped without a file): `Deleting` for `retryAfterSeconds`, then gone.
   * Undefined when there was nothing to delete. 409 `AnotherOperationInProgress` while another operation runs on it.
   */
  deleteCapture(
    subscriptionId: string,
    resourceGroup: string,
    watcherName: string,
    name: string,
  ): Accepted<undefined> | undefined {
    const watcher = this.watcher(subscriptionId, resourceGroup, watcherName);
    const capture = this.capturesById.get(`${watcher.id}/packetCaptures/${name}`.toLowerCase());
    if (!capture) return undefined;
    this.refuseWhileBusy(capture);
    const now = this.clock.now();
    // Assumption (as for a single capture): deleting a running ring drops its open file; closed files stay.
    capture.ring?.stop(now, false);
    capture.cancels.forEach((cancel) => cancel());
    capture.cancels = [];
    capture.plan = undefined;
    if (capture.status === 'Running' || capture.status === 'NotStarted') {
      capture.status = 'Stopped';
      capture.stopReason = STOP_REASONS.manual;
    }
    capture.provisioningState = 'Deleting';
    const doneAt = now + this.settings.retryAfterSeconds * 1000;
    const remove = (): void => {
      if (this.capturesById.get(capture.id.toLowerCase()) === capture)
        this.capturesById.delete(capture.id.toLowerCase());
    };
    const accepted = this.succeedsAt(now, doneAt, 204);
    capture.busy = { operationId: accepted.operationId, untilMs: doneAt };
    if (doneAt <= now) remove();
    else capture.cancels.push(this.clock.schedule(doneAt, remove));
    return accepted;
  }

  /** Registers an operation that succeeds at `doneAt` and whose Location then answers `finalStatus`. */
  private succeedsAt(now: number, doneAt: number, finalStatus: 200 | 204): Accepted<undefined> {
    const operationId = randomUUID();
    this.operations.set(operationId, {
      id: operationId,
      startedAt: now,
      doneAt,
      result: () => ({ status: 'Succeeded' }),
      final: () => ({ status: finalStatus }),
    });
    return { body: undefined, operationId, remainingMs: doneAt - now };
  }

  /**
   * Stops a capture (`Manual`) at once; a stopped one stays as it is. The operation stays in progress for
   * `retryAfterSeconds`. 409 `AnotherOperationInProgress` while another operation runs on it.
   */
  stopCapture(
    subscriptionId: string,
    resourceGroup: string,
    watcherName: string,
    name: string,
  ): Accepted<undefined> {
    const capture = this.capture(subscriptionId, resourceGroup, watcherName, name);
    this.refuseWhileBusy(capture);
    const now = this.clock.now();
    if (capture.status === 'Running') this.finish(capture, STOP_REASONS.manual, now);
    else if (capture.status === 'NotStarted') {
      // Only a planted capture can be NotStarted once its create operation ended.
      capture.cancels.forEach((cancel) => cancel());
      capture.cancels = [];
      capture.status = 'Stopped';
      capture.stopReason = STOP_REASONS.manual;
    }
    const doneAt = now + this.settings.retryAfterSeconds * 1000;
    const accepted = this.succeedsAt(now, doneAt, 200);
    capture.busy = { operationId: accepted.operationId, untilMs: doneAt };
    return accepted;
  }

  /**
   * Microsoft.Network refuses a write on a resource while another operation on it runs: 409
   * `AnotherOperationInProgress`, quoting the operation's URL (code and message as reported in
   * Azure/bicep#5132 and microsoft/AzureTRE#2222).
   */
  private refuseWhileBusy(capture: CaptureRecord): void {
    const busy = capture.busy;
    if (!busy || this.clock.now() >= busy.untilMs) return;
    throw new ArmError(
      409,
      'AnotherOperationInProgress',
      'Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ' +
        `${this.operationUri(capture.watcher.subscriptionId, capture.watcher.location, busy.operationId)}.`,
    );
  }

  /** Starts a status query: the answer is ready at once, behind a Location URL. */
  queryStatus(
    subscriptionId: string,
    resourceGroup: string,
    watcherName: string,
    name: string,
  ): Accepted<unknown> {
    const capture = this.capture(subscriptionId, resourceGroup, watcherName, name);
    const now = this.clock.now();
    const operationId = randomUUID();
    this.operations.set(operationId, {
      id: operationId,
      startedAt: now,
      doneAt: now,
      result: () => ({ status: 'Succeeded' }),
      final: () => ({ status: 200, body: statusBody(capture) }),
    });
    return { body: statusBody(capture), operationId, remainingMs: 0 };
  }

  // ---- operations -----------------------------------------------------------------------------------------------

  /** An `Azure-AsyncOperation` answer: `{ status, error? }` and the emulated ms still to wait. */
  asyncOperation(operationId: string): { body: Record<string, unknown>; remainingMs: number } {
    const op = this.operation(operationId);
    const now = this.clock.now();
    if (now < op.doneAt) {
      return {
        body: { name: op.id, status: 'InProgress', startTime: isoMs(op.startedAt) },
        remainingMs: op.doneAt - now,
      };
    }
    const result = op.result();
    return {
      body: {
        name: op.id,
        status: result.status,
        startTime: isoMs(op.startedAt),
        endTime: isoMs(op.doneAt),
        ...(result.error ? { error: result.error } : {}),
      },
      remainingMs: 0,
    };
  }

  /** A `Location` answer: 202 while running, then the operation's final status and body. */
  locationResult(operationId: string): { status: number; body?: unknown; remainingMs: number } {
    const op = this.operation(operationId);
    const now = this.clock.now();
    if (now < op.doneAt) return { status: 202, remainingMs: op.doneAt - now };
    const final = op.final?.() ?? { status: 200 };
    return { ...final, remainingMs: 0 };
  }

  // ---- generic resources, tags and subscriptions (Microsoft.Resources) ---------------------------------------

  /**
   * The VMs and scale sets of a subscription (or one of its resource groups) as Resources - List answers them:
   * `{ id, name, type, location, tags }`, in registration order. Scale-set instances are not top-level resources
   * and are not listed.
   */
  genericResources(subscriptionId: string, resourceGroup?: string): GenericResource[] {
    const inScope = (v: VmRecord) =>
      same(v.subscriptionId, subscriptionId) &&
      (resourceGroup === undefined || same(v.resourceGroup, resourceGroup));
    const out = new Map<string, GenericResource>();
    for (const v of [...this.vms.values()].filter(inScope)) {
      const id = v.scaleSetId ?? v.id;
      if (out.has(id.toLowerCase())) continue;
      out.set(id.toLowerCase(), {
        id,
        name: id.split('/').pop()!,
        type: v.scaleSetId
          ? 'Microsoft.Compute/virtualMachineScaleSets'
          : 'Microsoft.Compute/virtualMachines',
        location: v.location,
        tags: this.tagsOf(id),
      });
    }
    return [...out.values()];
  }

  /**
   * The tags of a VM or scale set the emulator knows, with the id in its registered casing. 404 `ResourceNotFound`
   * for anything else (the emulator keeps no tags on subscriptions, resource groups or other resources).
   */
  resourceTags(resourceId: string): { id: string; tags: Tags } {
    const vm = this.vms.get(resourceId.toLowerCase());
    const id =
      vm && vm.scaleSetId === undefined
        ? vm.id
        : [...this.vms.values()].find((v) => v.scaleSetId !== undefined && same(v.scaleSetId, resourceId))
            ?.scaleSetId;
    if (id === undefined) throw resourceIdNotFound(resourceId);
    return { id, tags: this.tagsOf(id) };
  }

  /** Replaces the tags of a resource {@link resourceTags} knows. */
  setResourceTags(resourceId: string, tags: Tags): void {
    this.tagsById.set(this.resourceTags(resourceId).id.toLowerCase(), { ...tags });
  }

  /** The subscriptions the emulator knows (those of its VMs and watchers), in the order they were first seen. */
  subscriptionIds(): string[] {
    const ids = new Map<string, string>();
    for (const r of [...this.vms.values(), ...this.watchers.values()]) {
      if (!ids.has(r.subscriptionId.toLowerCase())) ids.set(r.subscriptionId.toLowerCase(), r.subscriptionId);
    }
    return [...ids.values()];
  }

  private tagsOf(resourceId: string): Tags {
    return { ...(this.tagsById.get(resourceId.toLowerCase()) ?? {}) };
  }

  // ---- virtual machines and the agent extension ---------------------------------------------------------------

  /** A VM's wire body (Microsoft.Compute shape, the fields callers read). */
  getVm(subscriptionId: string, resourceGroup: string, name: string): unknown {
    return this.vmBody(this.vm(subscriptionId, resourceGroup, name));
  }

  /**
   * A scale set's wire body (`VirtualMachineScaleSet`, Uniform orchestration), made from its registered instances:
   * region and OS type of the first one, `sku.capacity` the number of instances. 404 `ResourceNotFound` when no
   * instance of it is registered.
   */
  getScaleSet(subscriptionId: string, resourceGroup: string, name: string): unknown {
    const first = this.firstInstance(subscriptionId, resourceGroup, name);
    const scaleSetId = first.scaleSetId!;
    const instances = this.instancesOf(scaleSetId);
    const scaleSetName = scaleSetId.split('/').pop()!;
    const hash = createHash('sha256').update(scaleSetId.toLowerCase()).digest();
    return {
      id: scaleSetId,
      name: scaleSetName,
      type: 'Microsoft.Compute/virtualMachineScaleSets',
      location: first.location,
      tags: this.tagsOf(scaleSetId),
      sku: { name: VM_SIZE, tier: 'Standard', capacity: instances.length },
      properties: {
        singlePlacementGroup: true,
        orchestrationMode: 'Uniform',
        upgradePolicy: { mode: 'Manual' },
        virtualMachineProfile: {
          osProfile: {
            computerNamePrefix: computerNamePrefix(scaleSetName),
            adminUsername: 'azureuser',
            ...osConfiguration(first.osType),
          },
          storageProfile: {
            osDisk: { osType: first.osType, createOption: 'FromImage', caching: 'ReadWrite' },
          },
          networkProfile: {
            networkInterfaceConfigurations: [{ name: `${scaleSetName}-nic`, properties: { primary: true } }],
          },
          extensionProfile: { extensions: this.scaleSetExtensions(first) },
        },
        provisioningState: 'Succeeded',
        overprovision: false,
        uniqueId: formatGuid(hash),
      },
    };
  }

  /** A scale-set instance's wire body (`VirtualMachineScaleSetVM`). 404 `ResourceNotFound` when not registered. */
  getScaleSetVm(
    subscriptionId: string,
    resourceGroup: string,
    scaleSetName: string,
    instanceId: string,
  ): unknown {
    return this.vmBody(this.scaleSetVm(subscriptionId, resourceGroup, scaleSetName, instanceId));
  }

  /**
   * A scale-set instance's extensions (`VirtualMachineScaleSetVMExtension` list), `{ value: [...] }`: those it was
   * registered with. 404 `ResourceNotFound` when the instance is not registered.
   */
  listScaleSetVmExtensions(
    subscriptionId: string,
    resourceGroup: string,
    scaleSetName: string,
    instanceId: string,
    withInstanceView: boolean,
  ): unknown {
    const vm = this.scaleSetVm(subscriptionId, resourceGroup, scaleSetName, instanceId);
    return {
      value: [...vm.extensions.values()].map((e) => ({
        ...this.extensionBody(e, withInstanceView),
        type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions',
      })),
    };
  }

  private scaleSetVm(
    subscriptionId: string,
    resourceGroup: string,
    scaleSetName: string,
    instanceId: string,
  ): VmRecord {
    const id = `${scaleSetIdOf(subscriptionId, resourceGroup, scaleSetName)}/virtualMachines/${instanceId}`;
    const vm = this.vms.get(id.toLowerCase());
    if (!vm) {
      throw resourceNotFound(
        'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
        `${scaleSetName}/${instanceId}`,
        resourceGroup,
      );
    }
    return vm;
  }

  /** The Microsoft.Compute body of a VM or of a scale-set instance. */
  private vmBody(vm: VmRecord): unknown {
    const extensions = [...vm.extensions.values()].map((e) => this.extensionBody(e));
    const instance = vm.scaleSetId !== undefined && vm.instanceId !== undefined;
    const nicId = instance
      ? `${vm.id}/networkInterfaces/${vm.scaleSetId!.split('/').pop()!}-nic`
      : `/subscriptions/${vm.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Network/networkInterfaces/${vm.name}-nic`;
    return {
      id: vm.id,
      name: vm.name,
      type: instance
        ? 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines'
        : 'Microsoft.Compute/virtualMachines',
      location: vm.location,
      tags: instance ? {} : this.tagsOf(vm.id),
      ...(instance ? { instanceId: vm.instanceId, sku: { name: VM_SIZE, tier: 'Standard' } } : {}),
      properties: {
        ...(instance ? { latestModelApplied: true, modelDefinitionApplied: 'VirtualMachineScaleSet' } : {}),
        vmId: vm.vmId,
        hardwareProfile: { vmSize: VM_SIZE },
        osProfile: {
          computerName: instance ? instanceComputerName(vm.scaleSetId!, vm.instanceId!) : vm.name,
          adminUsername: 'azureuser',
          ...osConfiguration(vm.osType),
        },
        storageProfile: {
          osDisk: {
            osType: vm.osType,
            name: `${vm.name}_OsDisk`,
            createOption: 'FromImage',
            caching: 'ReadWrite',
          },
        },
        networkProfile: { networkInterfaces: [{ id: nicId, properties: { primary: true } }] },
        provisioningState: 'Succeeded',
      },
      ...(extensions.length > 0 ? { resources: extensions } : {}),
    };
  }

  /** An extension's wire body. */
  getExtension(
    subscriptionId: string,
    resourceGroup: string,
    vmName: string,
    name: string,
    withInstanceView = false,
  ): unknown {
    const vm = this.vm(subscriptionId, resourceGroup, vmName);
    const ext = vm.extensions.get(name.toLowerCase());
    if (!ext)
      throw resourceNotFound(
        'Microsoft.Compute/virtualMachines/extensions',
        `${vm.name}/${name}`,
        vm.resourceGroup,
      );
    return this.extensionBody(ext, withInstanceView);
  }

  /** Compute's "list VM extensions": every extension of a VM, `{ value: [...] }`. */
  listExtensions(
    subscriptionId: string,
    resourceGroup: string,
    vmName: string,
    withInstanceView: boolean,
  ): unknown {
    const vm = this.vm(subscriptionId, resourceGroup, vmName);
    return { value: [...vm.extensions.values()].map((e) => this.extensionBody(e, withInstanceView)) };
  }

  /**
   * A scale set's model extensions (`VirtualMachineScaleSetExtension`), `{ value: [...] }`. The model is made from
   * the first registered instance (as its region and OS type are).
   */
  listScaleSetExtensions(subscriptionId: string, resourceGroup: string, name: string): unknown {
    const first = this.firstInstance(subscriptionId, resourceGroup, name);
    return { value: this.scaleSetExtensions(first) };
  }

  /** Creates or updates an extension; the Network Watcher agent is ready after `agentInstallSeconds`. */
  putExtension(
    subscriptionId: string,
    resourceGroup: string,
    vmName: string,
    name: string,
    body: unknown,
    putOptions: { failOperation: boolean },
  ): Accepted<unknown> & { created: boolean } {
    const vm = this.vm(subscriptionId, resourceGroup, vmName);
    const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<
      string,
      unknown
    >;
    const properties = b.properties;
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
      throw new ArmError(400, 'InvalidParameter', "Required parameter 'properties' is missing (null).");
    }
    const props = properties as Record<string, unknown>;
    if (typeof b.location !== 'string' || b.location === '') {
      throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
    }
    for (const field of ['publisher', 'type', 'typeHandlerVersion'] as const) {
      if (typeof props[field] !== 'string' || props[field] === '') {
        throw new ArmError(
          400,
          'InvalidParameter',
          `Required parameter 'properties.${field}' is missing or not a string.`,
        );
      }
    }
    const isAgent = same(props.publisher as string, NW_PUBLISHER);
    if (isAgent && !NW_AGENT_TYPES.some((t) => same(t, props.type as string))) {
      throw new ArmError(
        400,
        'InvalidParameter',
        `Extension type '${String(props.type)}' is not offered by publisher ${NW_PUBLISHER}; use ${NW_AGENT_TYPES.join(' or ')}.`,
      );
    }
    if (isAgent && !same(props.type as string, `NetworkWatcherAgent${vm.osType}`)) {
      throw new ArmError(
        400,
        'OperationNotAllowed',
        `Extension type '${String(props.type)}' cannot be installed on a ${vm.osType} virtual machine.`,
      );
    }
    // Compute keeps one extension per handler (publisher + type), whatever the names: a second one under another
    // name is refused. Code and message as Compute answers them (MicrosoftDocs/azure-docs#55085,
    // Azure/azure-quickstart-templates#4493).
    const clash = [...vm.extensions.values()].find(
      (e) =>
        !same(e.name, name) &&
        typeof e.properties.publisher === 'string' &&
        typeof e.properties.type === 'string' &&
        same(e.properties.publisher, props.publisher as string) &&
        same(e.properties.type, props.type as string),
    );
    if (clash) {
      throw new ArmError(
        400,
        'BadRequest',
        `Multiple VMExtensions per handler not supported for OS type '${vm.osType}'. VMExtension '${clash.name}' ` +
          `with handler '${String(clash.properties.publisher)}.${String(clash.properties.type)}' already added or specified in input.`,
      );
    }
    const now = this.clock.now();
    const created = !vm.extensions.has(name.toLowerCase());
    const readyAt = now + (isAgent ? this.settings.agentInstallSeconds * 1000 : 0);
    const ext: ExtensionRecord = {
      id: `${vm.id}/extensions/${name}`,
      name,
      location: vm.location,
      properties: { ...props },
      createdAt: now,
      readyAt,
    };
    const failOperation = putOptions.failOperation;
    if (failOperation) ext.readyAt = Number.POSITIVE_INFINITY;
    vm.extensions.set(name.toLowerCase(), ext);
    const operationId = randomUUID();
    this.operations.set(operationId, {
      id: operationId,
      startedAt: now,
      doneAt: readyAt,
      result: () =>
        failOperation
          ? {
              status: 'Failed',
              error: {
                code: 'VMExtensionProvisioningError',
                message: `VM has reported a failure when processing extension '${name}' (injected fault).`,
              },
            }
          : { status: 'Succeeded' },
    });
    const answer = this.extensionBody(ext);
    if (failOperation) answer.properties.provisioningState = 'Creating';
    return { body: answer, operationId, remainingMs: readyAt - now, created };
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  private start(capture: CaptureRecord): void {
    capture.cancels = [];
    // A failing create never starts: provisioned() marks it Failed when its operation ends.
    if (capture.failure) return;
    if (!this.agentReady(capture.vm)) {
      if (this.settings.missingAgent === 'createFails') {
        capture.failure = {
          code: 'NetworkWatcherAgentNotReady',
          message:
            `Packet capture session '${capture.name}' could not be started: the Network Watcher agent extension ` +
            `on '${capture.vm.id}' is not installed or not in provisioning state Succeeded.`,
          errors: ['AgentStopped'],
        };
        return;
      }
      // Without a running agent nothing can capture: the session shows Error with AgentStopped.
      capture.status = 'Error';
      capture.errors = ['AgentStopped'];
      return;
    }
    this.run(capture, capture.startAt);
  }

  /** Runs a capture from `startAt` until its time or byte limit. */
  private run(capture: CaptureRecord, startAt: number): void {
    capture.status = 'Running';
    capture.captureStartTimeMs = startAt;
    if (capture.ring) {
      capture.ring.start();
      return;
    }
    const limitSeconds = capture.request.timeLimitInSeconds || DEFAULT_TIME_LIMIT_SECONDS;
    let stopAt = startAt + limitSeconds * 1000;
    let reason: string = STOP_REASONS.time;
    try {
      capture.plan = this.synthesize(capture, limitSeconds);
      if (capture.plan.bytesLimitReached) {
        stopAt = Math.min(stopAt, Math.max(startAt, capture.plan.lastPacketTime.getTime()));
        reason = STOP_REASONS.bytes;
      }
    } catch {
      capture.status = 'Error';
      capture.errors = ['CaptureFailed'];
      return;
    }
    capture.cancels.push(this.clock.schedule(stopAt, () => this.finish(capture, reason, stopAt)));
  }

  /** The create operation ended: the resource is Succeeded, or Failed (and the session in Error) with its reason. */
  private provisioned(capture: CaptureRecord, operationId: string): void {
    if (capture.busy?.operationId === operationId) capture.busy = undefined;
    if (this.capturesById.get(capture.id.toLowerCase()) !== capture) return;
    if (capture.provisioningState !== 'Updating') return;
    if (!capture.failure) {
      capture.provisioningState = 'Succeeded';
      return;
    }
    capture.cancels.forEach((cancel) => cancel());
    capture.cancels = [];
    capture.provisioningState = 'Failed';
    capture.status = 'Error';
    capture.errors = [...capture.failure.errors];
  }

  /** Stops a capture; its file reaches storage `uploadDelaySeconds` later (the agent uploads after the stop). */
  private finish(capture: CaptureRecord, reason: string, atMs: number): void {
    capture.cancels.forEach((cancel) => cancel());
    capture.cancels = [];
    capture.status = 'Stopped';
    capture.stopReason = reason;
    if (capture.ring) {
      capture.ring.stop(atMs, true);
      return;
    }
    const plan = capture.plan;
    capture.plan = undefined;
    if (!plan) return;
    // The plan covers the whole time limit; a manual stop keeps the packets captured until then.
    const file =
      reason === STOP_REASONS.manual ? cutPcap(plan.file, atMs) : { file: plan.file, packets: plan.packets };
    capture.packets = file.packets;
    const uploadAt = Math.max(this.clock.now(), atMs + this.settings.uploadDelaySeconds * 1000);
    // Not among the capture's cancels: deleting the capture resource does not stop the agent's upload.
    this.clock.schedule(uploadAt, () => this.upload(capture, file.file));
  }

  private upload(capture: CaptureRecord, data: Buffer): void {
    const skew = this.settings.fileNameSkewMs;
    const blobPath =
      skew === 0
        ? capture.blobPath
        : `${captureFolder(capture.request.target, capture.vm)}/${blobFileName(capture.startAt + skew)}`;
    const upload = this.store
      .upload(blobPath, data)
      .then(() => {
        // Network Watcher keeps reporting the path it announced, even when the agent named the file otherwise.
        if (skew === 0) capture.storageLocation.storagePath = capture.blobUrl;
        capture.uploadedAt = this.clock.now();
        capture.uploadedBlobPath = blobPath;
      })
      .catch(() => {
        capture.status = 'Error';
        capture.errors = ['StorageFailed'];
      })
      .finally(() => this.pending.delete(upload));
    this.pending.add(upload);
  }

  /**
   * The ring recorder of a continuous capture, or undefined for a single-file one: `continuousCapture: true`, or
   * `false` when the `continuousFalse` assumption is `stopAtFileCount`; absent (null) is a classic capture.
   */
  private ringOf(
    request: CaptureRequest,
    vm: VmRecord,
    name: string,
    startAt: number,
  ): RingRecorder | undefined {
    const continuous = request.continuousCapture;
    if (continuous === undefined) return undefined;
    if (continuous === false && this.settings.continuousFalse === 'singleFile') return undefined;
    const settings = request.captureSettings ?? {};
    // Assumption: 0 (the spec's minimum) means the default, as 0 does for timeLimitInSeconds.
    const fileCount = settings.fileCount || RING_DEFAULTS.fileCount;
    const fileSizeInBytes = settings.fileSizeInBytes || RING_DEFAULTS.fileSizeInBytes;
    let limitSeconds = settings.sessionTimeLimitInSeconds || RING_DEFAULTS.sessionTimeLimitInSeconds;
    if (this.settings.ringSessionEnd === 'shorterOfBoth') {
      limitSeconds = Math.min(limitSeconds, request.timeLimitInSeconds || DEFAULT_TIME_LIMIT_SECONDS);
    }
    let capture: CaptureRecord | undefined;
    const recorder = new RingRecorder(
      this.clock,
      this.store,
      {
        fileCount,
        fileSizeInBytes,
        endAt: startAt + limitSeconds * 1000,
        mode: continuous ? 'ring' : 'stopAtFileCount',
        layout: this.settings.ringBlobLayout,
        deleteWhen: this.settings.ringDeleteWhen,
        uploadDelaySeconds: this.settings.ringUploadDelaySeconds,
      },
      { vmFolder: captureFolder(request.target, vm), captureName: name, startAt },
      (fromMs, seconds) =>
        synthesizeCapture({
          vmId: vm.id,
          localIp: vm.localIp,
          startTime: new Date(fromMs),
          durationSeconds: seconds,
          filters: request.filters,
          bytesToCapturePerPacket: request.bytesToCapturePerPacket,
          totalBytesPerSession: Number.MAX_SAFE_INTEGER,
          events: this.eventsOf(vm),
        }),
      (p) => {
        const tracked = p
          .catch(() => {
            if (capture) {
              capture.status = 'Error';
              capture.errors = ['StorageFailed'];
            }
          })
          .finally(() => this.pending.delete(tracked));
        this.pending.add(tracked);
      },
      (reason) => {
        capture = [...this.capturesById.values()].find((c) => c.ring === recorder);
        if (!capture) return;
        capture.status = 'Stopped';
        capture.stopReason = reason === 'time' ? STOP_REASONS.time : STOP_REASONS.bytes;
      },
    );
    return recorder;
  }

  private synthesize(capture: CaptureRecord, durationSeconds: number): SynthesizedCapture {
    return synthesizeCapture({
      vmId: capture.vm.id,
      localIp: capture.vm.localIp,
      startTime: new Date(capture.startAt),
      durationSeconds,
      filters: capture.request.filters,
      bytesToCapturePerPacket: capture.request.bytesToCapturePerPacket,
      totalBytesPerSession: capture.request.totalBytesPerSession,
      events: this.eventsOf(capture.vm),
    });
  }

  private agentReady(vm: VmRecord): boolean {
    return [...vm.extensions.values()].some(
      (e) => isAgentExtension(e) && this.extensionState(e) === 'Succeeded',
    );
  }

  /** Where an extension stands: its registered state, else Failed (failed PUT), Succeeded once ready, else Creating. */
  private extensionState(ext: ExtensionRecord): AgentState | 'Creating' {
    if (ext.fixedState) return ext.fixedState;
    if (!Number.isFinite(ext.readyAt)) return 'Failed';
    return ext.readyAt <= this.clock.now() ? 'Succeeded' : 'Creating';
  }

  // ---- lookups --------------------------------------------------------------------------------------------------

  /**
   * The machine a capture runs on. For a scale set: the first instance of `scope.include` (each of which must be
   * registered: 400 naming the entry otherwise), or without one the first registered instance not in
   * `scope.exclude`. The emulator runs a capture on one machine, so further `include` entries are checked but not
   * captured.
   */
  private targetVm(request: CaptureRequest): VmRecord {
    const [, , , , rg, , , , name] = request.target.split('/');
    if (request.targetType === 'AzureVMSS') {
      const instances = this.instancesOf(request.target);
      if (instances.length === 0) {
        throw resourceNotFound('Microsoft.Compute/virtualMachineScaleSets', name ?? request.target, rg ?? '');
      }
      const known = instances.map((v) => v.instanceId!);
      const find = (instanceId: string) => instances.find((v) => same(v.instanceId!, instanceId));
      const include = request.scope?.include ?? [];
      include.forEach((instanceId, i) => {
        if (!find(instanceId)) {
          throw invalidRequestFormat(
            `properties.scope.include[${i}]`,
            `names instance '${instanceId}', which scale set '${name ?? request.target}' does not have (its instances: ${known.join(', ')})`,
          );
        }
      });
      const exclude = request.scope?.exclude ?? [];
      const chosen =
        include.length > 0
          ? find(include[0]!)
          : instances.find((v) => !exclude.some((x) => same(x, v.instanceId!)));
      if (!chosen) {
        throw invalidRequestFormat(
          'properties.scope.exclude',
          `leaves no instance of scale set '${name ?? request.target}' to capture on`,
        );
      }
      return chosen;
    }
    const vm = this.vms.get(request.target.toLowerCase());
    if (!vm) throw resourceNotFound('Microsoft.Compute/virtualMachines', name ?? request.target, rg ?? '');
    return vm;
  }

  /** The registered instances of a scale set, in registration order. */
  private instancesOf(scaleSetId: string): VmRecord[] {
    return [...this.vms.values()].filter((v) => v.scaleSetId !== undefined && same(v.scaleSetId, scaleSetId));
  }

  private watcher(subscriptionId: string, resourceGroup: string, name: string): WatcherRecord {
    const id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/networkWatchers/${name}`;
    const watcher = this.watchers.get(id.toLowerCase());
    if (!watcher) throw resourceNotFound('Microsoft.Network/networkWatchers', name, resourceGroup);
    return watcher;
  }

  private capture(
    subscriptionId: string,
    resourceGroup: string,
    watcherName: string,
    name: string,
  ): CaptureRecord {
    const watcher = this.watcher(subscriptionId, resourceGroup, watcherName);
    const capture = this.capturesById.get(`${watcher.id}/packetCaptures/${name}`.toLowerCase());
    if (!capture)
      throw resourceNotFound(
        'Microsoft.Network/networkWatchers/packetCaptures',
        `${watcher.name}/${name}`,
        resourceGroup,
      );
    return capture;
  }

  private vm(subscriptionId: string, resourceGroup: string, name: string): VmRecord {
    const id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`;
    const vm = this.vms.get(id.toLowerCase());
    if (!vm) throw resourceNotFound('Microsoft.Compute/virtualMachines', name, resourceGroup);
    return vm;
  }

  private operation(operationId: string): OperationRecord {
    const op = this.operations.get(operationId);
    if (!op) throw new ArmError(404, 'OperationNotFound', `Operation '${operationId}' was not found.`);
    return op;
  }

  /**
   * An extension's wire body. A registered `Transitioning` agent reports provisioningState `Updating` (an operation
   * on it that has not ended); `$expand=instanceView` adds the instance view with Compute's
   * `ProvisioningState/<state>` status codes.
   */
  private extensionBody(
    ext: ExtensionRecord,
    withInstanceView = false,
  ): { properties: Record<string, unknown> } & Record<string, unknown> {
    const state = this.extensionState(ext);
    const provisioningState = state === 'Transitioning' ? 'Updating' : state;
    return {
      id: ext.id,
      name: ext.name,
      type: 'Microsoft.Compute/virtualMachines/extensions',
      location: ext.location,
      properties: {
        ...ext.properties,
        provisioningState,
        ...(withInstanceView ? { instanceView: instanceView(ext, state) } : {}),
      },
    };
  }

  /** The scale-set model's extensions, made from one instance's. */
  private scaleSetExtensions(instance: VmRecord): unknown[] {
    const scaleSetId = instance.scaleSetId!;
    return [...instance.extensions.values()].map((e) => {
      const state = this.extensionState(e);
      return {
        id: `${scaleSetId}/extensions/${e.name}`,
        name: e.name,
        type: 'Microsoft.Compute/virtualMachineScaleSets/extensions',
        properties: { ...e.properties, provisioningState: state === 'Transitioning' ? 'Updating' : state },
      };
    });
  }

  /** The first registered instance of a scale set; 404 `ResourceNotFound` when none is. */
  private firstInstance(subscriptionId: string, resourceGroup: string, name: string): VmRecord {
    const first = this.instancesOf(scaleSetIdOf(subscriptionId, resourceGroup, name))[0];
    if (!first) throw resourceNotFound('Microsoft.Compute/virtualMachineScaleSets', name, resourceGroup);
    return first;
  }
}

/**
 * Keeps the records of a classic little-endian microsecond pcap file (what the synthesizer writes) up to `untilMs`.
 * The synthesizer's traffic depends on the whole window, so a shorter capture is cut from the planned one
 * rather than synthesized again.
 */
function cutPcap(file: Buffer, untilMs: number): { file: Buffer; packets: number } {
  let at = 24;
  let packets = 0;
  while (at + 16 <= file.length) {
    const timeMs = file.readUInt32LE(at) * 1000 + file.readUInt32LE(at + 4) / 1000;
    if (timeMs > untilMs) break;
    at += 16 + file.readUInt32LE(at + 8);
    packets += 1;
  }
  return { file: file.subarray(0, Math.min(at, file.length)), packets };
}

function isAgentExtension(e: ExtensionRecord): boolean {
  return (
    typeof e.properties.publisher === 'string' &&
    same(e.properties.publisher, NW_PUBLISHER) &&
    NW_AGENT_TYPES.some((t) => typeof e.properties.type === 'string' && same(t, e.properties.type))
  );
}

function watcherBody(w: WatcherRecord): unknown {
  return {
    name: w.name,
    id: w.id,
    etag: w.etag,
    type: 'Microsoft.Network/networkWatchers',
    location: w.location,
    tags: {},
    properties: { provisioningState: 'Succeeded' },
  };
}

/** `PacketCaptureResult`. The Create example's 201 carries no etag; Get and List do. */
function captureBody(c: CaptureRecord, withEtag: boolean): unknown {
  const r = c.request;
  return {
    name: c.name,
    id: c.id,
    ...(withEtag ? { etag: c.etag } : {}),
    properties: {
      target: r.target,
      ...(r.targetType === undefined ? {} : { targetType: r.targetType }),
      ...(r.scope === undefined ? {} : { scope: r.scope }),
      bytesToCapturePerPacket: r.bytesToCapturePerPacket,
      totalBytesPerSession: r.totalBytesPerSession,
      timeLimitInSeconds: r.timeLimitInSeconds,
      storageLocation: { ...c.storageLocation },
      filters: r.filters,
      ...(r.continuousCapture === undefined ? {} : { continuousCapture: r.continuousCapture }),
      ...(r.captureSettings === undefined ? {} : { captureSettings: r.captureSettings }),
      provisioningState: c.provisioningState,
    },
  };
}

/** `PacketCaptureQueryStatusResult`. */
function statusBody(c: CaptureRecord): unknown {
  return {
    name: c.name,
    id: c.id,
    ...(c.captureStartTimeMs === undefined ? {} : { captureStartTime: isoMs(c.captureStartTimeMs) }),
    packetCaptureStatus: c.status,
    ...(c.stopReason === undefined ? {} : { stopReason: c.stopReason }),
    packetCaptureError: [...c.errors],
  };
}

/** `packetcapture_HH_mm_ss_fff.cap` under `yyyy/MM/dd`, UTC. */
function blobFileName(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/` +
    `packetcapture_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}_${p(d.getUTCMilliseconds(), 3)}.cap`
  );
}

function normalizeLocation(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new RegistrationError(
      `${field} must be a region name such as "westeurope", found ${JSON.stringify(value)}`,
    );
  }
  // ARM accepts "West Europe" and answers "westeurope".
  return value.replace(/\s+/g, '').toLowerCase();
}

/** ARM's 404 for a resource id the emulator does not know: `{type}/{name}` under its resource group. */
function resourceIdNotFound(resourceId: string): ArmError {
  const m = /\/resourceGroups\/([^/]+)\/providers\/([^/]+\/[^/]+)\/([^/]+)/i.exec(resourceId);
  return resourceNotFound(m?.[2] ?? 'resource', m?.[3] ?? resourceId, m?.[1] ?? '');
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function formatGuid(bytes: Buffer): string {
  const h = bytes.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

function scaleSetIdOf(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;
}

function osConfiguration(osType: 'Linux' | 'Windows'): Record<string, unknown> {
  return osType === 'Linux'
    ? { linuxConfiguration: { disablePasswordAuthentication: true, provisionVMAgent: true } }
    : { windowsConfiguration: { provisionVMAgent: true, enableAutomaticUpdates: true } };
}

/** A Uniform scale set's computer name prefix: its name, at most 9 characters (what the portal proposes). */
function computerNamePrefix(scaleSetName: string): string {
  return (
    scaleSetName
      .replace(/[^a-z0-9-]/gi, '')
      .slice(0, 9)
      .toLowerCase() || 'vmss'
  );
}

/** A Uniform instance's computer name: the prefix and the instance id in base 36 on six digits ("web-vmss000003"). */
function instanceComputerName(scaleSetId: string, instanceId: string): string {
  const n = Number(instanceId);
  const suffix = Number.isInteger(n) && n >= 0 ? n.toString(36).padStart(6, '0') : instanceId;
  return `${computerNamePrefix(scaleSetId.split('/').pop()!)}${suffix}`;
}

/** An extension's instance view: Compute's `ProvisioningState/<state>` status. */
function instanceView(ext: ExtensionRecord, state: AgentState | 'Creating'): unknown {
  const display: Record<AgentState | 'Creating', [string, string]> = {
    Succeeded: ['succeeded', 'Provisioning succeeded'],
    Failed: ['failed', 'Provisioning failed'],
    Transitioning: ['transitioning', 'Transitioning'],
    Creating: ['transitioning', 'Transitioning'],
  };
  const [code, displayStatus] = display[state];
  return {
    name: ext.name,
    type: String(ext.properties.type),
    typeHandlerVersion: String(ext.properties.typeHandlerVersion),
    statuses: [
      {
        code: `ProvisioningState/${code}`,
        level: state === 'Failed' ? 'Error' : 'Info',
        displayStatus,
      },
    ],
  };
}

/**
 * The blob folder of a capture's files, as Network Watcher documents it: `subscriptions/{sub}/resourcegroups/{rg}/
 * providers/microsoft.compute/virtualmachines/{vm}` for a VM, and for one scale-set instance
 * `.../microsoft.compute/virtualmachinescalesets/{vmss}/virtualMachines/{instance}` (MicrosoftDocs/azure-docs,
 * articles/network-watcher/network-watcher-packet-capture-manage-powershell-vmss.md, "Download a packet capture").
 * The resource part is lower case, as in the documented examples; `virtualMachines` keeps the documented casing.
 */
function captureFolder(target: string, vm: { instanceId?: string }): string {
  const base = target.toLowerCase().replace(/^\//, '');
  return vm.instanceId === undefined ? base : `${base}/virtualMachines/${vm.instanceId}`;
}

/**
 * The machine of a planted capture whose target is not registered: enough to synthesize its traffic and name its
 * file (a scale set's first instance, "0"), never listed as a VM.
 */
function detachedVm(target: string, location: string, scaleSet: boolean): VmRecord {
  const [, , subscriptionId, , resourceGroup, , , , name] = target.split('/');
  const hash = createHash('sha256').update(target.toLowerCase()).digest();
  return {
    id: scaleSet ? `${target}/virtualMachines/0` : target,
    subscriptionId: subscriptionId!,
    resourceGroup: resourceGroup!,
    name: scaleSet ? `${name!}_0` : name!,
    ...(scaleSet ? { scaleSetId: target, instanceId: '0' } : {}),
    location,
    osType: 'Linux',
    vmId: formatGuid(hash),
    localIp: `10.${hash[16]! % 256}.${hash[17]! % 256}.${4 + (hash[18]! % 251)}`,
    extensions: new Map(),
  };
}
