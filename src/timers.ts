/**
 * Time, in one place: the clock durations are measured on, and the waits and deadlines the
 * package sets. Every timer here is unref'd unless the caller asks to keep the process alive.
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
 * meanwhile (a host that asked to wait); otherwise the deadline never does.
 */
export function withTimeout<T>(call: () => T | PromiseLike<T>, ms: number, options: { keepAlive?: boolean } = {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
    if (options.keepAlive !== true) timer.unref();
  });
  let started: T | PromiseLike<T>;
  try {
    started = call();
  } catch (error) {
    clearTimeout(timer);
    return Promise.reject(error);
  }
  return Promise.race([started, deadline]).finally(() => clearTimeout(timer));
}
