/**
 * A signal that aborts after `timeoutInMs` (with a `TimeoutError`, as `AbortSignal.timeout` does) or as soon as
 * one of `others` aborts.
 *
 * Why not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: on Node 20 the composite and its sources are linked
 * weakly, so a composite (or a timeout source) nobody else references is garbage collected and never aborts
 * (reproduced on Node 20.20 with `node --expose-gc`: `AbortSignal.any([parent, AbortSignal.timeout(1000)])` with
 * a listener, then `gc()`, never aborted). Here the timer and each source's listener hold the controller, so the deadline
 * fires whatever the GC does; the timer is unref'd and keeps no process alive.
 */
export function deadlineSignal(timeoutInMs: number, ...others: Array<AbortSignal | undefined>): AbortSignal {
  const controller = new AbortController();
  const sources = others.filter((s): s is AbortSignal => s !== undefined);
  const already = sources.find((s) => s.aborted);
  if (already) {
    controller.abort(already.reason);
    return controller.signal;
  }
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    Math.max(0, Math.floor(timeoutInMs)),
  );
  timer.unref();
  // Strong links from each source to this controller (unlike AbortSignal.any's weak ones), dropped once it aborts.
  const listeners = sources.map((source) => {
    const listener = () => controller.abort(source.reason);
    source.addEventListener('abort', listener, { once: true });
    return () => source.removeEventListener('abort', listener);
  });
  controller.signal.addEventListener(
    'abort',
    () => {
      clearTimeout(timer);
      for (const remove of listeners) remove();
    },
    { once: true },
  );
  return controller.signal;
}
