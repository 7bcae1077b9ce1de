import { describe, expect, it } from 'vitest';
import { parseSchedule, ScheduleError } from '../../runner/ncrontab.js';

const at = (iso: string): number => Date.parse(iso);
const next = (expression: string, afterIso: string): string | undefined => {
  const t = parseSchedule(expression).next(at(afterIso));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('parseSchedule', () => {
  it('steps seconds with */n', () => {
    expect(next('*/30 * * * * *', '2030-01-01T00:00:10.500Z')).toBe('2030-01-01T00:00:30.000Z');
  });

  it('is strictly after the given time', () => {
    expect(next('*/30 * * * * *', '2030-01-01T00:00:30.000Z')).toBe('2030-01-01T00:01:00.000Z');
  });

  it('fires every second with */1', () => {
    expect(next('*/1 * * * * *', '2030-01-01T00:00:00.000Z')).toBe('2030-01-01T00:00:01.000Z');
  });

  it('reads lists and ranges', () => {
    expect(next('0 0 9-17 * * 1-5', '2030-01-04T17:30:00Z')).toBe('2030-01-07T09:00:00.000Z'); // Fri -> Mon
    expect(next('0 15,45 * * * *', '2030-01-01T10:20:00Z')).toBe('2030-01-01T10:45:00.000Z');
  });

  it('reads ranges with a step', () => {
    expect(next('0 10-40/15 * * * *', '2030-01-01T10:26:00Z')).toBe('2030-01-01T10:40:00.000Z');
  });

  it('reads month and day names', () => {
    expect(next('0 0 0 1 Feb *', '2030-01-15T00:00:00Z')).toBe('2030-02-01T00:00:00.000Z');
    expect(next('0 0 0 * * Sun', '2030-01-01T00:00:00Z')).toBe('2030-01-06T00:00:00.000Z');
  });

  it('requires both day and day-of-week to match, as NCrontab does', () => {
    // 13th that is a Friday: September 2030.
    expect(next('0 0 0 13 * 5', '2030-01-01T00:00:00Z')).toBe('2030-09-13T00:00:00.000Z');
  });

  it('crosses the end of a month and a year', () => {
    expect(next('0 0 0 1 * *', '2030-12-31T23:59:59Z')).toBe('2031-01-01T00:00:00.000Z');
  });

  it('returns undefined for a date that never comes', () => {
    expect(next('0 0 0 30 Feb *', '2030-01-01T00:00:00Z')).toBeUndefined();
  });

  it('accepts the TimeSpan form as an interval', () => {
    expect(next('00:00:05', '2030-01-01T00:00:00.250Z')).toBe('2030-01-01T00:00:05.250Z');
  });

  it('refuses five fields, naming what it expects', () => {
    expect(() => parseSchedule('*/5 * * * *')).toThrow(/expected 6 fields/);
  });

  it('refuses a value out of range, naming the field', () => {
    expect(() => parseSchedule('0 60 * * * *')).toThrow(ScheduleError);
    expect(() => parseSchedule('0 60 * * * *')).toThrow(/minute field "60": 60 is outside 0-59/);
  });

  it('refuses a zero step', () => {
    expect(() => parseSchedule('*/0 * * * * *')).toThrow(/step must be at least 1/);
  });

  it('refuses garbage', () => {
    expect(() => parseSchedule('a b c d e f')).toThrow(/second field "a"/);
  });
});
