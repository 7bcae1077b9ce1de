import { invalidRequestFormat } from './armError.js';
import { describe } from './faultRules.js';

/** Spec defaults (`PacketCaptureParameters` in networkWatcher.json). */
export const DEFAULT_TOTAL_BYTES_PER_SESSION = 1_073_741_824;
export const DEFAULT_TIME_LIMIT_SECONDS = 18_000;
const UINT32_MAX = 4_294_967_295;

/** One packet capture filter as the wire carries it. */
export interface CaptureFilterBody {
  protocol?: string;
  localIPAddress?: string;
  remoteIPAddress?: string;
  localPort?: string;
  remotePort?: string;
}

/** A checked `PacketCapture` PUT body. */
export interface CaptureRequest {
  target: string;
  targetType?: 'AzureVM' | 'AzureVMSS';
  scope?: { include?: string[]; exclude?: string[] };
  bytesToCapturePerPacket: number;
  totalBytesPerSession: number;
  timeLimitInSeconds: number;
  storageLocation: { storageId?: string; storagePath?: string; filePath?: string; localPath?: string };
  filters: CaptureFilterBody[];
  continuousCapture?: boolean;
  /** Checked `PacketCaptureSettings`; absent fields stay absent (the ring fills the spec defaults). */
  captureSettings?: { fileCount?: number; fileSizeInBytes?: number; sessionTimeLimitInSeconds?: number };
}

const VM_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/virtualMachines\/[^/]+$/i;
const VMSS_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/virtualMachineScaleSets\/[^/]+$/i;
const STORAGE_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[a-z0-9]{3,24}$/i;
const IP = '(?:\\d{1,3}\\.){3}\\d{1,3}';
/** "a", "a-b" or "a;b;" (spec notation for filter addresses). */
const IP_FILTER = new RegExp(`^(?:${IP}(?:-${IP})?|${IP}(?:;${IP})*;?)$`);
const PORT = '\\d{1,5}';
const PORT_FILTER = new RegExp(`^(?:${PORT}(?:-${PORT})?|${PORT}(?:;${PORT})*;?)$`);
const PROTOCOLS = ['TCP', 'UDP', 'Any'];

/**
 * Checks a packet-capture PUT body against the spec and fills the spec defaults.
 * Throws an `InvalidRequestFormat` {@link ArmError} naming the first bad field.
 */
