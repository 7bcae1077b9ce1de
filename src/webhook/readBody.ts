import { RequestError } from '../errors.js';

/**
 * The largest body accepted: Azure Monitor's common alert schema payloads are at most 256 KB; the margin
 * leaves room for the other schemas' whitespace and custom properties.
 */
export const MAX_BODY_BYTES = 256 * 1024 + 64 * 1024;

/** Options for {@link readJsonBody}. */
export interface ReadJsonBodyOptions {
  maxBytes?: number;
}

/** An incoming request as far as the webhook core cares: runtime-free, so the core never sees `@azure/functions`. */
export interface IncomingAlertRequest {
  method: string;
  headers: { get(name: string): string | null };
  /** The raw body stream, if any. */
  body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array> | null;
}

/**
 * Checks the media type and size, then reads and parses the JSON body, in that order, each failure with its own
 * status: 415 (not JSON), 413 (declared or actual size over the limit: reading stops at the limit), 400 (not
 * UTF-8 JSON). Nothing is kept beyond `maxBytes`.
 */
export async function readJsonBody(
  request: IncomingAlertRequest,
  options: ReadJsonBodyOptions = {},
): Promise<unknown> {
  const maxBytes = options.maxBytes ?? MAX_BODY_BYTES;
  const contentType = request.headers.get('content-type') ?? '';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(mediaType)) {
    throw new RequestError(
      415,
      'UnsupportedMediaType',
      `Content-Type must be application/json, found "${contentType.slice(0, 100) || '(none)'}".`,
    );
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    throw tooLarge(maxBytes, `${Number(declared)} bytes`);
  }

  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes, `more than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  }
  if (size === 0)
    throw new RequestError(
      400,
      'InvalidRequestContent',
      'The request body is empty: expected an alert JSON object.',
    );

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new RequestError(400, 'InvalidRequestContent', 'The request body is not valid UTF-8.');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const why = e instanceof SyntaxError ? e.message : 'malformed';
    throw new RequestError(400, 'InvalidJson', `The request body is not valid JSON: ${why.slice(0, 200)}.`);
  }
}

function tooLarge(maxBytes: number, found: string): RequestError {
  return new RequestError(
    413,
    'PayloadTooLarge',
    `The request body must be at most ${maxBytes} bytes, found ${found}.`,
  );
}
