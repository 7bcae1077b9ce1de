import azureFunctions from '@azure/functions';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { probe } from '../../fixtures/runnerApp/probe.js';
import { startFunctionHost, type FunctionHost } from '../../runner/index.js';
import { createManualClock, type ManualClock } from '../../runner/manualClock.js';

const { HttpRequest, InvocationContext } = azureFunctions;
const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/runnerApp');
const KEY = 'test-function-key-0123456789abcdefghijklmnop';
const HOST_KEY = 'test-host-key-0123456789abcdefghijklmnopqrs';
const MASTER_KEY = 'test-master-key-0123456789abcdefghijklmnopq';
// 2030-01-01T12:00:01Z: one second after a */5 occurrence.
const START = Date.UTC(2030, 0, 1, 12, 0, 1);

let host: FunctionHost;
let clock: ManualClock;
const lines: string[] = [];

beforeAll(async () => {
  clock = createManualClock(START);
  host = await startFunctionHost({
    entryPoints: ['echo.ts', 'hello.ts', 'tick.ts', 'slow.ts'].map((f) => path.join(fixtures, f)),
    functionKey: KEY,
    hostKey: HOST_KEY,
    masterKey: MASTER_KEY,
    maxRequestBodyBytes: 64 * 1024,
    clock,
    log: (line) => lines.push(line),
  });
});

afterAll(async () => {
  await host?.stop();
});

beforeEach(() => probe.reset());

const post = (pathAndQuery: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${host.url}${pathAndQuery}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"hello":"world"}',
    ...init,
  });

