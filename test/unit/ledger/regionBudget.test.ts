import { describe, expect, it } from 'vitest';
import {
  budgetRowKey,
  liveReservations,
  parseReservations,
  planReservation,
  type SlotReservation,
} from '../../../src/ledger/regionBudget.js';

const now = new Date('2025-03-01T08:00:00.000Z');
const at = (secondsFromNow: number): string => new Date(now.getTime() + secondsFromNow * 1000).toISOString();
const reservation = (name: string, reservedSecondsAgo: number, ttlSeconds = 86_400): SlotReservation => ({
  name,
  reservedAt: at(-reservedSecondsAgo),
  expiresAt: at(ttlSeconds - reservedSecondsAgo),
});
const request = (captureName: string, inUse: string[], budget: number) => ({
  captureName,
  inUse: new Set(inUse),
  budget,
  ttlSeconds: 60,
  graceSeconds: 120,
  now,
});

describe('planReservation', () => {
  it('grants and records a new name while there is room', () => {
    const plan = planReservation([], request('AlertCap-A', [], 1));
    expect(plan).toEqual({
      granted: true,
      next: [{ name: 'alertcap-a', reservedAt: now.toISOString(), expiresAt: at(60) }],
    });
  });

  it('refuses when listed captures and reservations fill the budget', () => {
    expect(planReservation([reservation('b', 10)], request('a', ['c'], 2))).toEqual({ granted: false });
  });

  it('grants a name already reserved without a write', () => {
    expect(planReservation([reservation('a', 10)], request('A', ['x', 'y', 'z'], 1))).toEqual({
      granted: true,
    });
  });

  it('drops expired reservations before counting', () => {
    const plan = planReservation([reservation('old', 100, 60)], request('a', [], 1));
    expect(plan.granted).toBe(true);
    expect(plan.next?.map((r) => r.name)).toEqual(['a']);
  });

  it('drops unlisted reservations older than the grace period', () => {
    const plan = planReservation([reservation('gone', 121)], request('a', [], 1));
    expect(plan.granted).toBe(true);
  });

  it('keeps an unlisted reservation within the grace period', () => {
    expect(planReservation([reservation('new', 119)], request('a', [], 1)).granted).toBe(false);
  });
});

describe('liveReservations', () => {
  it('keeps a listed reservation past the grace period, matching names case-insensitively', () => {
    expect(liveReservations([reservation('a', 1_000)], new Set(['A']), now, 120)).toHaveLength(1);
  });
});

describe('budgetRowKey', () => {
  it('is case- and space-insensitive', () => {
    expect(budgetRowKey('ABC', 'West Europe')).toBe(budgetRowKey('abc', 'westeurope'));
  });

  it('hashes a region with a forbidden character', () => {
    expect(budgetRowKey('abc', 'west/europe')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('parseReservations', () => {
  it('reads nothing from an unset or empty value', () => {
    expect(parseReservations(undefined)).toEqual([]);
    expect(parseReservations('')).toEqual([]);
  });

  it('reads nothing from a value that is not a list of reservations', () => {
    expect(parseReservations('{"x":1}')).toEqual([]);
    expect(parseReservations('not json')).toEqual([]);
  });
});
