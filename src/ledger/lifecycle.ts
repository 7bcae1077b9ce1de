/**
 * The capture lifecycle in one table: every state of a ledger record, every allowed move with its name, and the
 * predicates the poller and the webhook decide on. {@link planMove} alone decides a record's next `state`; a move
 * from a state it does not start from is refused with an {@link IllegalMoveError}, so no caller can, say, bring a
 * notified record back to `running`.
 *
 * ```
 * pending ─markStarting─► starting ─markRunning─► running ─markFinished─► finished ─┬ markNotified ┐
 *   │ ▲ deferStart            │                   │                               └ markReleased ┴► notified
 *   │ └───────────────────────┘ (and pending ─markRunning─► running: a capture of its own name adopted)
 *   ├─markIgnored─► ignored (another alert holds the target)
 *   └── pending / starting / running ─markFailed─► failed ─markNotified / markReleased─► failed (done)
 * finished / failed ─giveUpNotifying─► notifyFailed
 * ```
 * A finished capture needs two things, in either order and independently: its capture resource deleted
 * (`markReleased`: this frees its budget slot whatever happens to notifications) and its notification sent
 * (`markNotified`). It becomes `notified` when both are done. `failed` stays `failed`; {@link awaitsNotification}
 * and {@link awaitsRelease} say what is left.
 *
 * Duplicate deliveries are not recorded: the second delivery of an alert id finds the record and is answered
 * `duplicate`; writing a record (or a counter) per delivery would make Azure Monitor's retries cost Table writes
 * and there is nothing a reader would learn from it. There is no `duplicate` state.
 */

/** Every state of a ledger record. */
export const CAPTURE_STATES = [
  'pending',
  'starting',
  'running',
  'finished',
  'notified',
  'failed',
  'ignored',
  'notifyFailed',
] as const;

/** One state of a ledger record (see {@link CAPTURE_STATES}). */
export type CaptureState = (typeof CAPTURE_STATES)[number];

/** What {@link planMove} needs to know about a record. */
export interface LifecycleFacts {
  state: CaptureState;
  /** `ring` records never notify; others (alerts', manual) do. */
  kind?: 'manual' | 'ring';
  notifiedAt?: string;
  releasedAt?: string;
  captureId?: string;
  /** Set while the alert's pre-alert ring files are still to keep (see `keepPreAlert`). */
  keepDueAt?: string;
}

type NextState = CaptureState | ((record: LifecycleFacts) => CaptureState);

interface Move {
  from: readonly CaptureState[];
  to: NextState;
}

const same = (record: LifecycleFacts) => record.state;

/** The allowed moves: each name, the states it starts from, and the state it leads to. */
export const MOVES = {
  /** A start attempt put the record in hand: the capture PUT follows. */
  markStarting: { from: ['pending'], to: 'starting' },
  /** Not now (budget used up, agent installing, a transient ARM failure, a 409): try again later. */
  deferStart: { from: ['pending', 'starting'], to: 'pending' },
  /** ARM accepted the PUT, or a capture of the record's own name was found and adopted. */
  markRunning: { from: ['pending', 'starting'], to: 'running' },
  /** Another alert's record holds the target: this alert is answered `alreadyCapturing`. */
  markIgnored: { from: ['pending'], to: 'ignored' },
  /** The capture ended (Stopped) and its end is recorded. */
  markFinished: { from: ['running'], to: 'finished' },
  /** It cannot be captured, or the capture ended in Error: `reason` says why. */
  markFailed: { from: ['pending', 'starting', 'running'], to: 'failed' },
  /** Our capture resource's delete was accepted (or there was none): its budget slot is free. */
  markReleased: {
    from: ['finished', 'failed', 'notifyFailed'],
    to: (r) => (r.state === 'finished' && r.notifiedAt !== undefined ? 'notified' : r.state),
  },
  /** Every notification target accepted the message. */
  markNotified: {
    from: ['finished', 'failed'],
    to: (r) => (r.state === 'finished' && !awaitsRelease(r) ? 'notified' : r.state),
  },
  /** Notification given up after `NOTIFY_MAX_ATTEMPTS`. */
  giveUpNotifying: { from: ['finished', 'failed'], to: 'notifyFailed' },
  /**
   * Bookkeeping that changes no state (a claim, a retry time, a status seen, kept ring files): allowed on any
   * active record, an ignored one included (it still keeps its window's ring files).
   */
  note: {
    from: ['pending', 'starting', 'running', 'finished', 'failed', 'notifyFailed', 'ignored'],
    to: same,
  },
} as const satisfies Record<string, Move>;

/** The name of an allowed move. */
export type MoveName = keyof typeof MOVES;

/** A move that the record's state does not allow. */
export class IllegalMoveError extends Error {
  override readonly name = 'IllegalMoveError';
  constructor(
    readonly move: MoveName,
    readonly state: CaptureState,
  ) {
    super(`illegal lifecycle move ${move} from state ${state} (allowed from ${MOVES[move].from.join(', ')})`);
  }
}

/**
 * The state a record reaches with `move`, given the facts it will have after the move (`changes` applied).
 * @throws IllegalMoveError when `move` does not start from the record's current state.
 */
export function planMove(
  record: LifecycleFacts,
  move: MoveName,
  changes: Partial<LifecycleFacts> = {},
): CaptureState {
  const rule: Move = MOVES[move];
  if (!rule.from.includes(record.state)) throw new IllegalMoveError(move, record.state);
  const after = { ...record, ...changes, state: record.state };
  return typeof rule.to === 'function' ? rule.to(after) : rule.to;
}

/**
 * The record's capture ended and it has not been notified yet (also "failed and not yet notified"). Never for a
 * ring record: nobody is told about one generation of a ring.
 */
export function awaitsNotification(record: LifecycleFacts): boolean {
  return (
    record.kind !== 'ring' &&
    (record.state === 'finished' || record.state === 'failed') &&
    record.notifiedAt === undefined
  );
}

/** The record made a capture resource whose delete is still to be started ("finished and cleanup pending"). */
export function awaitsRelease(record: LifecycleFacts): boolean {
  return (
    (record.state === 'finished' || record.state === 'failed' || record.state === 'notifyFailed') &&
    record.captureId !== undefined &&
    record.releasedAt === undefined
  );
}

/** Whether the record still needs work from the poller. */
export function isActiveRecord(record: LifecycleFacts): boolean {
  switch (record.state) {
    case 'pending':
    case 'starting':
    case 'running':
      return true;
    default:
      // Keeping goes on whatever the state: an alert answered `alreadyCapturing` (ignored) still keeps its own
      // window's ring files, which rotation would delete.
      return awaitsNotification(record) || awaitsRelease(record) || record.keepDueAt !== undefined;
  }
}

/**
 * Whether the record's capture is still to come or under way, so that a new alert on the same target must not
 * start another one: `pending`, `starting` or `running`. A finished record holds nothing: its capture has
 * stopped, and a notification that keeps failing must not keep a new anomaly on that VM from being captured.
 */
export function holdsTarget(record: Pick<LifecycleFacts, 'state'>): boolean {
  return record.state === 'pending' || record.state === 'starting' || record.state === 'running';
}
