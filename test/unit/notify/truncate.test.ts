import { describe, expect, it } from 'vitest';
import { truncate } from '../../../src/notify/truncate.js';

describe('truncate', () => {
  it('leaves a short text alone', () => {
    expect(truncate('abc', 3)).toBe('abc');
  });

  it('cuts to the limit, ellipsis included', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
  });

  it('never splits a surrogate pair', () => {
    const out = truncate('ab😀cd', 4);
    expect(out).toBe('ab…');
    expect(out.length).toBeLessThanOrEqual(4);
  });

  it('never leaves half an HTML entity', () => {
    expect(truncate('ab &amp; cd', 6)).toBe('ab …');
  });

  it('returns nothing for a zero limit', () => {
    expect(truncate('abc', 0)).toBe('');
  });
});
