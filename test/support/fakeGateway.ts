import type { PacketCapture } from '@azure/arm-network';
import { RestError } from '@azure/core-rest-pipeline';
import type {
  AgentStatus,
  CaptureGateway,
  CaptureResource,
  CreatedCapture,
  GatewayCallOptions,
  ListedCapture,
  OperationAnswer,
  SideEffectAnswer,
  StatusAnswer,
  WatcherRef,
} from '../../src/azure/captureGateway.js';
import type { CaptureTarget } from '../../src/captures/captureTarget.js';
import { SUB, SUB_ID } from './alertPayloads.js';

/** One capture the fake holds. */
export interface FakeCapture {
  name: string;
  target: string;
  watcherId: string;
  status: 'NotStarted' | 'Running' | 'Stopped' | 'Error';
  stopReason?: string;
  errors: string[];
  provisioningState: 'Updating' | 'Succeeded' | 'Failed';
  /** How its create operation ends. */
  createOutcome: OperationAnswer;
  /** Order of creation, 1, 2, 3...: which capture is the newer one. */
  serial: number;
}

/** A call the fake received. */
export interface FakeCall {
  method: keyof CaptureGateway;
  name?: string;
}

/** A call held until the test releases it. */
export interface Hold {
  /** Resolves once a matching call arrived (and is now waiting). */
  reached: Promise<void>;
  /** Lets the held call go on: its effect lands now, as a slow request landing late at ARM would. */
  release(): void;
}

interface PendingHold {
  method: keyof CaptureGateway;
  name?: string;
  arrive: () => void;
  gate: Promise<void>;
}

/**
 * An in-memory stand-in for the ARM gateway (our `CaptureGateway` interface, not a mock of the SDK), with the
 * behaviour the lifecycle depends on: captures per watcher and name, a 409 `PacketCaptureAlreadyExists` on a
 * taken name, statuses a test moves, create operations that succeed or fail with Azure's error. Any call can be
 * held ({@link FakeGateway.hold}) until the test releases it, which makes a race between two records one
 * deterministic test; a held DELETE or stop takes effect on release, as a request delayed in flight (an SDK
 * retry after a 429) lands late at ARM.
 */
export class FakeGateway implements CaptureGateway {
  readonly calls: FakeCall[] = [];
  private readonly vms = new Map<string, { location: string; agent: AgentStatus }>();
  private readonly captures = new Map<string, FakeCapture>();
  private readonly holds: PendingHold[] = [];
  private readonly failures: { method: keyof CaptureGateway; name?: string; error: Error }[] = [];
  private serial = 0;

  /** Registers a VM (the region's watcher exists) with an installed agent unless told otherwise. */
  addVm(vmId: string, location: string, agent: AgentStatus = { state: 'installed' }): void {
    this.vms.set(vmId.toLowerCase(), { location, agent });
  }

  /** The watcher of a region. */
  watcher(region: string): WatcherRef {
    return {
      id: `${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_${region}`,
      subscriptionId: SUB_ID,
      resourceGroup: 'NetworkWatcherRG',
      name: `NetworkWatcher_${region}`,
      location: region,
    };
  }

