/**
 * The sandbox's app process installs this (`--import` of `installSandboxClock.ts`) so that the app reads the emulator's clock: the emulator
 * runs its captures on a scaled clock (60 emulated seconds per real second by default), and an app on the wall
 * clock would record a capture ending (its own time) before it started (Network Watcher's `captureStartTime`, in
 * emulated time), and time out stuck captures in the wrong unit. With one clock both agree, as they do in Azure.
 *
 * The anchor arrives with the app settings, after this module ran (the app process starts before the emulator):
 * {@link SANDBOX_CLOCK_SETTING} = `realMs:emulatedMs:timeScale`, read on the first clock reading that finds it.
 * Until then `Date` is the wall clock. Only `Date.now()` and `new Date()` change; timers keep real durations.
 */

/** The environment variable carrying the anchor of the emulator's clock. */
export const SANDBOX_CLOCK_SETTING = 'SANDBOX_CLOCK';

/** The emulator clock's reading `emulatedMs` at wall-clock time `realMs`, running `timeScale` times faster. */
export interface ClockAnchor {
  realMs: number;
  emulatedMs: number;
  timeScale: number;
}

/** The anchor as the setting's value. */
export function formatClockAnchor(anchor: ClockAnchor): string {
  return `${anchor.realMs}:${anchor.emulatedMs}:${anchor.timeScale}`;
}

/** The anchor in a setting's value, or undefined when it is absent or malformed. */
export function parseClockAnchor(value: string | undefined): ClockAnchor | undefined {
  const parts = (value ?? '').split(':').map(Number);
  const [realMs, emulatedMs, timeScale] = parts;
  if (parts.length !== 3 || realMs === undefined || emulatedMs === undefined || timeScale === undefined)
    return undefined;
  if (!parts.every(Number.isFinite) || !(timeScale > 0)) return undefined;
  return { realMs, emulatedMs, timeScale };
}

/** Emulated time (epoch ms) at wall-clock time `realNowMs`. */
export function emulatedTime(anchor: ClockAnchor, realNowMs: number): number {
  return Math.floor(anchor.emulatedMs + (realNowMs - anchor.realMs) * anchor.timeScale);
}

/** Replaces the global `Date` with one whose `now()` and `new Date()` follow the anchor found in `env`. */
export function installSandboxClock(env: Record<string, string | undefined> = process.env): void {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  let anchor: ClockAnchor | undefined;
  const now = (): number => {
    anchor ??= parseClockAnchor(env[SANDBOX_CLOCK_SETTING]);
    return anchor ? emulatedTime(anchor, realNow()) : realNow();
  };
  class SandboxDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(now());
      else super(...(args as [number, number, number, number, number, number, number]));
    }
    static override now(): number {
      return now();
    }
  }
  globalThis.Date = SandboxDate as DateConstructor;
}
