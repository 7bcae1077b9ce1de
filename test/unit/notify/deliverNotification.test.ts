import { describe, expect, it } from 'vitest';
import { idempotencyHeaderValue, nextNotifyDelaySeconds } from '../../../src/notify/deliverNotification.js';

describe('nextNotifyDelaySeconds', () => {
  it.each([
    [1, 30],
    [2, 60],
    [3, 120],
    [4, 240],
    [7, 1920],
    [8, 3600],
    [1000, 3600],
  ])('after %d failed tries waits %d s', (attempts, seconds) => {
    expect(nextNotifyDelaySeconds(attempts)).toBe(seconds);
  });

  it('treats zero, negative and NaN as the first retry', () => {
    expect([0, -3, Number.NaN].map(nextNotifyDelaySeconds)).toEqual([30, 30, 30]);
  });
});

describe('idempotencyHeaderValue', () => {
  it('sends a plain ASCII key as is', () => {
    expect(idempotencyHeaderValue('/subscriptions/x/alerts/a1:ac-vm1')).toBe(
      '/subscriptions/x/alerts/a1:ac-vm1',
    );
  });

  it('percent-encodes a key with spaces, newlines or non-ASCII', () => {
    expect(idempotencyHeaderValue('a b\nç')).toBe('a%20b%0A%C3%A7');
  });
});
