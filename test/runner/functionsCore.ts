import { createRequire } from 'node:module';

/**
 * A stand-in for `@azure/functions-core`, the module the Functions host's Node.js worker injects into the app's
 * process. `@azure/functions` requires it lazily, on the first `app.*` registration; when it is missing the
 * library switches to "test mode" and drops every registration. Providing the few members the library uses
 * (`registerFunction`, `setProgrammingModel`, `getProgrammingModel`, `registerHook`, `log`, `Disposable`) lets
 * the local runner collect the app's functions exactly as the worker would.
 *
 * See node_modules/@azure/functions/src/utils/tryGetCoreApiLazy.ts and src/app.ts.
 */

/** The metadata `@azure/functions` hands to `registerFunction` (a subset of the core `FunctionMetadata`). */
export interface CoreFunctionMetadata {
  name: string;
  bindings: Record<string, CoreBindingInfo>;
  retryOptions?: unknown;
}

/** One binding of a registered function, as `toCoreFunctionMetadata` builds it. */
export interface CoreBindingInfo {
  type?: string;
  direction?: 'in' | 'out' | 'inout';
  name?: string;
  authLevel?: string;
  methods?: string[];
  route?: string;
  schedule?: string;
  runOnStartup?: boolean;
  [key: string]: unknown;
}

/** The user's handler, exactly as passed to `app.http` / `app.timer`. */
export type CoreFunctionCallback = (...args: unknown[]) => unknown;

/** One registration recorded by the stand-in. */
export interface CoreRegistration {
  metadata: CoreFunctionMetadata;
  callback: CoreFunctionCallback;
}

/** A hook callback as the library registers it (it wraps the user's hook). */
export type CoreHookCallback = (context: Record<string, unknown>) => unknown;

/** The hooks registered through `app.hook.*`, by hook name. */
export const registeredHooks = new Map<string, Set<CoreHookCallback>>();

type RegistrationListener = (registration: CoreRegistration) => void;
const listeners = new Set<RegistrationListener>();

let systemLog: (level: string, message: string) => void = () => {};

/** The core module's `Disposable`, which the library may return to the app from `app.hook.*`. */
class Disposable {
  static from(...disposables: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => disposables.forEach((d) => d.dispose()));
  }
  #onDispose: (() => unknown) | undefined;
  constructor(onDispose: () => unknown) {
    this.#onDispose = onDispose;
  }
  dispose(): void {
    this.#onDispose?.();
    this.#onDispose = undefined;
  }
}

let programmingModel: unknown;

const coreApi = {
  version: '3.10.1-local-runner',
  hostVersion: '4.0.0-local-runner',
  Disposable,
  registerFunction(metadata: CoreFunctionMetadata, callback: CoreFunctionCallback): Disposable {
    const registration = { metadata, callback };
    for (const listener of listeners) listener(registration);
    return new Disposable(() => {});
  },
  registerHook(hookName: string, callback: CoreHookCallback): Disposable {
    let set = registeredHooks.get(hookName);
    if (!set) registeredHooks.set(hookName, (set = new Set()));
    set.add(callback);
    return new Disposable(() => set.delete(callback));
  },
  setProgrammingModel(model: unknown): void {
    programmingModel = model;
  },
  getProgrammingModel(): unknown {
    return programmingModel;
  },
  log(level: string, _category: string, message: string): void {
    systemLog(level, message);
  },
};

let installed = false;

/**
 * Makes `require('@azure/functions-core')` resolve to the stand-in, for every module of this process.
 * Idempotent. Must run before the app's first `app.*` call (the library caches a failed lookup forever).
 */
export function installFunctionsCore(): void {
  if (installed) return;
  const Module = createRequire(import.meta.url)('node:module') as {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown;
  };
  const load = Module._load;
  Module._load = function (request: string, parent: unknown, isMain: boolean): unknown {
    if (request === '@azure/functions-core') return coreApi;
    return load.call(this, request, parent, isMain);
  };
  installed = true;
}

/**
 * Calls `listener` for every function registered while `action` runs, and returns what `action` returned.
 * Registrations happen synchronously while an entry point module evaluates, so entry points must be
 * imported one at a time for the attribution to be exact.
 */
export async function collectRegistrations<T>(
  action: () => Promise<T>,
  listener: RegistrationListener,
): Promise<T> {
  listeners.add(listener);
  try {
    return await action();
  } finally {
    listeners.delete(listener);
  }
}

/** Routes the library's system log lines (warnings about the request body, deferred bindings...) to `sink`. */
export function setSystemLog(sink: (level: string, message: string) => void): void {
  systemLog = sink;
}

installFunctionsCore();
