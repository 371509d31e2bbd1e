'use strict';
/**
 * One contender run, in its own process (forked by the runner with a JSON job in argv[2]).
 *
 * Feeding, the same for every contender: calls come in bursts of `burst` (10) back to back, then
 * the feeder yields with `await new Promise(setImmediate)`. Before a burst it makes sure that no
 * more than `window` (1 000) events would be outstanding (submitted but not acknowledged); if
 * there would be, it polls the contender's own acknowledgement count every 1 ms (setTimeout).
 * "Acknowledged" is what the client learns from the data plane's answer: the plugin's
 * stats().delivered (+ dropped), the SDKs' per-event callbacks, the wire limit's responses.
 * The data plane checks the same events independently; the runner compares both.
 *
 * Timed: from the first call to the moment every event is acknowledged. Each call is timed on its
 * own with process.hrtime.bigint() into a preallocated Float64Array; the workload's flags are
 * built before the clock of the call starts (they are the host's, not the client's, cost).
 */
const { CONTENDERS } = require('./contenders');
const { flagsFor } = require('./workload');

const job = JSON.parse(process.argv[2]);
const hr = process.hrtime.bigint;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const yieldToLoop = () => new Promise(setImmediate);

let unhandled = 0;
process.on('unhandledRejection', () => {
  unhandled++;
});

function percentiles(latencyNs, count) {
  const sorted = latencyNs.subarray(0, count).slice().sort();
  const at = (q) => sorted[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))] / 1000;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i];
  return { p50: at(0.5), p99: at(0.99), max: sorted[count - 1] / 1000, mean: sum / count / 1000 };
}

async function feed(contender, deadline) {
  const { n, seed, burst, window } = job;
  const latencyNs = new Float64Array(n);
  let thrown = 0;
  let i = 0;
  while (i < n) {
    if (window > 0) {
      while (i + burst - contender.acked() > window) {
        if (Date.now() > deadline) throw new Error(`timed out feeding: ${contender.acked()} of ${i} submitted events acknowledged`);
        await sleep(1);
      }
    }
    const end = Math.min(i + burst, n);
    for (; i < end; i++) {
      const flags = flagsFor(seed, i);
      const start = hr();
      try {
        contender.call(i, flags);
      } catch {
        thrown++;
      }
      latencyNs[i] = Number(hr() - start);
    }
    await yieldToLoop();
  }
  return { latencyNs, thrown };
}

async function untilAcked(contender, deadline) {
  while (contender.acked() < job.n) {
    if (Date.now() > deadline) throw new Error(`timed out: ${contender.acked()} of ${job.n} events acknowledged`);
    await sleep(1);
  }
}

async function main() {
  const deadline = Date.now() + job.timeoutMs;
  const contender = CONTENDERS[job.contender]({ ...job });
  const result = { contender: job.contender, n: job.n, ok: false };
  if (contender.prepare) contender.prepare();
  if (global.gc) global.gc();

  const cpu0 = process.cpuUsage();
  const t0 = hr();
  let latencyNs;
  let thrown = 0;
  if (contender.kind === 'batches') {
    await contender.run();
    result.requestsSent = contender.batches();
  } else {
    ({ latencyNs, thrown } = await feed(contender, deadline));
  }
  const fedNs = Number(hr() - t0);

  if (job.mode === 'outage') {
    // Nothing can be acknowledged: report what the plugin holds and dropped, then close it.
    result.fedMs = fedNs / 1e6;
    result.statsAfterFeed = contender.stats();
    result.maxRssMB = process.resourceUsage().maxRSS / 1024;
    const closeStart = hr();
    await contender.close();
    result.closeMs = Number(hr() - closeStart) / 1e6;
    result.statsAfterClose = contender.stats();
    result.maxRssAfterCloseMB = process.resourceUsage().maxRSS / 1024;
    result.cpuUsPerCall = cpuUs(process.cpuUsage(cpu0)) / job.n;
    result.latency = percentiles(latencyNs, job.n);
    result.thrown = thrown;
    result.unhandledRejections = unhandled;
    result.ok = thrown === 0 && unhandled === 0;
    return result;
  }

  if (contender.drain) await contender.drain();
  await untilAcked(contender, deadline);
  const elapsedNs = Number(hr() - t0);
  const cpu = process.cpuUsage(cpu0);
  result.maxRssMB = process.resourceUsage().maxRSS / 1024;
  result.elapsedMs = elapsedNs / 1e6;
  result.fedMs = fedNs / 1e6;
  result.eventsPerSec = job.n / (elapsedNs / 1e9);
  result.cpuUsPerEvent = cpuUs(cpu) / job.n;
  result.cpuUserMs = cpu.user / 1000;
  result.cpuSystemMs = cpu.system / 1000;
  if (latencyNs) result.latency = percentiles(latencyNs, job.n);
  result.clientFailed = contender.failed();
  result.thrown = thrown;
  result.unhandledRejections = unhandled;
  if (contender.stats) result.stats = contender.stats();
  result.ok = contender.failed() === 0 && thrown === 0;
  await Promise.race([contender.close(), sleep(2_000)]);
  return result;
}

function cpuUs(cpu) {
  return cpu.user + cpu.system;
}

const watchdog = setTimeout(() => {
  finish({ contender: job.contender, n: job.n, ok: false, error: `no result within ${job.timeoutMs + 10_000} ms` });
}, job.timeoutMs + 10_000);

let finished = false;
function finish(result) {
  if (finished) return;
  finished = true;
  clearTimeout(watchdog);
  process.send(result, () => process.exit(0));
}

main().then(finish, (error) => finish({ contender: job.contender, n: job.n, ok: false, error: String((error && error.stack) || error) }));
