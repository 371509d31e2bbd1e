import { performance } from 'node:perf_hooks';

/**
 * Milliseconds on a clock that only moves forward, for durations: pauses, retry budgets, flush
 * intervals, cache lifetimes. The wall clock can be stepped (NTP, a VM resumed, an operator), and a
 * deadline on it would then stretch or vanish; timestamps that leave the package still use `Date`.
 */
export function monotonicMs(): number {
  return performance.now();
}
