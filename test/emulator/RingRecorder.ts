import type { EmulatedClock } from './EmulatedClock.js';
import type { CaptureStore } from './CaptureStore.js';
import type { SynthesizedCapture } from './traffic/index.js';
import { PCAP_GLOBAL_HEADER_BYTES, PCAP_RECORD_HEADER_BYTES } from './traffic/synthesizeCapture.js';

/**
 * `PacketCaptureSettings` defaults and maxima (networkWatcher.json, 2023-11-01 and later): fileCount 10 (max
 * 10000), fileSizeInBytes 104857600 (max 4294967295), sessionTimeLimitInSeconds 86400 (max 604800).
 */
export const RING_DEFAULTS = {
  fileCount: 10,
  fileSizeInBytes: 104_857_600,
  sessionTimeLimitInSeconds: 86_400,
};

/** Where the files of a continuous capture go (undocumented; see README "Continuous captures"). */
export type RingBlobLayout = 'captureFolder' | 'firstFileSiblings';
/** When the oldest file is deleted once `fileCount` is reached (undocumented). */
export type RingDeleteWhen = 'newFileStarts' | 'newFileUploaded';
/** What `continuousCapture: false` does (undocumented). */
export type ContinuousFalseBehaviour = 'singleFile' | 'stopAtFileCount';
/** Which limit ends a continuous session (undocumented). */
export type RingSessionEnd = 'sessionTimeLimit' | 'shorterOfBoth';

/** Emulated seconds of traffic synthesized at a time for a ring (an emulator detail, not an Azure behaviour). */
export const RING_CHUNK_SECONDS = 60;

/** One file of a ring as the emulator holds it. */
export interface RingFile {
  index: number;
  blobPath: string;
  /** Emulated ms of its first packet (or of its opening when it has none). */
  startMs: number;
  /** Emulated ms at which it was closed (full, or the session ended). */
  closedAt?: number;
  uploadedAt?: number;
  deletedAt?: number;
  packets: number;
  bytes: number;
}

/** Settings of one ring, checked. */
export interface RingPlan {
  fileCount: number;
  fileSizeInBytes: number;
  /** Emulated ms at which the session ends by itself. */
  endAt: number;
  /** `ring` rotates forever; `stopAtFileCount` stops the session once `fileCount` files are full. */
  mode: 'ring' | 'stopAtFileCount';
  layout: RingBlobLayout;
  deleteWhen: RingDeleteWhen;
  uploadDelaySeconds: number;
}

interface Pending {
  file: RingFile;
  records: Array<{ timeMs: number; data: Buffer }>;
}

/**
 * Records a continuous capture as a ring of pcap files: traffic is synthesized {@link RING_CHUNK_SECONDS} at a
 * time, each file is closed when the next packet would take it past `fileSizeInBytes` and uploaded
 * `uploadDelaySeconds` later, and the oldest file is deleted when more than `fileCount` exist (spec:
 * "the oldest file is deleted when the count is reached"). Every step runs on the emulated clock at its exact time.
 */
