/**
 * Timers of pending delivery work (a retry's wait) are unref'd, so that a host with nothing else
 * to do can exit. While anyone awaits that work (a `flush()`, `close()`, the drain at a natural
 * exit), every such timer is ref'd, so the process lives until the work it awaits ends.
 *
 * One count for the process: while any wait is pending the process is alive anyway, so holding
 * other integrations' timers too costs nothing, and one place decides.
 */
const pending = new Set<NodeJS.Timeout>();
let waiters = 0;

/** `setTimeout` for pending work: it holds the process only while someone awaits. */
export function pendingTimeout(callback: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(() => {
    pending.delete(timer);
    callback();
  }, ms);
  if (waiters === 0) timer.unref();
  pending.add(timer);
  return timer;
}

export function clearPendingTimeout(timer: NodeJS.Timeout): void {
  clearTimeout(timer);
  pending.delete(timer);
}

/** Keeps the process alive, pending timers included, until `promise` settles; returns it. */
export function keepAliveUntil<T>(promise: Promise<T>): Promise<T> {
  if (waiters++ === 0) for (const timer of pending) timer.ref();
  const release = (): void => {
    if (--waiters === 0) for (const timer of pending) timer.unref();
  };
  promise.then(release, release);
  return promise;
}
