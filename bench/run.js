'use strict';
/**
 * The benchmark runner (`npm run bench`, issue 4).
 *
 *   node bench/run.js [--n 100000] [--rounds 3] [--only "plugin gzip,wire limit"] [--json]
 *   node bench/run.js --scale [--scale-ns 10000,100000,1000000] [--outage-n 1000000]
 *   node bench/run.js --profile     (plugin children write .cpuprofile files to bench/profiles/)
 *   node bench/run.js --durable | --durable-outage   (durable delivery: bench/durable.js --help)
 *
 * Starts the data plane (bench/server.js) in its own process, then runs every contender
 * (bench/child.js + bench/contenders.js) in its own process, alternating contenders round by
 * round, and prints the report (bench/report.js). A contender run counts only when the data
 * plane verified exactly N distinct, correct events and the client reported no failure;
 * otherwise it is reported as FAILED and not timed. Exit code 1 when any run failed.
 */
const { CONTENDERS } = require('./contenders');
const { DEFAULT_SEED } = require('./workload');
const report = require('./report');
const { startServer, closedPort, runProblems, jobFor } = require('./data-plane');
const { forkJob, profilerArgv } = require('./fork-job');

function parseArgs(argv) {
  const args = {
    n: 100_000,
    rounds: undefined,
    seed: DEFAULT_SEED,
    burst: 10,
    window: 1_000,
    only: Object.keys(CONTENDERS),
    scale: false,
    scaleNs: [10_000, 100_000, 1_000_000],
    outageN: 1_000_000,
    json: false,
    profile: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number(value().replace(/_/g, ''));
      if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} needs a whole number >= 1`);
      return v;
    };
    switch (flag) {
      case '--n':
        args.n = int();
        break;
      case '--rounds':
        args.rounds = int();
        break;
      case '--seed':
        args.seed = int();
        break;
      case '--burst':
        args.burst = int();
        break;
      case '--window':
        args.window = int();
        break;
      case '--only':
        args.only = value()
          .split(',')
          .map((s) => s.trim());
        break;
      case '--scale':
        args.scale = true;
        break;
      case '--scale-ns':
        args.scaleNs = value()
          .split(',')
          .map((s) => Number(s.replace(/_/g, '')));
        break;
      case '--outage-n':
        args.outageN = int();
        break;
      case '--json':
        args.json = true;
        break;
      case '--profile':
        args.profile = true;
        break;
      case '--help':
        console.log(require('node:fs').readFileSync(__filename, 'utf8').split('*/')[0]);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  for (const name of args.only) if (!CONTENDERS[name]) throw new Error(`unknown contender "${name}" (known: ${Object.keys(CONTENDERS).join(', ')})`);
  if (args.window < args.burst) throw new Error('--window must be at least --burst');
  args.rounds ??= args.scale ? 1 : 3;
  return args;
}

function runChild(job, args) {
  const execArgv = args.profile && job.contender.startsWith('plugin') ? profilerArgv(job.contender, job.n) : [];
  return forkJob('child.js', job, execArgv).result();
}

/** One timed, verified run of one contender. */
async function measure(server, args, contender, n) {
  await server.reset(n, args.seed);
  const result = await runChild(jobFor(args, contender, n, server.url), args);
  // The data plane's count is final once the client saw every answer.
  result.server = await server.report();
  const problems = runProblems(result, n);
  result.verified = problems.length === 0 && result.ok === true;
  if (!result.verified) result.failure = problems.join('; ') || 'client did not finish';
  return result;
}

function progress(args, text) {
  if (!args.json) process.stderr.write(text);
}

function feedingLine(args) {
  return (
    `feeding: ${args.burst} calls back to back, then await new Promise(setImmediate); at most ${args.window.toLocaleString('en-US')} events outstanding ` +
    `(submitted, not acknowledged: plugin stats().delivered, SDK per-event callbacks; polled every 1 ms when full). ` +
    `Call cost = hrtime around postIdentityFetch() / identify({userId, traits: toTraits(flags)}). ` +
    `Wire limit: pre-serialized batches of 100, uncompressed, posted in sequence on one keep-alive connection.`
  );
}

async function mainMode(server, args, machine) {
  const order = args.only;
  const results = [];
  for (let round = 0; round < args.rounds; round++) {
    // Alternate: each round starts one contender later.
    const rotated = order.map((_, k) => order[(k + round) % order.length]);
    for (const name of rotated) {
      progress(args, `round ${round + 1}/${args.rounds}: ${name} ... `);
      const r = await measure(server, args, name, args.n);
      r.round = round + 1;
      results.push(r);
      progress(args, r.verified ? `${Math.round(r.eventsPerSec).toLocaleString('en-US')} events/s, ${r.elapsedMs.toFixed(0)} ms\n` : `FAILED: ${r.failure}\n`);
    }
  }
  const summary = report.summarize(results, order);
  machine.loadavgEnd = require('node:os').loadavg();
  if (args.json) return { machine, args, results, verified: summary.every((e) => !e.failed) };
  const lines = [
    '',
    `npm run bench -- --n ${args.n} --rounds ${args.rounds}`,
    report.machineLine(machine),
    `workload: ${args.n.toLocaleString('en-US')} identities x 20 flags (disabled / string / integer / float / boolean / null, seed ${args.seed}), Flagsmith API flag shape`,
    feedingLine(args),
    `figures: median (min-max) over ${args.rounds} round(s), verified runs only; events/s = N / (first call -> last event acknowledged); CPU = process.cpuUsage() user+sys of the contender process; peak RSS = resourceUsage().maxRSS; requests counted by the data plane`,
    '',
    report.mainTable(summary),
    '',
    report.ratioTable(summary),
    '',
    report.targetsTable(summary),
  ];
  const failures = report.failuresText(summary);
  if (failures) lines.push('', failures);
  console.log(lines.join('\n'));
  return { verified: summary.every((e) => !e.failed) };
}

async function scaleMode(server, args, machine) {
  const results = [];
  for (const n of args.scaleNs) {
    for (let round = 0; round < args.rounds; round++) {
      progress(args, `scale: plugin gzip, N = ${n.toLocaleString('en-US')} ... `);
      const r = await measure(server, args, 'plugin gzip', n);
      results.push(r);
      progress(args, r.verified ? `${r.cpuUsPerEvent.toFixed(1)} µs CPU/event\n` : `FAILED: ${r.failure}\n`);
    }
  }
  const port = await closedPort();
  const outages = [];
  for (const maxQueueSize of [undefined, 100_000]) {
    progress(args, `outage: ${args.outageN.toLocaleString('en-US')} hook calls, maxQueueSize ${maxQueueSize ?? 'default'} ... `);
    const job = jobFor(args, 'plugin gzip', args.outageN, `http://127.0.0.1:${port}`, {
      mode: 'outage',
      window: 0, // nothing is ever acknowledged: bursts and yields only
      pluginOptions: maxQueueSize ? { maxQueueSize } : {},
    });
    const r = await runChild(job, args);
    r.maxQueueSize = maxQueueSize ?? 10_000;
    outages.push(r);
    progress(args, r.error ? `FAILED: ${r.error}\n` : `done\n`);
  }
  machine.loadavgEnd = require('node:os').loadavg();
  if (args.json) return { machine, args, results, outages, verified: results.every((r) => r.verified) };

  const byN = args.scaleNs.map((n) => {
    const runs = results.filter((r) => r.n === n && r.verified);
    const failed = results.filter((r) => r.n === n && !r.verified);
    return { n, runs, failed };
  });
  const base = byN[0].runs.length ? report.median(byN[0].runs.map((r) => r.cpuUsPerEvent)) : undefined;
  // Total CPU = start-up cost (module JIT, first connection) + N x per-event cost. The extra CPU
  // from one N to the next, per extra event, is the per-event cost without the start-up share.
  const totalCpuUs = byN.map(({ n, runs }) => (runs.length ? report.median(runs.map((r) => r.cpuUsPerEvent)) * n : undefined));
  const marginal = byN.map(({ n }, i) =>
    i > 0 && totalCpuUs[i] !== undefined && totalCpuUs[i - 1] !== undefined ? (totalCpuUs[i] - totalCpuUs[i - 1]) / (n - byN[i - 1].n) : undefined,
  );
  const scaleRows = byN.map(({ n, runs, failed }, i) => [
    n.toLocaleString('en-US'),
    failed.length ? `FAILED ${failed.length}/${failed.length + runs.length}` : `${runs.length}/${runs.length}`,
    report.spread(runs.map((r) => r.cpuUsPerEvent)),
    base && runs.length ? `${(report.median(runs.map((r) => r.cpuUsPerEvent)) / base).toFixed(2)}x` : '-',
    marginal[i] === undefined ? '-' : `${report.fmt(marginal[i])} (${byN[i - 1].n.toLocaleString('en-US')} -> ${n.toLocaleString('en-US')})`,
    report.spread(runs.map((r) => r.eventsPerSec)),
    report.spread(runs.map((r) => r.latency.p50)),
    report.spread(runs.map((r) => r.latency.p99)),
    report.spread(runs.map((r) => r.maxRssMB)),
    report.spread(runs.map((r) => r.server.requests)),
  ]);
  const outageRows = outages.map((o) => {
    if (o.error) return [o.maxQueueSize.toLocaleString('en-US'), `FAILED: ${o.error}`, '', '', '', '', '', ''];
    const a = o.statsAfterFeed;
    const c = o.statsAfterClose;
    return [
      o.maxQueueSize.toLocaleString('en-US'),
      `${report.fmt(o.fedMs / 1000)} s`,
      `${report.fmt(o.latency.p50)} / ${report.fmt(o.latency.p99)} / ${report.fmt(o.latency.max)}`,
      report.fmt(o.cpuUsPerCall),
      report.fmt(o.maxRssMB),
      `received ${a.received.toLocaleString('en-US')}, queued ${a.queued.toLocaleString('en-US')}, in flight ${a.inFlight}, dropped.queue_full ${a.dropped.queue_full.toLocaleString('en-US')}, retried ${a.retried}`,
      `dropped: ${Object.entries(c.dropped)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
        .join(', ')}; delivered ${c.delivered}`,
      `${o.thrown} thrown, ${o.unhandledRejections} unhandled rejections`,
    ];
  });
  console.log(
    [
      '',
      `npm run bench -- --scale (N = ${args.scaleNs.join(', ')}; outage ${args.outageN})`,
      report.machineLine(machine),
      feedingLine(args),
      '',
      'Cost per event, plugin with default options (gzip on):',
      '',
      report.table(
        ['N', 'verified', 'CPU µs/event', 'vs smallest N', 'marginal CPU µs/event', 'events/s', 'hook p50 µs', 'hook p99 µs', 'peak RSS MB', 'requests'],
        scaleRows,
      ),
      '',
      marginalLine(marginal),
      '',
      `Outage: data plane down (connection refused, 127.0.0.1:${port}), ${args.outageN.toLocaleString('en-US')} hook calls fed in bursts of ${args.burst} + setImmediate (no window: nothing is ever acknowledged), then close({ timeoutMs: 1000 }):`,
      '',
      report.table(
        ['maxQueueSize', 'feeding took', 'hook p50 / p99 / max µs', 'CPU µs/call', 'peak RSS MB', 'stats() after the calls', 'stats() after close()', 'errors'],
        outageRows,
      ),
    ].join('\n'),
  );
  return { verified: results.every((r) => r.verified) && outages.every((o) => o.ok) };
}

/** Is the per-event cost flat? The marginal costs, largest over smallest (issue 4: within 20%). */
function marginalLine(marginal) {
  const known = marginal.filter((m) => m !== undefined);
  if (known.length < 2) return 'marginal CPU per event: needs three or more N';
  const spread = Math.max(...known) / Math.min(...known);
  const verdict = spread <= 1.2 ? 'met' : 'MISSED';
  return `marginal CPU per event (extra CPU / extra events between consecutive N): largest / smallest ${spread.toFixed(2)}x, target <= 1.20x (flat within 20%): ${verdict}`;
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.includes('--durable') || argv.includes('--durable-outage')) {
    const outcome = await require('./durable').main(argv);
    process.exitCode = outcome.verified ? 0 : 1;
    return;
  }
  const args = parseArgs(argv);
  const machine = report.machine();
  const server = await startServer();
  let outcome;
  try {
    outcome = args.scale ? await scaleMode(server, args, machine) : await mainMode(server, args, machine);
  } finally {
    await server.stop();
  }
  if (args.json) console.log(JSON.stringify(outcome));
  process.exitCode = outcome.verified ? 0 : 1;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
