/**
 * Time, in one place: the clock durations are measured on, and the waits and deadlines the
 * package sets.
 *
 * Timers of pending work (a retry's wait, a lookup's deadline) are unref'd, so that a host with
 * nothing else to do can exit. While anyone awaits that work (a `flush()`, `close()`, the drain at
 * a natural exit), every such timer is ref'd, so the process lives until the work it awaits ends.
 * One count for the process: while any wait is pending the process is alive anyway, so holding
 * other integrations' timers too costs nothing, and one place decides.
 */
import { performance } from 'node:perf_hooks';

/**
 * Milliseconds on a clock that only moves forward, for durations: pauses, retry budgets, flush
 * intervals, cache lifetimes. The wall clock can be stepped (NTP, a VM resumed, an operator), and a
 * deadline on it would then stretch or vanish; timestamps that leave the package still use `Date`.
 */
export function monotonicMs(): number {
  return performance.now();
}

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

export function clearPendingTimeout(timer: NodeJS.Timeout | undefined): void {
  if (!timer) return;
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

/** Waits `ms`, or less if `signal` aborts; a pending timer (above). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearPendingTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = pendingTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** What a deadline throws. */
export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * What `call` gives, or a `TimeoutError` when it has not settled within `ms`. `call` starts at
 * once; one that throws instead of rejecting rejects too. `keepAlive` holds the process open
 * meanwhile (a host that asked to wait); otherwise the deadline is a pending timer (above).
 */
export function withTimeout<T>(call: () => T | PromiseLike<T>, ms: number, options: { keepAlive?: boolean } = {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    const expire = (): void => reject(new TimeoutError(ms));
    timer = options.keepAlive === true ? setTimeout(expire, ms) : pendingTimeout(expire, ms);
  });
  // A call that throws instead of returning a promise rejects like one that rejects.
  const started = new Promise<T>((resolve) => resolve(call()));
  return Promise.race([started, deadline]).finally(() => clearPendingTimeout(timer));
}

/** What `promise` gives, or a rejection as soon as `signal` aborts (for a call that may ignore its signal). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
