'use strict';
/**
 * The feeder every contender process uses (bench/child.js, bench/durable-child.js): calls come in
 * bursts of `burst` back to back, then the feeder yields with `await new Promise(setImmediate)`.
 * Before a burst it makes sure that no more than `window` events would be outstanding (submitted
 * but not acknowledged); if there would be, it polls the contender's own acknowledgement count
 * every 1 ms. With `ratePerSec` it also holds each burst until its time on a steady schedule.
 *
 * Each call is timed on its own with process.hrtime.bigint() into a preallocated Float64Array;
 * the workload's flags are built before the clock of the call starts (they are the host's, not
 * the client's, cost). `beforeCall(i)` (the crash harness's progress mark) runs outside the clock.
 */
const { flagsFor } = require('./workload');

const hr = process.hrtime.bigint;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const yieldToLoop = () => new Promise(setImmediate);

/** Calls identities from..to-1; resolves with their call times and how many threw. */
async function feed(contender, { from = 0, to, seed, burst, window, deadline, ratePerSec = 0, beforeCall }) {
  // Written through now: its pages are then resident before the first RSS sample, and the
  // harness's own array does not show up as the contender's growth.
  const latencyNs = new Float64Array(to - from).fill(1);
  const startedAt = Date.now();
  let thrown = 0;
  let i = from;
  while (i < to) {
    if (window > 0) {
      while (i - from + burst - contender.acked() > window) {
        if (Date.now() > deadline) throw new Error(`timed out feeding: ${contender.acked()} of ${i - from} submitted events acknowledged`);
        await sleep(1);
      }
    }
    if (ratePerSec > 0) {
      const wait = startedAt + ((i - from) * 1000) / ratePerSec - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const end = Math.min(i + burst, to);
    for (; i < end; i++) {
      const flags = flagsFor(seed, i);
      if (beforeCall) beforeCall(i);
      const start = hr();
      try {
        contender.call(i, flags);
      } catch {
        thrown++;
      }
      latencyNs[i - from] = Number(hr() - start);
    }
    await yieldToLoop();
  }
  return { latencyNs, thrown };
}

/** Waits until the contender has acknowledged `n` events. */
async function untilAcked(contender, n, deadline) {
  while (contender.acked() < n) {
    if (Date.now() > deadline) throw new Error(`timed out: ${contender.acked()} of ${n} events acknowledged`);
    await sleep(1);
  }
}

/** p50, p99, max and mean of the first `count` call times, in µs. */
function percentiles(latencyNs, count = latencyNs.length) {
  const sorted = latencyNs.subarray(0, count).slice().sort();
  const at = (q) => sorted[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))] / 1000;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i];
  return { p50: at(0.5), p99: at(0.99), max: sorted[count - 1] / 1000, mean: sum / count / 1000 };
}

module.exports = { feed, untilAcked, percentiles, sleep };