describe('registrations', () => {
  it('lists the functions the app registered, with their triggers', () => {
    expect(host.functions).toEqual([
      { name: 'echo', trigger: 'http', route: 'echo/{id?}', methods: ['POST', 'PUT'], authLevel: 'function' },
      { name: 'hello', trigger: 'http', route: 'hello', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'boom', trigger: 'http', route: 'boom', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'tick', trigger: 'timer', schedule: '*/5 * * * * *' },
      { name: 'slow', trigger: 'http', route: 'slow', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'adminOnly', trigger: 'http', route: 'adminOnly', methods: ['GET'], authLevel: 'admin' },
    ]);
  });

  it('listens on 127.0.0.1', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('function keys', () => {
  it('refuses a request without a key with 401 and an empty body', async () => {
    const res = await post('/api/echo');
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('');
    expect(probe.requests).toHaveLength(0);
  });

  it('refuses a wrong key in ?code=', async () => {
    const res = await post(`/api/echo?code=${KEY}x`);
    expect(res.status).toBe(401);
    expect(probe.requests).toHaveLength(0);
  });

  it('refuses a wrong key in x-functions-key', async () => {
    const res = await post('/api/echo', { headers: { 'x-functions-key': 'nope' } });
    expect(res.status).toBe(401);
  });

  it('accepts the key in ?code=', async () => {
    const res = await post(`/api/echo?code=${KEY}`);
    expect(res.status).toBe(201);
  });

  it('accepts the key in the x-functions-key header', async () => {
    const res = await post('/api/echo', {
      headers: { 'x-functions-key': KEY, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(201);
  });

  it('accepts the host key and the master key for a function-level function', async () => {
    expect((await post(`/api/echo?code=${HOST_KEY}`)).status).toBe(201);
    expect((await post('/api/echo', { headers: { 'x-functions-key': MASTER_KEY } })).status).toBe(201);
  });

  it('calls an admin-level function with the master key only', async () => {
    for (const key of [KEY, HOST_KEY]) {
      expect((await fetch(`${host.url}/api/adminOnly`, { headers: { 'x-functions-key': key } })).status).toBe(
        401,
      );
    }
    expect(
      (await fetch(`${host.url}/api/adminOnly`, { headers: { 'x-functions-key': MASTER_KEY } })).status,
    ).toBe(200);
  });

  // The host reads x-functions-key first and ?code= only without the header ("header takes precedence"):
  // Azure/azure-functions-host, src/WebJobs.Script.WebHost/Security/Authentication/Keys/AuthenticationLevelHandler.cs.
  it('reads the x-functions-key header before ?code=', async () => {
    const wrongHeader = await post(`/api/echo?code=${KEY}`, { headers: { 'x-functions-key': 'wrong' } });
    expect(wrongHeader.status).toBe(401);
    const rightHeader = await post('/api/echo?code=wrong', { headers: { 'x-functions-key': KEY } });
    expect(rightHeader.status).toBe(201);
  });

  it('refuses equal keys for different levels', async () => {
    await expect(
      startFunctionHost({ entryPoints: [path.join(fixtures, 'hello.ts')], functionKey: KEY, hostKey: KEY }),
    ).rejects.toThrow(/must differ/);
  });

  it('lets an anonymous function through without a key', async () => {
    const res = await fetch(`${host.url}/api/hello`);
    expect(res.status).toBe(200);
  });
});

describe('HTTP invocation', () => {
  it('hands the handler a real HttpRequest with method, body, headers, query and route params', async () => {
    await post(`/api/echo/vm-42?code=${KEY}&dryRun=true`, {
      headers: { 'content-type': 'application/json', 'x-ms-test': 'a' },
    });
    const seen = probe.requests[0];
    expect(seen?.request).toBeInstanceOf(HttpRequest);
    expect(seen?.request.method).toBe('POST');
    expect(seen?.body).toBe('{"hello":"world"}');
    expect(seen?.request.headers.get('x-ms-test')).toBe('a');
    expect(seen?.request.query.get('dryRun')).toBe('true');
    expect(seen?.request.params).toEqual({ id: 'vm-42' });
  });

  it('hands the handler a real InvocationContext naming the function', async () => {
    await post(`/api/echo?code=${KEY}`);
    const context = probe.requests[0]?.context;
    expect(context).toBeInstanceOf(InvocationContext);
    expect(context?.functionName).toBe('echo');
    expect(context?.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context?.options.trigger.type).toBe('httpTrigger');
  });

  it('writes the HttpResponseInit back: status, headers and JSON body', async () => {
    const res = await post(`/api/echo/7?code=${KEY}`, { method: 'PUT' });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-echo')).toBe('yes');
    expect(await res.json()).toMatchObject({
      method: 'PUT',
      params: { id: '7' },
      body: '{"hello":"world"}',
      functionName: 'echo',
    });
  });

  it('writes an HttpResponse object back, defaulting the status to 200', async () => {
    const res = await fetch(`${host.url}/api/hello`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('runs in the process environment, so the app reads its settings from process.env', async () => {
    vi.stubEnv('RUNNER_FIXTURE_GREETING', 'from-env');
    try {
      const res = await fetch(`${host.url}/api/hello`);
      expect(await res.text()).toBe('hello from-env');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('matches routes case-insensitively, as the host does', async () => {
    const res = await fetch(`${host.url}/API/Hello`);
    expect(res.status).toBe(200);
  });

  it('answers 500 with an empty body when the handler throws', async () => {
    const res = await fetch(`${host.url}/api/boom`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
  });

  it('answers 413 when the body is over maxRequestBodyBytes, without calling the handler', async () => {
    const res = await post(`/api/echo?code=${KEY}`, { body: 'x'.repeat(64 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect(probe.requests).toHaveLength(0);
  });

  it('accepts a body of exactly maxRequestBodyBytes', async () => {
    const res = await post(`/api/echo?code=${KEY}`, { body: 'x'.repeat(64 * 1024) });
    expect(res.status).toBe(201);
  });
});

describe('routing', () => {
  it('answers 404 for an unknown function', async () => {
    const res = await post(`/api/nothing?code=${KEY}`);
    expect(res.status).toBe(404);
  });

  it('answers 404 outside the /api prefix', async () => {
    const res = await post(`/echo?code=${KEY}`);
    expect(res.status).toBe(404);
  });

  // The host answers 404, not 405, for a method the route does not take: Azure/azure-functions-host#10098.
  it('answers 404 for a method the function does not accept, as the host does', async () => {
    const res = await fetch(`${host.url}/api/echo?code=${KEY}`, { method: 'GET' });
    expect(res.status).toBe(404);
    expect(probe.requests).toHaveLength(0);
  });
});

describe('timers', () => {
  it('fires a timer at its next NCRONTAB occurrence, not before', async () => {
    await clock.advance(3_000); // 12:00:04
    expect(probe.timerRuns).toHaveLength(0);
    await clock.advance(1_000); // 12:00:05
    expect(probe.timerRuns).toHaveLength(1);
    expect(probe.timerRuns[0]?.timer).toMatchObject({ isPastDue: false, schedule: { adjustForDST: true } });
    expect(probe.timerRuns[0]?.context).toBeInstanceOf(InvocationContext);
    expect(probe.timerRuns[0]?.context.functionName).toBe('tick');
  });

  it('fires once per occurrence', async () => {
    await clock.advance(15_000);
    expect(probe.timerRuns).toHaveLength(3);
  });

  it('skips an occurrence while the previous run is still going, never overlapping', async () => {
    let release!: () => void;
    probe.timerGate = new Promise<void>((resolve) => (release = resolve));
    await clock.advance(5_000);
    await clock.advance(5_000);
    await clock.advance(5_000);
    expect(probe.timerRuns).toHaveLength(1);
    expect(probe.timerMaxActive).toBe(1);
    expect(lines.some((l) => /timer tick: skipped/.test(l))).toBe(true);
    release();
    probe.timerGate = undefined;
    await clock.advance(5_000);
    expect(probe.timerRuns).toHaveLength(2);
  });

  it('runs a timer on demand with invokeTimer and resolves when the handler finished', async () => {
    await host.invokeTimer('tick');
    expect(probe.timerRuns).toHaveLength(1);
    expect(probe.timerActive).toBe(0);
  });

  it('makes invokeTimer wait for a running run instead of overlapping it', async () => {
    let release!: () => void;
    probe.timerGate = new Promise<void>((resolve) => (release = resolve));
    const first = host.invokeTimer('tick');
    const second = host.invokeTimer('tick');
    await clock.advance(0);
    expect(probe.timerRuns).toHaveLength(1);
    release();
    await Promise.all([first, second]);
    expect(probe.timerRuns).toHaveLength(2);
    expect(probe.timerMaxActive).toBe(1);
  });

  it('rejects invokeTimer for an unknown timer', async () => {
    await expect(host.invokeTimer('nope')).rejects.toThrow(/no timer function named "nope"/);
  });

  it('fires a timer through the admin API with the master key (202)', async () => {
    const res = await fetch(`${host.url}/admin/functions/tick`, {
      method: 'POST',
      headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' },
      body: '{"input":""}',
    });
    expect(res.status).toBe(202);
    await vi.waitFor(() => expect(probe.timerRuns).toHaveLength(1));
  });

  it('refuses the admin API without the key', async () => {
    const res = await fetch(`${host.url}/admin/functions/tick`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect(probe.timerRuns).toHaveLength(0);
  });

  it('answers 404 from the admin API for an unknown function', async () => {
    const res = await fetch(`${host.url}/admin/functions/nope?code=${MASTER_KEY}`, { method: 'POST' });
    expect(res.status).toBe(404);
  });

  // "Call an admin endpoint: Host (master only)":
  // https://learn.microsoft.com/azure/azure-functions/security-concepts#function-access-keys
  it.each([
    ['a function key', KEY],
    ['the host key', HOST_KEY],
  ])('refuses the admin API with %s (master key only)', async (_what, key) => {
    const res = await fetch(`${host.url}/admin/functions/tick`, {
      method: 'POST',
      headers: { 'x-functions-key': key },
    });
    expect(res.status).toBe(401);
    expect(probe.timerRuns).toHaveLength(0);
  });

  it('takes the master key for any /admin path, and nothing else', async () => {
    expect((await fetch(`${host.url}/admin/host/status?code=${KEY}`)).status).toBe(401);
    expect((await fetch(`${host.url}/admin/host/status?code=${MASTER_KEY}`)).status).toBe(404);
  });
});

describe('other hosts in the same process', () => {
  it('serves the same registrations again (entry points evaluate once per process)', async () => {
    const second = await startFunctionHost({ entryPoints: [path.join(fixtures, 'hello.ts')] });
    try {
      expect(second.functions.map((f) => f.name)).toEqual(['hello', 'boom']);
      expect((await fetch(`${second.url}/api/hello`)).status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('does not fire timers on schedule when enableTimers is false', async () => {
    const quiet = createManualClock(START);
    const second = await startFunctionHost({
      entryPoints: [path.join(fixtures, 'tick.ts')],
      enableTimers: false,
      clock: quiet,
    });
    try {
      await quiet.advance(60_000);
      expect(probe.timerRuns).toHaveLength(0);
      await second.invokeTimer('tick');
      expect(probe.timerRuns).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it('runs a runOnStartup timer once when the host starts', async () => {
    const second = await startFunctionHost({
      entryPoints: [path.join(fixtures, 'startup.ts')],
      clock: createManualClock(START),
    });
    try {
      await vi.waitFor(() => expect(probe.startupRuns).toHaveLength(1));
      expect(probe.startupRuns[0]?.isPastDue).toBe(false);
    } finally {
      await second.stop();
    }
  });

  it('closes its port on stop', async () => {
    const second = await startFunctionHost({ entryPoints: [path.join(fixtures, 'hello.ts')] });
    await second.stop();
    await expect(fetch(`${second.url}/api/hello`)).rejects.toThrow();
  });
});

describe('logs', () => {
  it('log start, end, status and duration of invocations', () => {
    expect(lines).toContainEqual(expect.stringMatching(/^Executing 'Functions\.echo' \(Reason='http', Id=/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^Executed 'Functions\.echo' \(Succeeded, Id=[0-9a-f-]+, Duration=\d+ms\)$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^POST \/api\/echo -> 201 \(echo\) in \d+ ms$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^Executed 'Functions\.boom' \(Failed, .*Error: boom$/),
    );
  });

  it('never contain the function key or a query string', () => {
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((l) => l.includes(KEY) || l.includes('?code') || l.includes('dryRun'))).toEqual([]);
  });
});

describe('the 230 s response limit', () => {
  // "Regardless of the function app timeout setting, 230 seconds is the maximum amount of time that an HTTP
  // triggered function can take to respond to a request", answered with a 502:
  // https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger#limits
  it('answers 502 when the handler has not answered within 230 s, and lets the handler finish', async () => {
    let release!: () => void;
    probe.httpGate = new Promise<void>((resolve) => (release = resolve));
    const pending = fetch(`${host.url}/api/slow`);
    await vi.waitFor(() => expect(probe.slowStarted).toBe(true));
    await clock.advance(229_999);
    const early = await Promise.race([
      pending.then(() => 'answered'),
      clock.advance(0).then(() => 'waiting'),
    ]);
    expect(early).toBe('waiting');
    await clock.advance(1);
    const res = await pending;
    expect(res.status).toBe(502);
    release();
    await vi.waitFor(() => expect(probe.slowFinished).toBe(true));
  });

  it('answers normally within the limit', async () => {
    let release!: () => void;
    probe.httpGate = new Promise<void>((resolve) => (release = resolve));
    const pending = fetch(`${host.url}/api/slow`);
    await vi.waitFor(() => expect(probe.slowStarted).toBe(true));
    await clock.advance(200_000);
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('late');
  });
});
