// The core stand-in must be installed before the app's first `app.*` call: keep this import first.
import {
  collectRegistrations,
  installFunctionsCore,
  registeredHooks,
  setSystemLog,
} from './functionsCore.js';
import type { CoreBindingInfo, CoreRegistration } from './functionsCore.js';
// Default import: Node's ESM loader cannot see the bundle's class exports by name (cjs-module-lexer).
import azureFunctions from '@azure/functions';
import type { EffectiveFunctionOptions, FunctionTrigger, LogLevel, Timer } from '@azure/functions';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { redact, stripQuery } from '../../src/logger.js';
import { parseSchedule, type TimerSchedule } from './ncrontab.js';

/** A clock for the timer triggers, so tests can drive schedules without waiting on the wall clock. */
export interface HostClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `callback` once `delayInMs` has passed on this clock. */
  setTimer(callback: () => void, delayInMs: number): { cancel(): void };
}

/** The wall clock. */
export const systemClock: HostClock = {
  now: () => Date.now(),
  setTimer(callback, delayInMs) {
    // setTimeout caps at 2^31-1 ms; a longer wait re-arms itself.
    const max = 2_147_483_647;
    let handle: NodeJS.Timeout;
    const arm = (remaining: number): void => {
      handle = setTimeout(
        () => (remaining > max ? arm(remaining - max) : callback()),
        Math.min(remaining, max),
      );
      handle.unref?.();
    };
    arm(Math.max(0, delayInMs));
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Options for {@link startFunctionHost}. */
export interface StartFunctionHostOptions {
  /**
   * Module specifiers or paths of the app's function entry points (e.g. absolute paths of `functions/*.ts`, or
   * `dist/functions/*.js`). Relative paths are resolved against the working directory. Imported one at a time,
   * after the `@azure/functions-core` stand-in is installed.
   */
  entryPoints: string[];
  /** Port on 127.0.0.1. Default 0 (a free port). */
  port?: number;
  /**
   * The function key of every HTTP function (its `default` key): it calls `function`-level functions only.
   * Default: 43 random url-safe characters.
   */
  functionKey?: string;
  /** The host's `default` key: calls any `function`-level function, never `admin`. Default random. */
  hostKey?: string;
  /** The master key (`_master`): the only key for `admin`-level functions and `/admin/*`. Default random. */
  masterKey?: string;
  /**
   * How long an HTTP response may take before the caller gets a 502 (the handler goes on running): 230 s in Azure,
   * the front end's idle timeout, whatever `functionTimeout` says. Default 230 000, on {@link StartFunctionHostOptions.clock}.
   */
  httpResponseTimeLimitInMs?: number;
  /** Fire timer triggers on their NCRONTAB schedule. Default true. */
  enableTimers?: boolean;
  /** Largest request body accepted before the handler sees it (the Functions host's limit is 100 MB). Default 100 MB. */
  maxRequestBodyBytes?: number;
  /** Receives one line per event: function start/end, HTTP status, duration. Never the key or a query string. */
  log?: (line: string) => void;
  /** The clock timer triggers follow. Default {@link systemClock}. */
  clock?: HostClock;
}

/** One function the host serves. */
export interface HostedFunction {
  name: string;
  trigger: 'http' | 'timer';
  /** HTTP: the route template under `/api/` (the function name when the app gave none). */
  route?: string;
  /** HTTP: the accepted methods, upper case. */
  methods?: string[];
  /** HTTP: `anonymous`, `function` or `admin`. */
  authLevel?: string;
  /** Timer: the NCRONTAB expression. */
  schedule?: string;
}

/** A running local Functions host. */
export interface FunctionHost {
  /** `http://127.0.0.1:<port>` */
  url: string;
  functionKey: string;
  hostKey: string;
  masterKey: string;
  functions: HostedFunction[];
  /**
   * Runs a timer function once now (what the host's admin endpoint does) and resolves when the handler finished.
   * If the timer is already running it waits for that run to end first: runs of one timer never overlap.
   * Rejects if the handler throws.
   */
  invokeTimer(name: string): Promise<void>;
  /** Stops timers, closes the server (and its open connections) and waits for running timer handlers. */
  stop(): Promise<void>;
}

/** Thrown when the app's registrations cannot be hosted (duplicate names, bad schedules, unknown timer names). */
export class FunctionHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FunctionHostError';
  }
}

const { HttpRequest, HttpResponse, InvocationContext } = azureFunctions;

