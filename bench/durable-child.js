'use strict';
/**
 * One incarnation of a durable contender for `npm run bench -- --durable` (forked by
 * bench/durable.js with a JSON job in argv[2]), in one of two modes:
 *
 * - kill: feeds identities from..to at a steady rate until the runner SIGKILLs it. Progress goes
 *   to a file with a synchronous positional write, so it outlives the kill: before call i it
 *   writes i (every identity below i was accepted; i may be half-way), and whenever the
 *   contender says identities below m are kept (whenDurable() resolved, or in Redis), it writes
 *   m. The last incarnation (final) feeds its share, then drains and settles, and reports.
 * - outage: feeds n identities with the data plane refusing connections, an event counted once
 *   it is kept, and samples RSS as the backlog builds.
 */
const fs = require('node:fs');
const { DURABLE_CONTENDERS } = require('./durable-contenders');
const { feed, percentiles, sleep } = require('./feeder');

const job = JSON.parse(process.argv[2]);
const MARK_BYTES = 16;

let unhandled = 0;
process.on('unhandledRejection', () => {
  unhandled++;
});

/** Writes the two progress marks (accepted below, kept below) at fixed offsets of the file. */
function progressFile(file) {
  const fd = fs.openSync(file, 'r+');
  const write = (slot, value) => fs.writeSync(fd, String(value).padStart(MARK_BYTES - 1) + '\n', slot * MARK_BYTES);
  return { accepted: (value) => write(0, value), kept: (value) => write(1, value) };
}

async function killMode(contender, deadline) {
  const progress = progressFile(job.progressFile);
  // Read only between calls, so the call that set it has returned: identities below it are accepted.
  let acceptedBelow = job.from;
  let kept = job.from;
  const keep = (mark) => {
    if (mark > kept) {
      kept = mark;
      progress.kept(mark);
    }
  };
  if (contender.watchDurable) contender.watchDurable(keep);
  if (contender.whenDurable) {
    void (async () => {
      for (;;) {
        const mark = acceptedBelow;
        await contender.whenDurable();
        keep(mark);
        if (mark === acceptedBelow) await sleep(1);
      }
    })();
  }
  process.send({ feeding: true, startupMs: Date.now() - startedAt });
  const { latencyNs, thrown } = await feed(contender, {
    from: job.from,
    to: job.to,
    seed: job.seed,
    burst: job.burst,
    window: job.window,
    ratePerSec: job.ratePerSec,
    deadline,
    beforeCall(i) {
      progress.accepted(i);
      acceptedBelow = i + 1;
    },
  });
  progress.accepted(job.to);
  if (!job.final) {
    // Fed everything before the kill came: wait for it.
    await new Promise(() => setInterval(() => undefined, 60_000));
  }
  const settleStart = Date.now();
  if (contender.drain) await contender.drain();
  if (contender.settle) await contender.settle(deadline);
  return {
    settleMs: Date.now() - settleStart,
    latency: percentiles(latencyNs),
    thrown,
    stats: contender.stats && contender.stats(),
    report: contender.report && (await contender.report()),
  };
}

async function outageMode(contender, deadline) {
  const samples = [];
  const t0 = Date.now();
  const sample = () => {
    const s = contender.stats();
    const memory = process.memoryUsage();
    samples.push({
      ms: Date.now() - t0,
      received: s.received,
      persisted: s.persisted,
      rssMB: memory.rss / 2 ** 20,
      heapMB: memory.heapUsed / 2 ** 20,
      externalMB: memory.external / 2 ** 20,
    });
  };
  sample();
  const timer = setInterval(sample, job.sampleMs);
  const cpu0 = process.cpuUsage();
  const { latencyNs, thrown } = await feed(contender, { to: job.n, seed: job.seed, burst: job.burst, window: job.window, deadline });
  await contender.whenDurable();
  clearInterval(timer);
  sample();
  const cpu = process.cpuUsage(cpu0);
  const result = {
    fedMs: Date.now() - t0,
    samples,
    latency: percentiles(latencyNs),
    cpuUsPerCall: (cpu.user + cpu.system) / job.n,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    thrown,
    stats: contender.stats(),
    report: await contender.report(),
  };
  await Promise.race([contender.close(), sleep(2_000)]);
  result.statsAfterClose = contender.stats();
  return result;
}

const startedAt = Date.now();

async function main() {
  const deadline = Date.now() + job.timeoutMs;
  const contender = await DURABLE_CONTENDERS[job.contender]({ ...job });
  const result = job.mode === 'kill' ? await killMode(contender, deadline) : await outageMode(contender, deadline);
  return { contender: job.contender, ok: result.thrown === 0 && unhandled === 0, unhandledRejections: unhandled, ...result };
}

main().then(
  (result) => process.send(result, () => process.exit(0)),
  (error) => process.send({ contender: job.contender, ok: false, error: String((error && error.stack) || error) }, () => process.exit(0)),
);
