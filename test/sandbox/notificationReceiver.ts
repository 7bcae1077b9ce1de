import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running notification receiver. */
export interface NotificationReceiver {
  /** `http://127.0.0.1:<port>`: give this (any path) to the app as its notification webhook. */
  url: string;
  /** `<url>/notifications`: `GET` returns the received bodies as a JSON array, `DELETE` clears them. */
  notificationsUrl: string;
  /** The bodies received so far, oldest first (parsed JSON, or the raw text when it was not JSON). */
  notifications(): unknown[];
  stop(): Promise<void>;
}

/** Options for {@link startNotificationReceiver}. */
export interface StartNotificationReceiverOptions {
  /** Largest body recorded. Default 1 MiB; larger bodies are answered 413. */
  maxBodyBytes?: number;
}

/**
 * Starts a tiny webhook receiver on 127.0.0.1: `POST` to any path records the body (generic JSON, Teams and Slack
 * notifications alike) and answers 200; `GET /notifications` lists them; `DELETE /notifications` clears them.
 */
export async function startNotificationReceiver(
  options: StartNotificationReceiverOptions = {},
): Promise<NotificationReceiver> {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const received: unknown[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/notifications' && req.method === 'GET') {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
      return;
    }
    if (path === '/notifications' && req.method === 'DELETE') {
      req.resume();
      received.length = 0;
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > maxBodyBytes) {
        res.writeHead(413).end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        received.push(JSON.parse(text) as unknown);
      } catch {
        received.push(text);
      }
      // Teams' incoming webhooks answer "1"; generic receivers ignore the body.
      res.writeHead(200, { 'content-type': 'text/plain' }).end('1');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    notificationsUrl: `${url}/notifications`,
    notifications: () => [...received],
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
