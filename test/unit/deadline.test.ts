import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deadlineSignal } from '../../src/deadline.js';

describe('deadlineSignal', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts with a TimeoutError when its time is up, not before', () => {
    const signal = deadlineSignal(1_000);
    vi.advanceTimersByTime(999);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it("aborts with the caller's reason as soon as the caller's signal aborts, and then drops its timer", () => {
    const caller = new AbortController();
    const signal = deadlineSignal(60_000, undefined, caller.signal);
    caller.abort(new Error('record deadline'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('record deadline');
    expect(vi.getTimerCount()).toBe(0);
  });

  it("is aborted from the start when the caller's signal already is", () => {
    const signal = deadlineSignal(60_000, AbortSignal.abort(new Error('gone')));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('gone');
  });
});
