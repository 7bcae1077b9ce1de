import type { HostClock } from './index.js';

/** A {@link HostClock} that only moves when told to: timer-trigger tests run schedules without waiting. */
export interface ManualClock extends HostClock {
  /**
   * Moves the clock forward by `ms`, firing every timer that falls due on the way at its due time, in order,
   * and letting the handlers they start run until they wait on something else.
   */
  advance(ms: number): Promise<void>;
  /** Timers armed and not yet fired or cancelled. */
  pending(): number;
}

/** Creates a {@link ManualClock} reading `startInMs` (epoch ms). */
export function createManualClock(startInMs: number): ManualClock {
  let now = startInMs;
  let nextId = 0;
  const timers = new Map<number, { due: number; callback: () => void }>();
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  return {
    now: () => now,
    setTimer(callback, delayInMs) {
      const id = nextId++;
      timers.set(id, { due: now + Math.max(0, delayInMs), callback });
      return { cancel: () => timers.delete(id) };
    },
    async advance(ms) {
      const target = now + ms;
      // Let work already released (e.g. a handler whose await just resolved) finish before time moves.
      await settle();
      for (;;) {
        let first: [number, { due: number; callback: () => void }] | undefined;
        for (const entry of timers)
          if (entry[1].due <= target && (!first || entry[1].due < first[1].due)) first = entry;
        if (!first) break;
        timers.delete(first[0]);
        now = Math.max(now, first[1].due);
        first[1].callback();
        await settle();
      }
      now = target;
      await settle();
    },
    pending: () => timers.size,
  };
}
