import { describe, expect, it } from 'vitest';
import { splitText, tableSafeKey, truncateText } from '../../../src/ledger/tableText.js';

/** No lone surrogate (`String#isWellFormed` is ES2024, beyond this project's lib). */
const wellFormed = (s: string): boolean =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

describe('wellFormed (test helper)', () => {
  it('spots a lone surrogate', () => {
    expect(wellFormed('ab\ud83d')).toBe(false);
    expect(wellFormed('🔥')).toBe(true);
  });
});

describe('truncateText', () => {
  it('keeps a string that fits', () => {
    expect(truncateText('abc', 3)).toBe('abc');
  });

  it('cuts a long string to the limit, ending in an ellipsis', () => {
    const cut = truncateText('abcdefgh', 5);
    expect(cut).toBe('abcd…');
    expect(cut.length).toBe(5);
  });

  it('never leaves half a surrogate pair', () => {
    const cut = truncateText('abc🔥def', 5);
    expect(cut).toBe('abc…');
    expect(wellFormed(cut)).toBe(true);
  });
});

describe('splitText', () => {
  it('returns one empty piece for the empty string', () => {
    expect(splitText('', 4, 3)).toEqual(['']);
  });

  it('splits into pieces of at most the chunk size that join back to the original', () => {
    const pieces = splitText('abcdefghij', 4, 3);
    expect(pieces).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('moves a surrogate pair that would straddle a cut into the next piece', () => {
    const pieces = splitText('abc🔥def', 4, 3);
    expect(pieces).toEqual(['abc', '🔥de', 'f']);
    expect(pieces?.every(wellFormed)).toBe(true);
  });

  it('returns undefined when more pieces than allowed would be needed', () => {
    expect(splitText('abcdefghij', 4, 2)).toBeUndefined();
  });

  it('rejects a chunk size that cannot hold a surrogate pair', () => {
    expect(() => splitText('abc', 1, 10)).toThrow(RangeError);
  });
});

describe('tableSafeKey', () => {
  it('keeps a short key made of allowed characters', () => {
    expect(tableSafeKey('0000-sub|westeurope')).toBe('0000-sub|westeurope');
  });

  it.each([['/'], ['\\'], ['#'], ['?'], ['\n'], ['\u007f']])('hashes a key containing %j', (ch) => {
    const key = tableSafeKey(`a${ch}b`);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes a key longer than 256 characters', () => {
    expect(tableSafeKey('x'.repeat(300))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes the empty string', () => {
    expect(tableSafeKey('')).toMatch(/^[0-9a-f]{64}$/);
  });
});
