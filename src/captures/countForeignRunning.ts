import type { CaptureGateway, ListedCapture, WatcherRef } from '../azure/captureGateway.js';
import { isTransient } from '../azure/armErrors.js';

/** How long a foreign capture seen Stopped/Error is remembered as finished (it never runs again under that id). */
const FINISHED_TTL_IN_MS = 3_600_000;

interface Known {
  finished?: boolean;
  /** A status query ARM accepted: read it next time instead of asking again. */
  operationUrl?: string;
  expiresAt: number;
}

const known = new Map<string, Known>();

/** Options for {@link countForeignRunning}. */
export interface CountForeignRunningOptions {
  abortSignal?: AbortSignal;
  now?: () => number;
}

/**
 * The names of the captures made by other people (no prefix of ours) that may still be running: each one whose
 * status is not known to have ended is asked (queryStatus, in parallel). A capture whose status cannot be read
 * now counts as running, so the budget errs on the safe side; a finished one is remembered for an hour, so
 * stopped leftovers cost one query each, once.
 */
export async function countForeignRunning(
  gateway: CaptureGateway,
  watcher: WatcherRef,
  foreign: readonly ListedCapture[],
  options: CountForeignRunningOptions = {},
): Promise<Set<string>> {
  const now = options.now ?? Date.now;
  const running = new Set<string>();
  await Promise.all(
    foreign.map(async (capture) => {
      const key = `${watcher.id}/${capture.name}`.toLowerCase();
      const entry = known.get(key);
      if (entry && entry.expiresAt <= now()) known.delete(key);
      const current = known.get(key);
      if (current?.finished) return;
      try {
        let answer = current?.operationUrl
          ? await gateway.readStatusOperation(current.operationUrl, options)
          : await gateway.queryStatus(watcher, capture.name, options);
        // A budget question on the fast path: read the operation once at once rather than after its Retry-After
        // (a status query is usually done by then; if not, it counts as running and is read next time).
        if (answer.kind === 'accepted' && !current?.operationUrl) {
          answer = await gateway.readStatusOperation(answer.operationUrl, options);
        }
        if (answer.kind === 'missing') return;
        if (answer.kind === 'accepted') {
          known.set(key, { operationUrl: answer.operationUrl, expiresAt: now() + 600_000 });
          running.add(capture.name.toLowerCase());
          return;
        }
        const status = answer.status.packetCaptureStatus;
        if (status === 'Stopped' || status === 'Error') {
          known.set(key, { finished: true, expiresAt: now() + FINISHED_TTL_IN_MS });
          return;
        }
        known.delete(key);
        running.add(capture.name.toLowerCase());
      } catch (e) {
        if (!isTransient(e)) known.delete(key);
        running.add(capture.name.toLowerCase());
      }
    }),
  );
  return running;
}
