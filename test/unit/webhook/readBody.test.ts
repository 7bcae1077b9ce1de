import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RequestError } from '../../../src/errors.js';
import { MAX_BODY_BYTES, readJsonBody, type IncomingAlertRequest } from '../../../src/webhook/readBody.js';

function request(
  body: string | Uint8Array[] | null,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): IncomingAlertRequest {
  const chunks = body === null ? null : typeof body === 'string' ? [new TextEncoder().encode(body)] : body;
  return {
    method: 'POST',
    headers: { get: (n) => headers[n.toLowerCase()] ?? null },
    body: chunks ? Readable.from(chunks) : null,
  };
}

async function statusOf(req: IncomingAlertRequest): Promise<[number, string]> {
  try {
    await readJsonBody(req);
  } catch (e) {
    if (e instanceof RequestError) return [e.status, e.code];
    throw e;
  }
  return [200, 'ok'];
}

describe('readJsonBody', () => {
  it('parses a JSON object', async () => {
    await expect(readJsonBody(request('{"a":1}'))).resolves.toEqual({ a: 1 });
  });

  it('accepts a charset and +json media types', async () => {
    await expect(
      readJsonBody(request('{}', { 'content-type': 'application/json; charset=utf-8' })),
    ).resolves.toEqual({});
    await expect(
      readJsonBody(request('{}', { 'content-type': 'application/vnd.alert+json' })),
    ).resolves.toEqual({});
  });

  it('answers 415 for another media type, before reading the body', async () => {
    expect(await statusOf(request('{}', { 'content-type': 'text/plain' }))).toEqual([
      415,
      'UnsupportedMediaType',
    ]);
    expect(await statusOf(request('{}', {}))).toEqual([415, 'UnsupportedMediaType']);
  });

  it('answers 413 on a declared length over the limit', async () => {
    const headers = { 'content-type': 'application/json', 'content-length': String(MAX_BODY_BYTES + 1) };
    expect(await statusOf(request('{}', headers))).toEqual([413, 'PayloadTooLarge']);
  });

  it('answers 413 on a chunked body over the limit, without reading it all', async () => {
    let served = 0;
    const chunk = new Uint8Array(64 * 1024).fill(32);
    const req: IncomingAlertRequest = {
      method: 'POST',
      headers: { get: (n) => (n === 'content-type' ? 'application/json' : null) },
      body: Readable.from(
        (function* () {
          for (let i = 0; i < 1000; i++) {
            served++;
            yield chunk;
          }
        })(),
      ),
    };
    expect(await statusOf(req)).toEqual([413, 'PayloadTooLarge']);
    expect(served).toBeLessThan(10);
  });

  it('answers 400 for an empty body, bad UTF-8 and bad JSON', async () => {
    expect(await statusOf(request(null))).toEqual([400, 'InvalidRequestContent']);
    expect(await statusOf(request([new Uint8Array([0x7b, 0xff, 0x7d])]))).toEqual([
      400,
      'InvalidRequestContent',
    ]);
    expect(await statusOf(request('{"a":'))).toEqual([400, 'InvalidJson']);
  });
});