  /** Holds the next call of `method` (on capture `name`, if given) until the test releases it. */
  hold(method: keyof CaptureGateway, name?: string): Hold {
    let arrive!: () => void;
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ method, name, arrive, gate });
    return { reached, release };
  }

  /** Makes the next call of `method` (on `name`, if given) fail with `error`. */
  failNext(method: keyof CaptureGateway, error: Error, name?: string): void {
    this.failures.push({ method, name, error });
  }

  /** Every capture, oldest first. */
  list(): FakeCapture[] {
    return [...this.captures.values()].sort((a, b) => a.serial - b.serial);
  }

  /** The capture of that name (in any watcher). */
  capture(name: string): FakeCapture | undefined {
    return this.list().find((c) => c.name.toLowerCase() === name.toLowerCase());
  }

  /** Moves a capture's status, as Network Watcher does when it starts, stops or fails. */
  setStatus(name: string, status: FakeCapture['status'], stopReason?: string): void {
    const c = this.capture(name);
    if (!c) throw new Error(`no capture ${name}`);
    c.status = status;
    c.stopReason = stopReason;
    if (status !== 'NotStarted') c.provisioningState = 'Succeeded';
  }

  /** Makes the create operation of a capture fail with Azure's error (the capture stays, provisioningState Failed). */
  failCreate(name: string, code: string, message: string): void {
    const c = this.capture(name);
    if (!c) throw new Error(`no capture ${name}`);
    c.createOutcome = { status: 'Failed', error: { code, message } };
    c.provisioningState = 'Failed';
  }

  /** Plants a capture made by a person. */
  plant(region: string, name: string, target: string, status: FakeCapture['status']): void {
    this.put(this.watcher(region), name, target);
    this.setStatus(name, status);
  }

  private async gate(method: keyof CaptureGateway, name?: string): Promise<void> {
    this.calls.push({ method, name });
    const matches = (h: { method: string; name?: string }) =>
      h.method === method && (h.name === undefined || h.name.toLowerCase() === name?.toLowerCase());
    const failure = this.failures.findIndex(matches);
    if (failure !== -1) {
      const [f] = this.failures.splice(failure, 1);
      throw f!.error;
    }
    const held = this.holds.findIndex(matches);
    if (held !== -1) {
      const [h] = this.holds.splice(held, 1);
      h!.arrive();
      await h!.gate;
    }
  }

  private key(watcherId: string, name: string): string {
    return `${watcherId}/${name}`.toLowerCase();
  }

  private put(watcher: WatcherRef, name: string, target: string): FakeCapture {
    const capture: FakeCapture = {
      name,
      target,
      watcherId: watcher.id,
      status: 'NotStarted',
      errors: [],
      provisioningState: 'Updating',
      createOutcome: { status: 'Succeeded' },
      serial: ++this.serial,
    };
    this.captures.set(this.key(watcher.id, name), capture);
    return capture;
  }

  async getLocation(resourceId: string): Promise<string> {
    await this.gate('getLocation');
    const vm = this.vms.get(resourceId.toLowerCase());
    if (!vm) throw new RestError(`VM ${resourceId} not found`, { statusCode: 404, code: 'ResourceNotFound' });
    return vm.location;
  }

  async listWatchers(): Promise<WatcherRef[]> {
    await this.gate('listWatchers');
    return [...new Set([...this.vms.values()].map((v) => v.location))].map((r) => this.watcher(r));
  }

  async findWatcher(_subscriptionId: string, region: string): Promise<WatcherRef | undefined> {
    await this.gate('findWatcher');
    return (await this.listWatchers()).find((w) => w.location === region);
  }

  async getAgent(target: CaptureTarget): Promise<AgentStatus> {
    await this.gate('getAgent');
    const id = target.kind === 'vm' ? target.vmId : target.scaleSetId;
    return this.vms.get(id.toLowerCase())?.agent ?? { state: 'missing' };
  }

  async installAgent(): Promise<void> {
    await this.gate('installAgent');
  }

  async listCaptures(watcher: WatcherRef): Promise<ListedCapture[]> {
    await this.gate('listCaptures');
    return this.list()
      .filter((c) => c.watcherId === watcher.id)
      .map((c) => ({ name: c.name, target: c.target, provisioningState: c.provisioningState }));
  }

  async createCapture(watcher: WatcherRef, name: string, parameters: PacketCapture): Promise<CreatedCapture> {
    await this.gate('createCapture', name);
    if (this.captures.has(this.key(watcher.id, name))) {
      throw new RestError(`Packet capture session '${name}' already exists`, {
        statusCode: 409,
        code: 'PacketCaptureAlreadyExists',
      });
    }
    this.put(watcher, name, parameters.target);
    return {
      id: `${watcher.id}/packetCaptures/${name}`,
      provisioningState: 'Updating',
      storagePath: storagePathOf(name),
      operationUrl: `https://fake.arm/operations/create/${encodeURIComponent(this.key(watcher.id, name))}`,
    };
  }

  async queryStatus(watcher: WatcherRef, name: string): Promise<StatusAnswer> {
    await this.gate('queryStatus', name);
    const c = this.captures.get(this.key(watcher.id, name));
    if (!c) return { kind: 'missing' };
    return {
      kind: 'status',
      status: { packetCaptureStatus: c.status, stopReason: c.stopReason, packetCaptureError: [...c.errors] },
    };
  }

  async readStatusOperation(): Promise<StatusAnswer> {
    await this.gate('readStatusOperation');
    return { kind: 'missing' };
  }

  async readOperation(operationUrl: string): Promise<OperationAnswer> {
    await this.gate('readOperation');
    const key = decodeURIComponent(operationUrl.split('/').pop() ?? '');
    return this.captures.get(key)?.createOutcome ?? { status: 'Succeeded' };
  }

  async getCapture(watcher: WatcherRef, name: string): Promise<CaptureResource | undefined> {
    await this.gate('getCapture', name);
    const c = this.captures.get(this.key(watcher.id, name));
    return c
      ? {
          id: `${watcher.id}/packetCaptures/${name}`,
          target: c.target,
          provisioningState: c.provisioningState,
          storagePath: storagePathOf(name),
        }
      : undefined;
  }

  async stopCapture(
    watcher: WatcherRef,
    name: string,
    _options?: GatewayCallOptions,
  ): Promise<SideEffectAnswer> {
    await this.gate('stopCapture', name);
    const c = this.captures.get(this.key(watcher.id, name));
    if (!c) return 'missing';
    if (c.status === 'Running' || c.status === 'NotStarted') {
      c.status = 'Stopped';
      c.stopReason = 'Manual';
    }
    return 'accepted';
  }

  async deleteCapture(
    watcher: WatcherRef,
    name: string,
    _options?: GatewayCallOptions,
  ): Promise<SideEffectAnswer> {
    await this.gate('deleteCapture', name);
    return this.captures.delete(this.key(watcher.id, name)) ? 'accepted' : 'missing';
  }
}

function storagePathOf(name: string): string {
  return `https://captures.blob.core.windows.net/network-watcher-logs/${name}.cap`;
}