const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;
/**
 * "Regardless of the function app timeout setting, 230 seconds is the maximum amount of time that an HTTP triggered
 * function can take to respond to a request" (https://learn.microsoft.com/azure/azure-functions/functions-scale#timeout),
 * answered by the front end with a 502 (https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger#limits).
 */
const HTTP_RESPONSE_TIME_LIMIT_IN_MS = 230_000;
const ROUTE_PREFIX = 'api';

interface HttpFunction {
  kind: 'http';
  name: string;
  registration: CoreRegistration;
  trigger: CoreBindingInfo;
  segments: string[];
  methods: string[];
  authLevel: string;
}

interface TimerFunction {
  kind: 'timer';
  name: string;
  registration: CoreRegistration;
  trigger: CoreBindingInfo;
  schedule: TimerSchedule;
  runOnStartup: boolean;
  running?: Promise<void>;
  lastRunInMs?: number;
  timer?: { cancel(): void };
}

type Hosted = HttpFunction | TimerFunction;

const handlerErrors = new WeakSet<object>();

// ESM modules evaluate once per process: remember what each entry point registered so a second host in the
// same process (tests) serves the same functions.
const registrationsByEntry = new Map<string, CoreRegistration[]>();

/**
 * Imports the app's entry points with a stand-in for the Functions worker, then serves their HTTP triggers under
 * `/api/<route>` (function-key checks as the host applies them) and fires their timer triggers on schedule.
 */
