import { describe, expect, it } from 'vitest';
import { errorMessage } from '../../src/errors.js';
import { loggerOf, redactingLogger } from '../../src/logger.js';
import { describeError, redact, registerSecret, stripQuery } from '../../src/redact.js';

describe('redact', () => {
  it.each([
    ['a SAS signature', 'https://st.blob.core.windows.net/c/b?sv=2022-11-02&sig=abc%2Bdef', 'abc%2Bdef'],
    ['a function key', 'https://f.azurewebsites.net/api/x?code=KEY123456', 'KEY123456'],
    ['a bearer token', 'authorization: bearer abc.def.ghi', 'abc.def.ghi'],
    ['an account key', 'AccountName=st;AccountKey=a2V5a2V5==;', 'a2V5a2V5=='],
    ['a SAS connection string', 'BlobEndpoint=x;SharedAccessSignature=sv=1&sig=zzz', 'sv=1&sig=zzz'],
    ['the identity header', '{"X-IDENTITY-HEADER":"hdr-value-123"}', 'hdr-value-123'],
    ['a bare JWT', 'token eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl here', 'eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl'],
  ])('removes %s', (_what, text, secret) => {
    expect(redact(text)).not.toContain(secret);
    expect(redact(text)).toContain('***');
  });

  it('removes a registered value wherever it appears, and ignores values too short to be secrets', () => {
    registerSecret('s3cr3t-identity-value');
    registerSecret('abc');
    registerSecret(undefined);
    expect(redact('quoted s3cr3t-identity-value in a message about abc')).toBe(
      'quoted *** in a message about abc',
    );
  });

  it('leaves ordinary text alone, and strips a query string', () => {
    expect(redact('capture alertcap-vm1-abc123 failed: InternalError')).toBe(
      'capture alertcap-vm1-abc123 failed: InternalError',
    );
    expect(stripQuery('https://x/a.cap?sig=1#f')).toBe('https://x/a.cap');
    expect(stripQuery('https://x/a.cap')).toBe('https://x/a.cap');
  });
});

describe('describeError and the logger sinks', () => {
  it('normalises errors and other thrown values, redacted', () => {
    expect(describeError(new Error('GET ?sig=abc failed'))).toBe('GET ?sig=*** failed');
    expect(describeError('code=xyz')).toBe('code=xyz'); // no query separator: not a key parameter
    expect(describeError('?code=xyz')).toBe('?code=***');
    expect(errorMessage(42)).toBe('42');
  });

  it('redacts every line and argument a wrapped logger writes', () => {
    const seen: unknown[][] = [];
    const logger = redactingLogger({
      info: (...a) => seen.push(a),
      warn: (...a) => seen.push(a),
      error: (...a) => seen.push(a),
    });
    logger.info('a ?sig=1', '?code=2');
    logger.warn('Bearer abc', new Error('AccountKey=k;'));
    logger.error('plain');
    expect(JSON.stringify(seen)).not.toMatch(/sig=1|code=2|Bearer abc|AccountKey=k/);
    const lines: unknown[] = [];
    const context = {
      log: (m: unknown) => lines.push(m),
      warn: (m: unknown) => lines.push(m),
      error: (m: unknown) => lines.push(m),
    };
    const adapted = loggerOf(context);
    adapted.info('?sig=a');
    adapted.warn('?sig=b');
    adapted.error('?sig=c');
    expect(lines).toEqual(['?sig=***', '?sig=***', '?sig=***']);
  });
});
