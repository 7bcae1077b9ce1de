import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver answered. */
export interface ReceivedRequest {
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw body. */
  text: string;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: unknown;
  /** The status the receiver answered. */
  status: number;
}

/** A notification endpoint that can be down on purpose. */
export interface RecordingReceiver {
  /** `http://127.0.0.1:<port>`; any path is accepted. */
  url: string;
  /** Every request so far, oldest first, with the status it was answered. */
  requests(): ReceivedRequest[];
  /** Answer the next `count` requests with 500 (`Infinity`: always), then 200 again. */
  failNext(count: number): void;
  stop(): Promise<void>;
}

/** Options for {@link startRecordingReceiver}. */
export interface StartRecordingReceiverOptions {
  /** Requests answered 500 before the receiver accepts; default 0, `Infinity` for an endpoint that stays down. */
  failFirst?: number;
}

/**
 * A tiny notification endpoint on 127.0.0.1 that records every request (path, headers, body) and answers 500 to
 * the first `failFirst` of them, then 200: an on-call webhook, Teams or Slack endpoint that is down for a while.
 */
export async function startRecordingReceiver(
  options: StartRecordingReceiverOptions = {},
): Promise<RecordingReceiver> {
  let failuresLeft = options.failFirst ?? 0;
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = undefined;
      }
      const status = failuresLeft > 0 ? 500 : 200;
      if (failuresLeft > 0) failuresLeft--;
      received.push({ url: req.url ?? '/', headers: req.headers, text, body, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'down');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => [...received],
    failNext: (count) => {
      failuresLeft = count;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
