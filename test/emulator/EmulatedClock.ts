/** A scheduled callback on the emulated clock. */
interface ClockEvent {
  atMs: number;
  seq: number;
  run: () => void;
}

/**
 * The emulator's notion of time: emulated milliseconds since the epoch, running `timeScale` times faster than
 * the wall clock, and movable forward with {@link EmulatedClock.advance}. Scheduled callbacks fire from a single
 * timer armed for the next due event, so an idle emulator burns no CPU.
 */
export class EmulatedClock {
  private baseRealMs = Date.now();
  private baseEmulatedMs = this.baseRealMs;
  private scale: number;
  private events: ClockEvent[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(timeScale = 1) {
    this.scale = timeScale;
  }

  /** Current emulated time, ms since the epoch. */
  now(): number {
    return this.baseEmulatedMs + (Date.now() - this.baseRealMs) * this.scale;
  }

  /** Emulated seconds per real second. */
  get timeScale(): number {
    return this.scale;
  }

  /** Changes the speed from now on; emulated time already elapsed is kept. */
  setTimeScale(timeScale: number): void {
    this.rebase();
    this.scale = timeScale;
    this.arm();
  }

  /** Moves emulated time forward and runs every callback that became due, in time order. */
  advance(seconds: number): void {
    this.rebase();
    this.baseEmulatedMs += seconds * 1000;
    this.fireDue();
  }

  /**
   * Runs every callback already due. The timer that would run them can lag behind the scaled clock, so a request
   * calls this first to see the state the clock says it is in.
   */
  catchUp(): void {
    this.fireDue();
  }

  /** Runs `run` once the emulated clock reaches `atMs`. Returns a function that cancels it. */
  schedule(atMs: number, run: () => void): () => void {
    const event: ClockEvent = { atMs, seq: this.seq++, run };
    this.events.push(event);
    this.events.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
    this.arm();
    return () => {
      this.events = this.events.filter((e) => e !== event);
      this.arm();
    };
  }

  /** Drops every scheduled callback (the clock keeps running). */
  clear(): void {
    this.events = [];
    this.arm();
  }

  /** Stops the timer for good. */
  dispose(): void {
    this.events = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private rebase(): void {
    const now = this.now();
    this.baseRealMs = Date.now();
    this.baseEmulatedMs = now;
  }

  private fireDue(): void {
    // A callback may schedule more events (start → stop), so re-read the queue each time.
    for (;;) {
      const next = this.events[0];
      if (!next || next.atMs > this.now()) break;
      this.events.shift();
      next.run();
    }
    this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.events[0];
    if (!next) return;
    const delayInMs = Math.max(0, Math.ceil((next.atMs - this.now()) / this.scale));
    // setTimeout overflows above 2^31-1 ms; re-arming then is harmless.
    this.timer = setTimeout(() => this.fireDue(), Math.min(delayInMs, 2_147_483_647));
    this.timer.unref();
  }
}
