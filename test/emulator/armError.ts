import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** An ARM error answer: `{ "error": { "code", "message" } }` with a status and optional headers. */
export class ArmError extends Error {
  override name = 'ArmError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Writes a JSON answer with the headers ARM puts on every response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  const requestId = randomUUID();
  res.writeHead(status, {
    ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    'content-length': Buffer.byteLength(text),
    'x-ms-request-id': requestId,
    'x-ms-correlation-request-id': requestId,
    'cache-control': 'no-cache',
    ...headers,
  });
  res.end(text);
}

/** Writes an {@link ArmError}. */
export function sendArmError(res: ServerResponse, error: ArmError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

/** ARM's not-found answer for a resource id. */
export function resourceNotFound(resourceType: string, name: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${resourceType}/${name}' under resource group '${resourceGroup}' was not found. ` +
      'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
  );
}

/** A 400 for a request body that does not match the contract, naming the field. */
export function invalidRequestFormat(field: string, expectation: string): ArmError {
  return new ArmError(400, 'InvalidRequestFormat', `Cannot parse the request. '${field}' ${expectation}.`);
}
