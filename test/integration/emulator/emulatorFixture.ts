import { NetworkManagementClient } from '@azure/arm-network';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { request as httpsRequest } from 'node:https';
import { inject } from 'vitest';
import {
  emulatorCredential,
  startEmulator,
  type Emulator,
  type EmulatorOptions,
} from '../../emulator/index.js';

/** Poll fast: the emulator's Retry-After is 0 s on a fast clock, which leaves the interval to the caller. */
export const FAST_POLL = { updateIntervalInMs: 5 } as const;

/** Starts an emulator with the run's certificate and a fast clock (1000 emulated seconds per second). */
export function startTestEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ tls: inject('emulatorTls'), timeScale: 1000, ...options });
}

/** Options for {@link networkClient}. */
export interface NetworkClientOptions {
  /** Replaces the SDK's api-version on every request (to replay an example at its own version). */
  apiVersion?: string;
  /** SDK retry attempts (default the SDK's 3). */
  maxRetries?: number;
}

/** A real `NetworkManagementClient` talking to the emulator, with its managed identity and quick retries. */
export function networkClient(
  emulator: Emulator,
  subscriptionId: string,
  options: NetworkClientOptions = {},
): NetworkManagementClient {
  const client = new NetworkManagementClient(emulatorCredential(emulator), subscriptionId, {
    endpoint: emulator.url,
    retryOptions: {
      retryDelayInMs: 5,
      maxRetryDelayInMs: 20,
      ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    },
  });
  if (options.apiVersion) client.pipeline.addPolicy(apiVersionPolicy(options.apiVersion));
  return client;
}

function apiVersionPolicy(apiVersion: string): PipelinePolicy {
  return {
    name: 'exampleApiVersion',
    sendRequest: (request, next) => {
      const url = new URL(request.url);
      if (url.searchParams.has('api-version')) {
        url.searchParams.set('api-version', apiVersion);
        request.url = url.toString();
      }
      return next(request);
    },
  };
}

/**
 * Checks that `actual` has every field of `expected` with the same JSON type, recursively (array items are
 * compared pairwise as far as both go). Returns the differences, empty when the shapes agree.
 */
export function shapeDifferences(actual: unknown, expected: unknown, path = '$'): string[] {
  const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(actual) !== kind(expected)) return [`${path}: expected ${kind(expected)}, found ${kind(actual)}`];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const out: string[] = [];
    if (expected.length > 0 && actual.length === 0) out.push(`${path}: expected items, found an empty array`);
    for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
      out.push(...shapeDifferences(actual[i], expected[i], `${path}[${i}]`));
    }
    return out;
  }
  if (kind(expected) === 'object') {
    const a = actual as Record<string, unknown>;
    return Object.entries(expected as Record<string, unknown>).flatMap(([key, value]) =>
      key in a ? shapeDifferences(a[key], value, `${path}.${key}`) : [`${path}.${key}: missing`],
    );
  }
  return [];
}

/** A raw HTTP answer. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** Options for {@link rawRequest}. */
export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One HTTPS request to the emulator without any SDK (to see exactly what goes over the wire). */
export function rawRequest(
  emulator: Emulator,
  pathAndQuery: string,
  options: RawRequestOptions = {},
): Promise<RawAnswer> {
  const text = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${emulator.url}${pathAndQuery}`,
      {
        method: options.method ?? 'GET',
        ca: emulator.caPem,
        headers: {
          ...(text === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: data === '' ? undefined : (JSON.parse(data) as unknown),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** A bearer token from the emulator's identity endpoint. */
export async function bearer(emulator: Emulator): Promise<Record<string, string>> {
  const token = await emulatorCredential(emulator).getToken('https://management.azure.com/.default');
  return { authorization: `Bearer ${token!.token}` };
}