export function parseCaptureBody(body: unknown): CaptureRequest {
  const root = object(body, 'body');
  const p = object(root.properties, 'properties');

  const targetType = p.targetType;
  if (targetType !== undefined && targetType !== 'AzureVM' && targetType !== 'AzureVMSS') {
    throw invalidRequestFormat(
      'properties.targetType',
      `must be AzureVM or AzureVMSS, found ${describe(targetType)}`,
    );
  }
  if (typeof p.target !== 'string' || p.target === '') {
    throw invalidRequestFormat(
      'properties.target',
      `is required (a resource id), found ${describe(p.target)}`,
    );
  }
  const idPattern = targetType === 'AzureVMSS' ? VMSS_ID : VM_ID;
  if (!idPattern.test(p.target)) {
    throw invalidRequestFormat(
      'properties.target',
      `must be the resource id of a ${targetType === 'AzureVMSS' ? 'virtual machine scale set' : 'virtual machine'}, found ${describe(p.target)}`,
    );
  }

  const location = object(p.storageLocation, 'properties.storageLocation');
  const storageLocation: CaptureRequest['storageLocation'] = {};
  for (const key of ['storageId', 'storagePath', 'filePath', 'localPath'] as const) {
    const value = location[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      throw invalidRequestFormat(
        `properties.storageLocation.${key}`,
        `must be a string, found ${describe(value)}`,
      );
    }
    storageLocation[key] = value;
  }
  if (!storageLocation.storageId && !storageLocation.filePath && !storageLocation.localPath) {
    throw invalidRequestFormat(
      'properties.storageLocation',
      'needs a storageId (or a filePath/localPath on the VM), found none',
    );
  }
  if (storageLocation.storageId !== undefined && !STORAGE_ID.test(storageLocation.storageId)) {
    throw invalidRequestFormat(
      'properties.storageLocation.storageId',
      `must be the resource id of a storage account, found ${describe(storageLocation.storageId)}`,
    );
  }
  if (storageLocation.storagePath !== undefined && !isHttpUrl(storageLocation.storagePath)) {
    throw invalidRequestFormat(
      'properties.storageLocation.storagePath',
      `must be a well-formed absolute URI, found ${describe(storageLocation.storagePath)}`,
    );
  }

  const bytesToCapturePerPacket =
    integer(p.bytesToCapturePerPacket, 'properties.bytesToCapturePerPacket', UINT32_MAX) ?? 0;
  const totalBytesPerSession =
    integer(p.totalBytesPerSession, 'properties.totalBytesPerSession', UINT32_MAX) ??
    DEFAULT_TOTAL_BYTES_PER_SESSION;
  const timeLimitInSeconds =
    integer(p.timeLimitInSeconds, 'properties.timeLimitInSeconds', DEFAULT_TIME_LIMIT_SECONDS) ??
    DEFAULT_TIME_LIMIT_SECONDS;

  const filters: CaptureFilterBody[] = [];
  if (p.filters !== undefined && p.filters !== null) {
    if (!Array.isArray(p.filters)) {
      throw invalidRequestFormat('properties.filters', `must be an array, found ${describe(p.filters)}`);
    }
    p.filters.forEach((f: unknown, i: number) => filters.push(parseFilter(f, `properties.filters[${i}]`)));
  }

  let scope: CaptureRequest['scope'];
  if (p.scope !== undefined && p.scope !== null) {
    const s = object(p.scope, 'properties.scope');
    scope = {};
    for (const key of ['include', 'exclude'] as const) {
      const list = s[key];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) {
        throw invalidRequestFormat(
          `properties.scope.${key}`,
          `must be an array of strings, found ${describe(list)}`,
        );
      }
      scope[key] = list as string[];
    }
  }
  if (
    p.continuousCapture !== undefined &&
    p.continuousCapture !== null &&
    typeof p.continuousCapture !== 'boolean'
  ) {
    throw invalidRequestFormat(
      'properties.continuousCapture',
      `must be a boolean, found ${describe(p.continuousCapture)}`,
    );
  }

  if (typeof p.continuousCapture === 'boolean' && storageLocation.filePath !== undefined) {
    // Spec: "This path is invalid if 'Continuous Capture' is provided with 'true' or 'false'" (use localPath).
    throw invalidRequestFormat(
      'properties.storageLocation.filePath',
      'is invalid when continuousCapture is given (use localPath)',
    );
  }

  return {
    target: p.target,
    ...(targetType === undefined ? {} : { targetType }),
    ...(scope === undefined ? {} : { scope }),
    bytesToCapturePerPacket,
    totalBytesPerSession,
    timeLimitInSeconds,
    storageLocation,
    filters,
    ...(typeof p.continuousCapture === 'boolean' ? { continuousCapture: p.continuousCapture } : {}),
    ...(p.captureSettings !== undefined && p.captureSettings !== null
      ? { captureSettings: parseCaptureSettings(p.captureSettings) }
      : {}),
  };
}

/** `PacketCaptureSettings` (2023-11-01 and later): each field an integer within the spec's bounds. */
function parseCaptureSettings(input: unknown): NonNullable<CaptureRequest['captureSettings']> {
  const s = object(input, 'properties.captureSettings');
  const settings: NonNullable<CaptureRequest['captureSettings']> = {};
  const bounds = { fileCount: 10_000, fileSizeInBytes: UINT32_MAX, sessionTimeLimitInSeconds: 604_800 };
  for (const key of ['fileCount', 'fileSizeInBytes', 'sessionTimeLimitInSeconds'] as const) {
    const value = integer(s[key], `properties.captureSettings.${key}`, bounds[key]);
    if (value !== undefined) settings[key] = value;
  }
  return settings;
}

function parseFilter(input: unknown, field: string): CaptureFilterBody {
  const f = object(input, field);
  const filter: CaptureFilterBody = {};
  if (f.protocol !== undefined) {
    const protocol = PROTOCOLS.find(
      (x) => typeof f.protocol === 'string' && x.toLowerCase() === f.protocol.toLowerCase(),
    );
    if (!protocol)
      throw invalidRequestFormat(
        `${field}.protocol`,
        `must be TCP, UDP or Any, found ${describe(f.protocol)}`,
      );
    filter.protocol = f.protocol as string;
  }
  for (const key of ['localIPAddress', 'remoteIPAddress'] as const) {
    const value = f[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !IP_FILTER.test(value)) {
      throw invalidRequestFormat(
        `${field}.${key}`,
        `must be "a.b.c.d", a range "x-y" or a list "x;y;", found ${describe(value)}`,
      );
    }
    filter[key] = value;
  }
  for (const key of ['localPort', 'remotePort'] as const) {
    const value = f[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !PORT_FILTER.test(value)) {
      throw invalidRequestFormat(
        `${field}.${key}`,
        `must be "80", a range "80-85" or a list "80;443;", found ${describe(value)}`,
      );
    }
    filter[key] = value;
  }
  return filter;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequestFormat(field, `must be an object, found ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function integer(value: unknown, field: string, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalidRequestFormat(field, `must be an integer from 0 to ${max}, found ${describe(value)}`);
  }
  return value;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