export class RingRecorder {
  readonly files: RingFile[] = [];
  private current: Pending | undefined;
  private planned: Pending[] = [];
  private cancels: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly clock: EmulatedClock,
    private readonly store: CaptureStore,
    private readonly plan: RingPlan,
    /** The capture's blob folder (`{vm folder}`) and name: where the files go. */
    private readonly where: { vmFolder: string; captureName: string; startAt: number },
    private readonly synthesize: (fromMs: number, seconds: number) => SynthesizedCapture,
    private readonly track: (p: Promise<void>) => void,
    /** Called once when the session stops by itself (`TimeExceeded`, or `TotalBytesExceeded` for stopAtFileCount). */
    private readonly onEnd: (reason: 'time' | 'bytes', atMs: number) => void,
  ) {}

  /** The storagePath Network Watcher reports for the ring (a folder, or the first file, per layout). */
  storagePathBlob(): string {
    return this.plan.layout === 'captureFolder'
      ? `${this.where.vmFolder}/${this.where.captureName}/`
      : `${this.where.vmFolder}/${stampPath(this.where.startAt)}.cap`;
  }

  /** Starts recording at `startAt`. */
  start(): void {
    this.current = this.open(this.where.startAt);
    this.planChunk(this.where.startAt);
  }

  /** A manual stop (or delete) at `atMs`: the current file keeps its packets so far and is uploaded. */
  stop(atMs: number, upload: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancels.forEach((c) => c());
    this.cancels = [];
    this.planned = [];
    const current = this.current;
    this.current = undefined;
    if (!current) return;
    current.records = current.records.filter((r) => r.timeMs <= atMs);
    if (upload) this.close(current, atMs);
  }

  private planChunk(fromMs: number): void {
    if (this.stopped) return;
    const toMs = Math.min(fromMs + RING_CHUNK_SECONDS * 1000, this.plan.endAt);
    const chunk = this.synthesize(fromMs, Math.max(1, Math.round((toMs - fromMs) / 1000)));
    // Files this chunk opens; the pointer moves to each at its first packet's time.
    let filling = this.planned.at(-1) ?? this.current!;
    let size = pendingSize(filling);
    for (const record of records(chunk.file)) {
      if (record.timeMs > toMs) break;
      const length = record.data.length;
      if (filling.records.length > 0 && size + length > this.plan.fileSizeInBytes) {
        const next = this.nextFile(filling, record.timeMs);
        this.planned.push(next);
        const full = filling;
        this.cancels.push(this.clock.schedule(record.timeMs, () => this.rotate(full, next, record.timeMs)));
        filling = next;
        size = PCAP_GLOBAL_HEADER_BYTES;
      }
      filling.records.push(record);
      size += length;
    }
    if (toMs >= this.plan.endAt) {
      this.cancels.push(this.clock.schedule(toMs, () => this.end('time', toMs)));
    } else {
      this.cancels.push(this.clock.schedule(toMs, () => this.planChunk(toMs)));
    }
  }

  private nextFile(previous: Pending, atMs: number): Pending {
    return {
      file: {
        index: previous.file.index + 1,
        blobPath: this.blobPath(previous.file.index + 1, atMs),
        startMs: atMs,
        packets: 0,
        bytes: 0,
      },
      records: [],
    };
  }

  private rotate(full: Pending, next: Pending, atMs: number): void {
    if (this.stopped) return;
    this.planned = this.planned.filter((p) => p !== next);
    this.current = next;
    this.files.push(next.file);
    this.close(full, atMs);
    if (this.plan.mode === 'stopAtFileCount' && full.file.index + 1 >= this.plan.fileCount) {
      // The session ends instead of opening file fileCount + 1.
      this.files.pop();
      this.current = undefined;
      this.end('bytes', atMs);
      return;
    }
    if (this.plan.mode === 'ring' && this.plan.deleteWhen === 'newFileStarts') this.deleteBeyondCount(atMs);
  }

  private end(reason: 'time' | 'bytes', atMs: number): void {
    if (this.stopped) return;
    this.stop(atMs, true);
    this.onEnd(reason, atMs);
  }

  private open(atMs: number): Pending {
    const file: RingFile = {
      index: 0,
      blobPath: this.blobPath(0, atMs),
      startMs: atMs,
      packets: 0,
      bytes: 0,
    };
    this.files.push(file);
    return { file, records: [] };
  }

  private close(p: Pending, atMs: number): void {
    const header = Buffer.alloc(PCAP_GLOBAL_HEADER_BYTES);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(262_144, 16);
    header.writeUInt32LE(1, 20);
    const data = Buffer.concat([header, ...p.records.map((r) => r.data)]);
    p.file.closedAt = atMs;
    p.file.packets = p.records.length;
    p.file.bytes = data.length;
    if (p.records[0]) p.file.startMs = p.records[0].timeMs;
    // At its own emulated time even when advanceClock jumps past it, so uploads and deletions keep their order.
    const uploadAt = atMs + this.plan.uploadDelaySeconds * 1000;
    // Not among the cancels: a stop does not stop the agent's upload of a closed file.
    this.clock.schedule(uploadAt, () => this.upload(p.file, data, uploadAt));
  }

  private upload(file: RingFile, data: Buffer, atMs: number): void {
    if (file.deletedAt !== undefined) return;
    file.uploadedAt = atMs;
    const done = this.store.upload(file.blobPath, data).then(async () => {
      // Rotation reached it while it was being written.
      if (file.deletedAt !== undefined) await this.store.delete(file.blobPath);
    });
    if (this.plan.mode === 'ring' && this.plan.deleteWhen === 'newFileUploaded') this.deleteBeyondCount(atMs);
    this.track(done);
  }

  /** Deletes the oldest files while more than fileCount exist (opened files for newFileStarts, uploaded ones otherwise). */
  private deleteBeyondCount(atMs: number): void {
    const counted = this.files.filter(
      (f) =>
        f.deletedAt === undefined && (this.plan.deleteWhen === 'newFileStarts' || f.uploadedAt !== undefined),
    );
    for (const file of counted.slice(0, Math.max(0, counted.length - this.plan.fileCount))) {
      file.deletedAt = atMs;
      // A file not uploaded yet is simply never uploaded (upload() checks deletedAt).
      if (file.uploadedAt !== undefined) this.track(this.store.delete(file.blobPath));
    }
  }

  private blobPath(index: number, atMs: number): string {
    if (this.plan.layout === 'captureFolder') {
      return `${this.where.vmFolder}/${this.where.captureName}/${stampPath(atMs).replaceAll('/', '_')}_${index}.cap`;
    }
    const first = `${this.where.vmFolder}/${stampPath(this.where.startAt)}`;
    return index === 0 ? `${first}.cap` : `${first}_${index}.cap`;
  }
}

function pendingSize(p: Pending): number {
  return p.records.reduce((n, r) => n + r.data.length, PCAP_GLOBAL_HEADER_BYTES);
}

/** The records of a classic pcap file with their times (emulated ms). */
function* records(file: Buffer): Generator<{ timeMs: number; data: Buffer }> {
  let at = PCAP_GLOBAL_HEADER_BYTES;
  while (at + PCAP_RECORD_HEADER_BYTES <= file.length) {
    const timeMs = file.readUInt32LE(at) * 1000 + Math.floor(file.readUInt32LE(at + 4) / 1000);
    const end = at + PCAP_RECORD_HEADER_BYTES + file.readUInt32LE(at + 8);
    yield { timeMs, data: file.subarray(at, end) };
    at = end;
  }
}

/** `yyyy/MM/dd/packetcapture_HH_mm_ss_fff`, UTC (the documented single-file name, without extension). */
function stampPath(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/` +
    `packetcapture_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}_${p(d.getUTCMilliseconds(), 3)}`
  );
}
