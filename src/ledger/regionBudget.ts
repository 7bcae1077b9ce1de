import { z } from 'zod';
import { tableSafeKey } from './tableText.js';

/**
 * The pure part of the per-subscription, per-region capture budget: which reservations are still alive and
 * whether one more fits. {@link RegionBudgetStore.tryReserveSlot} stores the result in one entity per
 * subscription and region and writes it back with an ETag condition, so concurrent callers serialise.
 */

/** The PartitionKey of every budget entity. */
export const BUDGET_PARTITION_KEY = 'budget';

/** Default lifetime of a reservation: a garbage-collection bound, since a listed capture counts anyway. */
export const DEFAULT_RESERVATION_TTL_SECONDS = 86_400;

/**
 * Default grace period: a reserved name that the caller's listing no longer shows is dropped once it is
 * older than this (the capture was deleted, or its PUT never landed). It must outlast the time between
 * reserving a slot and the capture showing up in a list, which the fast path bounds to seconds.
 */
export const DEFAULT_RESERVATION_GRACE_SECONDS = 120;

/** One reserved capture name. */
export interface SlotReservation {
  /** Lower-cased capture name. */
  name: string;
  /** ISO time of the reservation. */
  reservedAt: string;
  /** ISO time after which the reservation no longer counts. */
  expiresAt: string;
}

/** The inputs of {@link planReservation}. */
export interface ReservationRequest {
  /** The capture name to reserve (compared case-insensitively). */
  captureName: string;
  /** Names of the capture resources that count against the budget besides our reservations (foreign running ones). */
  inUse: ReadonlySet<string>;
  /**
   * Names of our capture resources the caller just listed: a reservation whose capture is listed stays alive
   * past the grace period. Default: `inUse`.
   */
  listed?: ReadonlySet<string>;
  /** How many capture resources the region may hold. */
  budget: number;
  ttlSeconds: number;
  graceSeconds: number;
  now: Date;
}

/** The outcome of {@link planReservation}. */
export interface ReservationPlan {
  granted: boolean;
  /** The reservations to store; `undefined` when nothing needs writing. */
  next?: SlotReservation[];
}

/**
 * Decides whether `captureName` gets a slot: granted when
 * `|inUse ∪ live reservations ∪ {captureName}| <= budget`; idempotent for a name already reserved (no write).
 * Expired reservations, and ones missing from `inUse` for longer than the grace period, are dropped.
 */
export function planReservation(
  current: readonly SlotReservation[],
  request: ReservationRequest,
): ReservationPlan {
  const name = request.captureName.toLowerCase();
  const seen = new Set([...request.inUse, ...(request.listed ?? [])]);
  const live = liveReservations(current, seen, request.now, request.graceSeconds);
  if (live.some((r) => r.name === name)) return { granted: true };
  const used = new Set<string>([
    ...[...request.inUse].map((n) => n.toLowerCase()),
    ...live.map((r) => r.name),
  ]);
  used.add(name);
  if (used.size > request.budget) return { granted: false };
  const reservedAt = request.now.toISOString();
  const expiresAt = new Date(request.now.getTime() + request.ttlSeconds * 1000).toISOString();
  return { granted: true, next: [...live, { name, reservedAt, expiresAt }] };
}

/** The reservations that still count at `now`, given the caller's fresh listing `inUse`. */
export function liveReservations(
  current: readonly SlotReservation[],
  inUse: ReadonlySet<string>,
  now: Date,
  graceSeconds: number,
): SlotReservation[] {
  const listed = new Set([...inUse].map((n) => n.toLowerCase()));
  const nowMs = now.getTime();
  return current.filter((r) => {
    if (!(Date.parse(r.expiresAt) > nowMs)) return false;
    if (listed.has(r.name)) return true;
    return nowMs - Date.parse(r.reservedAt) < graceSeconds * 1000;
  });
}

/** The RowKey of the budget entity of one subscription and region. */
export function budgetRowKey(subscriptionId: string, region: string): string {
  return tableSafeKey(`${subscriptionId.toLowerCase()}|${region.toLowerCase().replace(/\s+/g, '')}`);
}

const reservationsSchema = z.array(
  z.object({ name: z.string(), reservedAt: z.string(), expiresAt: z.string() }),
);

/** Parses the stored reservations; anything unreadable counts as none (they would only have expired). */
export function parseReservations(json: string | undefined): SlotReservation[] {
  if (json === undefined || json === '') return [];
  try {
    const parsed = reservationsSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
