'use strict';
/**
 * One contender run, in its own process (forked by the runner with a JSON job in argv[2]).
 *
 * Feeding, the same for every contender (bench/feeder.js): bursts of `burst` (10) calls, then a
 * yield; at most `window` (1 000) events outstanding (submitted but not acknowledged).
 * "Acknowledged" is what the client learns from the data plane's answer: the plugin's
 * stats().delivered (+ dropped), the SDKs' per-event callbacks, the wire limit's responses.
 * The data plane checks the same events independently; the runner compares both.
 *
 * Timed: from the first call to the moment every event is acknowledged, and each call on its own.
 */
const { CONTENDERS } = require('./contenders');
const { DURABLE_CONTENDERS } = require('./durable-contenders');
const { feed, untilAcked, percentiles, sleep } = require('./feeder');

const job = JSON.parse(process.argv[2]);
const hr = process.hrtime.bigint;

let unhandled = 0;
process.on('unhandledRejection', () => {
  unhandled++;
});

async function main() {
  const deadline = Date.now() + job.timeoutMs;
  // A durable contender connects (and migrates, and recovers) before the clock starts.
  const contender = await (CONTENDERS[job.contender] || DURABLE_CONTENDERS[job.contender])({ ...job });
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
    ({ latencyNs, thrown } = await feed(contender, { to: job.n, seed: job.seed, burst: job.burst, window: job.window, deadline }));
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
  await untilAcked(contender, job.n, deadline);
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
  if (contender.report) result.report = await contender.report();
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