export async function startFunctionHost(options: StartFunctionHostOptions): Promise<FunctionHost> {
  installFunctionsCore();
  const log = options.log ?? (() => {});
  const clock = options.clock ?? systemClock;
  const functionKey = options.functionKey ?? randomBytes(32).toString('base64url');
  const hostKey = options.hostKey ?? randomBytes(32).toString('base64url');
  const masterKey = options.masterKey ?? randomBytes(32).toString('base64url');
  if (new Set([functionKey, hostKey, masterKey]).size !== 3)
    throw new FunctionHostError('the function, host and master keys must differ');
  const responseLimitInMs = options.httpResponseTimeLimitInMs ?? HTTP_RESPONSE_TIME_LIMIT_IN_MS;
  const maxBodyBytes = options.maxRequestBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  setSystemLog((level, message) => log(`[host] ${level}: ${redact(message)}`));

  const registrations: CoreRegistration[] = [];
  for (const entry of options.entryPoints) registrations.push(...(await importEntryPoint(entry, log)));
  const hosted = toHostedFunctions(registrations, log);
  for (const [hookName, callbacks] of registeredHooks) {
    if (callbacks.size > 0)
      log(`[host] warning: app.hook.${hookName} is registered but the local runner does not run hooks`);
  }
  const httpFunctions = hosted.filter((f): f is HttpFunction => f.kind === 'http');
  const timerFunctions = hosted.filter((f): f is TimerFunction => f.kind === 'timer');
  // The levels a key grants, as the host's secret manager resolves them: master > host (default) > function.
  const keyDigests = { function: digest(functionKey), host: digest(hostKey), master: digest(masterKey) };
  const keyLevel = (candidate: string | undefined): 'function' | 'host' | 'master' | undefined => {
    if (candidate === undefined || candidate === '') return undefined;
    const d = digest(candidate);
    let level: 'function' | 'host' | 'master' | undefined;
    // Every digest is compared (no early exit), in constant time.
    for (const name of ['function', 'host', 'master'] as const)
      if (timingSafeEqual(d, keyDigests[name])) level = name;
    return level;
  };
  /** Whether a key may call a function of `authLevel` (https://learn.microsoft.com/azure/azure-functions/function-keys-how-to#authorization-scopes-function-level). */
  const allowed = (authLevel: string, key: string | undefined): boolean => {
    if (authLevel === 'anonymous') return true;
    const level = keyLevel(key);
    return authLevel === 'admin' ? level === 'master' : level !== undefined;
  };

  let baseUrl = '';
  const server: Server = createServer((req, res) => {
    handleRequest(req, res).catch((e: unknown) => {
      // A handler that throws was logged by invoke(); the host answers 500 with no body, as Functions does.
      if (!handlerErrors.has(e as object))
        log(`[host] error: ${redact(e instanceof Error ? e.message : String(e))}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
      log(`${req.method ?? 'GET'} ${stripQuery(req.url ?? '/')} -> 500`);
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    // A leading '//' would make URL() read the first segment as a host name.
    const url = new URL((req.url ?? '/').replace(/^\/{2,}/, '/'), baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    // The header wins over ?code= when both are there, as the host's AuthenticationLevelHandler reads them
    // ("header takes precedence"): Azure/azure-functions-host,
    // src/WebJobs.Script.WebHost/Security/Authentication/Keys/AuthenticationLevelHandler.cs.
    const key = headerValue(req, 'x-functions-key') ?? url.searchParams.get('code') ?? undefined;
    const done = (status: number, name?: string): void =>
      log(
        `${method} ${url.pathname} -> ${status}${name ? ` (${name})` : ''} in ${Math.round(performance.now() - startedAt)} ms`,
      );

    // Every /admin/* endpoint takes the master key only ("Call an admin endpoint: Host (master only)",
    // https://learn.microsoft.com/azure/azure-functions/security-concepts#function-access-keys).
    if (/^\/admin(\/|$)/i.test(url.pathname)) {
      const admin = /^\/admin\/functions\/([^/]+)\/?$/i.exec(url.pathname);
      const name = decodeURIComponent(admin?.[1] ?? '');
      const fn = admin ? timerFunctions.find((f) => f.name.toLowerCase() === name.toLowerCase()) : undefined;
      const status = keyLevel(key) !== 'master' ? 401 : method !== 'POST' || !fn ? 404 : 202;
      req.resume();
      res.writeHead(status).end();
      done(status);
      if (status === 202 && fn) {
        runTimer(fn, 'admin', clock.now()).catch(() => {
          // Already logged by runTimer; the admin API does not report the outcome either.
        });
      }
      return;
    }

    const candidates = matchRoutes(httpFunctions, url.pathname);
    if (candidates.length === 0) {
      req.resume();
      res.writeHead(404).end();
      return done(404);
    }
    const match = candidates.find((c) => c.fn.methods.includes(method));
    if (!match) {
      // The host's routes carry the method as a constraint, so another method matches no route: 404, not 405
      // (Azure/azure-functions-host#10098).
      req.resume();
      res.writeHead(404).end();
      return done(404);
    }
    const { fn, params } = match;
    if (!allowed(fn.authLevel, key)) {
      req.resume();
      res.writeHead(401).end();
      return done(401, fn.name);
    }

    const body = await readBody(req, maxBodyBytes);
    if (body === 'tooLarge') {
      res.writeHead(413, { connection: 'close' }).end();
      return done(413, fn.name);
    }
    const request = new HttpRequest({
      method,
      url: url.href,
      headers: toHeaderRecord(req),
      params,
      ...(body.length > 0 ? { body: { bytes: body } } : {}),
    });
    const { context, invocationId } = makeContext(fn, log);
    let timedOut = false;
    const limit = clock.setTimer(() => {
      // The front end gives up; the handler goes on running, its answer is dropped.
      timedOut = true;
      if (!res.headersSent) res.writeHead(502).end();
      log(`[host] ${fn.name}: no response within ${responseLimitInMs} ms, the caller got 502`);
      done(502, fn.name);
    }, responseLimitInMs);
    try {
      const result = await invoke(fn, [request, context], invocationId, log);
      if (timedOut) return;
      const response = await toNodeResponse(result);
      res.writeHead(response.status, response.headers).end(response.body);
      done(response.status, fn.name);
    } catch (e) {
      if (timedOut) return;
      throw e;
    } finally {
      limit.cancel();
    }
  }

  async function runTimer(
    fn: TimerFunction,
    reason: 'schedule' | 'admin' | 'startup',
    scheduledInMs: number,
  ) {
    const now = clock.now();
    const timer: Timer = {
      // The host marks a run past due when it starts noticeably after its occurrence.
      isPastDue: reason === 'schedule' && now - scheduledInMs > 1000,
      schedule: { adjustForDST: true },
      scheduleStatus: {
        last: new Date(fn.lastRunInMs ?? now).toISOString(),
        next: new Date(fn.schedule.next(now) ?? now).toISOString(),
        lastUpdated: new Date(now).toISOString(),
      },
    };
    fn.lastRunInMs = now;
    const { context, invocationId } = makeContext(fn, log);
    await invoke(fn, [timer, context], invocationId, log, reason);
  }

  /** Serialises runs of one timer: `wait` waits for a running one, otherwise a busy timer is skipped. */
  function startRun(fn: TimerFunction, reason: 'schedule' | 'admin' | 'startup', scheduledInMs: number) {
    const run = runTimer(fn, reason, scheduledInMs).finally(() => {
      if (fn.running === run) fn.running = undefined;
    });
    fn.running = run;
    return run;
  }

  async function invokeTimer(name: string): Promise<void> {
    const fn = timerFunctions.find((f) => f.name === name);
    if (!fn) throw new FunctionHostError(`invokeTimer: no timer function named "${name}"`);
    while (fn.running) await fn.running.catch(() => {});
    await startRun(fn, 'admin', clock.now());
  }

  let stopped = false;
  function scheduleNext(fn: TimerFunction, afterInMs: number): void {
    if (stopped) return;
    const due = fn.schedule.next(afterInMs);
    if (due === undefined) {
      log(`[host] timer ${fn.name}: schedule "${fn.schedule.expression}" has no next occurrence`);
      return;
    }
    fn.timer = clock.setTimer(() => {
      if (stopped) return;
      if (fn.running) {
        log(`[host] timer ${fn.name}: skipped the ${new Date(due).toISOString()} occurrence, still running`);
      } else {
        startRun(fn, 'schedule', due).catch(() => {});
      }
      scheduleNext(fn, Math.max(due, clock.now()));
    }, due - clock.now());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  if (options.enableTimers ?? true) {
    for (const fn of timerFunctions) {
      scheduleNext(fn, clock.now());
      if (fn.runOnStartup) startRun(fn, 'startup', clock.now()).catch(() => {});
    }
  }

  const functions = hosted.map(describe);
  log(
    `[host] listening on ${baseUrl}; functions: ${functions.map((f) => (f.trigger === 'http' ? `${f.name} [${f.methods?.join(',')}] /${ROUTE_PREFIX}/${f.route}` : `${f.name} (timer ${f.schedule})`)).join('; ')}`,
  );

  return {
    url: baseUrl,
    functionKey,
    hostKey,
    masterKey,
    functions,
    invokeTimer,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const fn of timerFunctions) fn.timer?.cancel();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all(timerFunctions.map((f) => (f.running ?? Promise.resolve()).catch(() => {})));
    },
  };
}

async function importEntryPoint(entry: string, log: (line: string) => void): Promise<CoreRegistration[]> {
  const specifier =
    entry.startsWith('.') || path.isAbsolute(entry) ? pathToFileURL(path.resolve(entry)).href : entry;
  const cached = registrationsByEntry.get(specifier);
  if (cached) return cached;
  const found: CoreRegistration[] = [];
  await collectRegistrations(
    () => import(specifier),
    (r) => found.push(r),
  );
  if (found.length === 0) log(`[host] warning: ${entry} registered no function`);
  registrationsByEntry.set(specifier, found);
  return found;
}

function toHostedFunctions(registrations: CoreRegistration[], log: (line: string) => void): Hosted[] {
  const hosted: Hosted[] = [];
  const names = new Set<string>();
  for (const registration of registrations) {
    const { name } = registration.metadata;
    if (names.has(name.toLowerCase())) {
      throw new FunctionHostError(`two functions are named "${name}": function names must be unique`);
    }
    names.add(name.toLowerCase());
    const trigger = Object.values(registration.metadata.bindings).find(
      (b) => b.direction === 'in' && /trigger$/i.test(b.type ?? ''),
    );
    const type = trigger?.type?.toLowerCase();
    if (trigger && type === 'httptrigger') {
      const route = (trigger.route ?? name).replace(/^\/+|\/+$/g, '');
      hosted.push({
        kind: 'http',
        name,
        registration,
        trigger,
        segments: route.split('/'),
        methods: (trigger.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
        authLevel: (trigger.authLevel ?? 'function').toLowerCase(),
      });
    } else if (trigger && type === 'timertrigger') {
      hosted.push({
        kind: 'timer',
        name,
        registration,
        trigger,
        schedule: parseSchedule(String(trigger.schedule ?? '')),
        runOnStartup: trigger.runOnStartup === true,
      });
    } else {
      log(
        `[host] warning: ${name}: trigger "${trigger?.type ?? 'none'}" is not supported by the local runner`,
      );
    }
  }
  return hosted;
}

function describe(fn: Hosted): HostedFunction {
  return fn.kind === 'http'
    ? {
        name: fn.name,
        trigger: 'http',
        route: fn.segments.join('/'),
        methods: fn.methods,
        authLevel: fn.authLevel,
      }
    : { name: fn.name, trigger: 'timer', schedule: fn.schedule.expression };
}

/**
 * Matches `/api/...` against the route templates: literal segments (case-insensitive), `{name}`,
 * `{name:constraint}` (constraint not checked), optional `{name?}` and catch-all `{*name}`.
 * Routes with more literal segments come first, as ASP.NET routing orders them.
 */
function matchRoutes(
  functions: HttpFunction[],
  pathname: string,
): Array<{ fn: HttpFunction; params: Record<string, string> }> {
  const parts = pathname.replace(/^\/+|\/+$/g, '').split('/');
  if (parts.shift()?.toLowerCase() !== ROUTE_PREFIX) return [];
  const matches: Array<{ fn: HttpFunction; params: Record<string, string>; literals: number }> = [];
  for (const fn of functions) {
    const params: Record<string, string> = {};
    let literals = 0;
    let ok = true;
    for (let i = 0; i < Math.max(fn.segments.length, parts.length) && ok; i++) {
      const segment = fn.segments[i];
      const part = parts[i];
      const param = segment && /^\{(\*?)([A-Za-z_][\w]*)(?::[^}?]*)?(\??)\}$/.exec(segment);
      if (param) {
        const [, catchAll, paramName = '', optional] = param;
        if (catchAll) {
          params[paramName] = decodeURIComponent(parts.slice(i).join('/'));
          break;
        }
        if (part === undefined || part === '') ok = optional === '?';
        else params[paramName] = decodeURIComponent(part);
      } else if (segment === undefined || part === undefined) {
        ok = false;
      } else if (segment.toLowerCase() === part.toLowerCase()) {
        literals++;
      } else {
        ok = false;
      }
    }
    if (ok) matches.push({ fn, params, literals });
  }
  return matches.sort((a, b) => b.literals - a.literals);
}

function makeContext(fn: Hosted, log: (line: string) => void) {
  const invocationId = randomUUID();
  const bindings = Object.values(fn.registration.metadata.bindings);
  const options: EffectiveFunctionOptions = {
    trigger: fn.trigger as FunctionTrigger,
    return: fn.registration.metadata.bindings.$return as EffectiveFunctionOptions['return'],
    extraInputs: bindings.filter((b) => b.direction === 'in' && b !== fn.trigger) as never,
    extraOutputs: bindings.filter(
      (b) => b.direction === 'out' && b !== fn.registration.metadata.bindings.$return,
    ) as never,
  };
  const context = new InvocationContext({
    invocationId,
    functionName: fn.name,
    options,
    logHandler: (level: LogLevel, ...args: unknown[]) =>
      log(`[${fn.name}] ${level}: ${redact(format(...args))}`),
  });
  return { context, invocationId };
}

async function invoke(
  fn: Hosted,
  args: unknown[],
  invocationId: string,
  log: (line: string) => void,
  reason: string = 'http',
): Promise<unknown> {
  const startedAt = performance.now();
  log(`Executing 'Functions.${fn.name}' (Reason='${reason}', Id=${invocationId})`);
  try {
    const result = await fn.registration.callback(...args);
    log(
      `Executed 'Functions.${fn.name}' (Succeeded, Id=${invocationId}, Duration=${Math.round(performance.now() - startedAt)}ms)`,
    );
    return result;
  } catch (e) {
    log(
      `Executed 'Functions.${fn.name}' (Failed, Id=${invocationId}, Duration=${Math.round(performance.now() - startedAt)}ms): ${redact(e instanceof Error ? `${e.name}: ${e.message}` : String(e))}`,
    );
    if (typeof e === 'object' && e !== null) handlerErrors.add(e);
    throw e;
  }
}

/** The worker's conversion (`toRpcHttp`): an `HttpResponseInit` goes through `new HttpResponse(...)`. */
async function toNodeResponse(
  result: unknown,
): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
  if (result === undefined || result === null) return { status: 204, headers: {}, body: Buffer.alloc(0) };
  if (typeof result !== 'object') {
    throw new FunctionHostError(
      'The HTTP response must be an object with optional properties "body", "status", "headers", and "cookies".',
    );
  }
  const response = result instanceof HttpResponse ? result : new HttpResponse(result);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of response.headers.entries()) headers[name] = value;
  const setCookies = response.headers.getSetCookie();
  if (setCookies.length > 0) headers['set-cookie'] = setCookies;
  return { status: response.status, headers, body: Buffer.from(await response.arrayBuffer()) };
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'tooLarge'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.resolve('tooLarge');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        resolve('tooLarge');
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function toHeaderRecord(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
