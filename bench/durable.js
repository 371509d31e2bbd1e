'use strict';
/**
 * Durable delivery, side by side (`npm run bench -- --durable`, issue 15):
 *
 *   node bench/run.js --durable [--n 100000] [--rudder-n 200] [--rounds 5] [--kills 10] [--kill-rate 100]
 *   node bench/run.js --durable-outage [--outage-n 1000000]
 *   node bench/run.js --durable --profile   (the timed runs write .cpuprofile files to bench/profiles/)
 *   node bench/run.js --durable --replot bench/results/durable.json   (tables and chart again from a run's figures)
 *
 * Contenders (bench/durable-contenders.js), each in its own process against the data plane
 * (bench/server.js): the plugin with the outbox on the local PostgreSQL, the plugin in memory,
 * rudder-sdk-node with its Redis persistence, and the database limit (the same rows inserted,
 * claimed and deleted, nothing else). Then the crash harness: each delivering contender is fed
 * at a steady rate and SIGKILLed at random moments, restarted where it stopped, and the data
 * plane's distinct messageIds are compared with what was accepted and what had been kept.
 * --durable-outage feeds the outbox with the data plane refusing and samples RSS as the backlog
 * builds. Both print tables and write an SVG chart (bench/svg-chart.js) to bench/results/.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { parseArgs: parseCommandLine } = require('node:util');
const { DURABLE_CONTENDERS } = require('./durable-contenders');
const { startServer, closedPort, runProblems, jobFor } = require('./data-plane');
const { forkJob, profilerArgv } = require('./fork-job');
const { DEFAULT_SEED } = require('./workload');
const { sleep } = require('./feeder');
const { dropTable } = require('./outbox-table');
const { renderChart } = require('./svg-chart');
const report = require('./report');

const OUTBOX = 'plugin + outbox';
const MEMORY = 'plugin in memory';
const RUDDER = 'rudder-sdk-node + Redis';
const LIMIT = 'database limit';
/** Issue 15's target: the outbox's events/s at least this share of the plugin in memory's. */
const VS_MEMORY_TARGET = 0.5;
const DELIVERING = [OUTBOX, MEMORY, RUDDER];
// Tables of this run's own, so that two runs (a smoke test beside a bench) never share one.
const RUN_ID = randomBytes(3).toString('hex');
const OUTBOX_TABLE = `bench_durable_outbox_${RUN_ID}`;
const LIMIT_TABLE = `bench_durable_limit_${RUN_ID}`;
const RESULTS = path.join(__dirname, 'results');

/** Options that take a whole number, by name, with their defaults. */
const NUMBERS = {
  // Sized so that the whole run takes about five minutes here: rudder-sdk-node + Redis sends about
  // 20 events a second, and its last drain after the kills waits out Bull's stalled-job check.
  // Five rounds: this machine's speed drifts from one run to the next, and medians steady it.
  n: 100_000,
  'rudder-n': 200,
  rounds: 5,
  kills: 10,
  'kill-rate': 100,
  'kill-min-ms': 300,
  'kill-max-ms': 1_500,
  'final-ms': 1_000,
  'lease-ms': 5_000,
  seed: DEFAULT_SEED,
  burst: 10,
  window: 1_000,
  // The outbox's own group size: a commit holds at most this many events, a claim takes at most this many rows.
  'db-batch': require('../dist/delivery/outbox-writer').GROUP_COMMIT.maxEvents,
  'outage-n': 1_000_000,
  'sample-ms': 500,
};

function parseArgs(argv) {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      durable: { type: 'boolean' },
      'durable-outage': { type: 'boolean' },
      'rudder-single-processor': { type: 'boolean' },
      json: { type: 'boolean' },
      profile: { type: 'boolean' },
      help: { type: 'boolean' },
      only: { type: 'string' },
      chart: { type: 'string' },
      replot: { type: 'string' },
      'database-url': { type: 'string', default: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test' },
      'redis-url': { type: 'string', default: process.env.REDIS_URL || 'redis://127.0.0.1:6379' },
      ...Object.fromEntries(Object.keys(NUMBERS).map((name) => [name, { type: 'string' }])),
    },
  });
  if (values.help) {
    console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0]);
    process.exit(0);
  }
  const args = {
    outage: values['durable-outage'] === true,
    rudderMultiProcessor: !values['rudder-single-processor'],
    json: values.json === true,
    profile: values.profile === true,
    only: values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(DURABLE_CONTENDERS),
    databaseUrl: values['database-url'],
    redisUrl: values['redis-url'],
  };
  for (const [name, fallback] of Object.entries(NUMBERS)) {
    const key = name.replace(/-(\w)/g, (_, c) => c.toUpperCase());
    const v = values[name] === undefined ? fallback : Number(values[name].replace(/_/g, ''));
    if (!Number.isInteger(v) || v < (name === 'kills' ? 0 : 1)) throw new Error(`--${name} needs a whole number >= ${name === 'kills' ? 0 : 1}`);
    args[key] = v;
  }
  for (const name of args.only)
    if (!DURABLE_CONTENDERS[name]) throw new Error(`unknown contender "${name}" (known: ${Object.keys(DURABLE_CONTENDERS).join(', ')})`);
  if (args.killMaxMs < args.killMinMs) throw new Error('--kill-max-ms must be at least --kill-min-ms');
  args.chart = values.chart ?? path.join(RESULTS, args.outage ? 'durable-outage.svg' : 'durable.svg');
  args.chartGiven = values.chart;
  args.replot = values.replot;
  return args;
}

/** The command line that reproduces this run's figures. */
function commandLine(args) {
  if (args.outage) return `npm run bench -- --durable-outage --outage-n ${args.outageN}`;
  const only = args.only.length === Object.keys(DURABLE_CONTENDERS).length ? '' : ` --only "${args.only.join(',')}"`;
  return (
    `npm run bench -- --durable --n ${args.n} --rudder-n ${args.rudderN} --rounds ${args.rounds} --kills ${args.kills} --kill-rate ${args.killRate}` +
    (args.rudderMultiProcessor ? '' : ' --rudder-single-processor') +
    only
  );
}

/** What the run's stores hold: the two tables, and the Redis keys under the run's prefix. */
function stores(args) {
  const { Client } = require('pg');
  let checkpointRefused = false;
  const Redis = require('ioredis');
  return {
    async dropTables() {
      const client = new Client({ connectionString: args.databaseUrl });
      await client.connect();
      try {
        await dropTable(client, OUTBOX_TABLE);
        await dropTable(client, LIMIT_TABLE);
      } finally {
        await client.end();
      }
    },
    /**
     * Writes out what earlier runs left dirty, so that no contender's run pays for the one before
     * (a checkpoint the last run's WAL called for would otherwise fall inside the next).
     */
    async checkpoint() {
      const client = new Client({ connectionString: args.databaseUrl });
      await client.connect();
      try {
        await client.query('CHECKPOINT');
      } catch (error) {
        // It needs a superuser or pg_checkpoint: without, runs share the checkpoints that fall in them.
        if (!checkpointRefused) process.stderr.write(`CHECKPOINT refused (${error.message}): each run may pay for the one before\n`);
        checkpointRefused = true;
      } finally {
        await client.end();
      }
    },
    async deleteRedisKeys(prefix) {
      const redis = new Redis(args.redisUrl, { maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      try {
        const keys = await redis.keys(`{${prefix}}:*`);
        if (keys.length) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** A contender's job (bench/data-plane.js's), with where the durable contenders keep their events. */
function durableJob(args, name, n, url, extra) {
  return jobFor(args, name, n, url, {
    databaseUrl: args.databaseUrl,
    redisUrl: args.redisUrl,
    redisPrefix: `bench-durable-${randomBytes(4).toString('hex')}`,
    rudderMultiProcessor: args.rudderMultiProcessor,
    table: name === LIMIT ? LIMIT_TABLE : OUTBOX_TABLE,
    dbBatch: args.dbBatch,
    ...extra,
  });
}

/** One timed, verified run of one contender (bench/child.js, as `npm run bench` runs them). */
async function measure(ctx, name) {
  const { args, server, store } = ctx;
  const n = name === RUDDER ? args.rudderN : args.n;
  // rudder-sdk-node + Redis sends about 20 events a second: its deadline allows for 10.
  const job = durableJob(args, name, n, server.url, { timeoutMs: 30_000 + n * (name === RUDDER ? 100 : 1) });
  await store.dropTables();
  await store.checkpoint();
  await server.reset(n, args.seed);
  const execArgv = args.profile && name !== RUDDER ? profilerArgv(name, n) : [];
  const result = await forkJob('child.js', job, execArgv).result();
  result.server = await server.report();
  await store.dropTables();
  await store.deleteRedisKeys(job.redisPrefix);
  const problems = runProblems(result, n, { delivers: name !== LIMIT });
  if (name === LIMIT && result.report && result.report.rowsLeft !== 0) problems.push(`${result.report.rowsLeft} rows left in the table`);
  result.verified = problems.length === 0 && result.ok === true;
  if (!result.verified) result.failure = problems.join('; ') || 'client did not finish';
  return result;
}

const MARK_BYTES = 16;

function writeMarks(file, accepted, kept) {
  fs.writeFileSync(file, `${String(accepted).padStart(MARK_BYTES - 1)}\n${String(kept).padStart(MARK_BYTES - 1)}\n`);
}

function readMarks(file) {
  const text = fs.readFileSync(file, 'utf8');
  return { accepted: Number(text.slice(0, MARK_BYTES)), kept: Number(text.slice(MARK_BYTES, 2 * MARK_BYTES)) };
}

const total = (ranges) => ranges.reduce((sum, [from, to]) => sum + Math.max(0, to - from), 0);

/**
 * The crash harness for one contender: `kills` incarnations fed at `killRate` events/s from where
 * the last one stopped, each SIGKILLed a random 0.3-1.5 s after it starts feeding; then one that
 * feeds `finalMs` worth, drains and settles. The identity a kill may have caught half-way through
 * its call is skipped, so every identity is fed at most once, and any second copy the data plane
 * sees is a duplicate of one event.
 */
async function crashRun(ctx, name) {
  const { args, server, store } = ctx;
  const cap = Math.ceil(args.killRate * ((args.kills * args.killMaxMs + args.finalMs) / 1000) * 1.5) + 100;
  const timeoutMs = 120_000 + cap * 60 + args.leaseMs;
  const job = durableJob(args, name, cap, server.url, { mode: 'kill', ratePerSec: args.killRate, leaseMs: args.leaseMs, timeoutMs });
  const file = path.join(os.tmpdir(), `bench-durable-${process.pid}-${randomBytes(4).toString('hex')}.marks`);
  await store.dropTables();
  await server.reset(cap, args.seed);
  const accepted = [];
  const kept = [];
  const startupMs = [];
  let from = 0;
  let failure;
  const incarnation = (to, final) => {
    writeMarks(file, from, from);
    return forkJob('durable-child.js', { ...job, from, to, n: to - from, final, progressFile: file });
  };
  for (let k = 0; k < args.kills && from < cap; k++) {
    const run = incarnation(cap, false);
    const ready = await run.waitFor((m) => m.feeding);
    if (!ready) {
      failure = `incarnation ${k + 1}: ${(await run.result()).error}`;
      break;
    }
    startupMs.push(ready.startupMs);
    await sleep(args.killMinMs + Math.random() * (args.killMaxMs - args.killMinMs));
    run.child.kill('SIGKILL');
    await run.exited;
    const marks = readMarks(file);
    // A kept event was accepted, the one whose call the kill may have caught included.
    accepted.push([from, Math.max(marks.accepted, marks.kept)]);
    kept.push([from, marks.kept]);
    from = Math.min(cap, marks.accepted + 1);
  }
  let final;
  if (!failure) {
    const to = Math.min(cap, from + Math.ceil((args.killRate * args.finalMs) / 1000));
    const run = incarnation(to, true);
    const ready = await run.waitFor((m) => m.feeding);
    if (ready) startupMs.push(ready.startupMs);
    final = await run.result();
    if (final.error) failure = `last incarnation: ${final.error}`;
    accepted.push([from, to]);
    kept.push([from, to]);
  }
  fs.rmSync(file, { force: true });
  const seen = await server.report();
  const result = {
    contender: name,
    kills: accepted.length - (final ? 1 : 0),
    accepted: total(accepted),
    keeps: name !== MEMORY,
    kept: total(kept),
    lost: await server.missing(accepted),
    lostKept: await server.missing(kept),
    duplicates: seen.duplicates,
    mostCopies: seen.mostCopies,
    extra: seen.extra,
    corrupt: seen.corrupt,
    startupMs,
    settleMs: final && final.settleMs,
    final,
    failure,
  };
  await store.dropTables();
  await store.deleteRedisKeys(job.redisPrefix);
  return result;
}

function progress(args, line) {
  if (!args.json) process.stderr.write(line);
}

function statementsPerEvent(r) {
  return r.report && r.report.statements ? r.report.statements.total / r.n : undefined;
}

/** A small ratio with two significant digits: 0.0031, 0.042, 1.5. */
function perEvent(value) {
  return value === undefined ? '-' : value >= 1 ? report.fmt(value) : value.toPrecision(2);
}

function statementsText(r) {
  if (!r.report || !r.report.statements) return '-';
  const { byKind } = r.report.statements;
  return Object.entries(byKind)
    .map(([kind, { count, meanMs }]) => `${kind} ${count.toLocaleString('en-US')} (${report.fmt(meanMs)} ms)`)
    .join(', ');
}

/** "median (min-max)" written with `format`. */
function spreadOf(values, format) {
  if (values.length === 0) return '-';
  if (values.length === 1) return format(values[0]);
  return `${format(report.median(values))} (${format(Math.min(...values))}-${format(Math.max(...values))})`;
}

/** Per contender: "median (min-max)" of each figure over its verified rounds. */
function throughputTable(summary) {
  return report.table(
    [
      'contender',
      'verified',
      'N',
      'events/s',
      'CPU µs/event',
      'hook p50 µs',
      'hook p99 µs',
      'SQL statements/event',
      'statements, mean time (last round)',
      'peak RSS MB',
      'requests',
    ],
    summary.map((e) => {
      const good = e.runs.filter((r) => r.verified);
      const last = good[good.length - 1];
      return [
        e.name,
        e.failed ? `FAILED ${e.failures.length}/${e.runs.length}` : `${e.runs.length}/${e.runs.length}`,
        e.runs[0] ? e.runs[0].n.toLocaleString('en-US') : '-',
        report.spread(e.values.eventsPerSec),
        report.spread(e.values.cpuUsPerEvent),
        report.spread(e.values.p50),
        report.spread(e.values.p99),
        e.name === OUTBOX || e.name === LIMIT
          ? spreadOf(
              good.map(statementsPerEvent).filter((v) => v !== undefined),
              perEvent,
            )
          : '-',
        last ? statementsText(last) : '-',
        report.spread(e.values.rss),
        e.name === LIMIT ? '-' : report.spread(e.values.requests),
      ];
    }),
  );
}

function crashTable(crashes, args) {
  return report
    .table(
      [
        'contender',
        'SIGKILLs',
        'events accepted',
        'kept before the kill',
        'lost (of accepted)',
        'lost (of kept)',
        'duplicated',
        'restart to feeding, ms (median / max)',
        'last drain s',
      ],
      crashes.map((c) => [
        c.contender,
        c.failure ? `FAILED: ${c.failure}` : String(c.kills),
        c.accepted.toLocaleString('en-US'),
        c.keeps ? `${c.kept.toLocaleString('en-US')} (${c.contender === OUTBOX ? 'whenDurable() resolved' : 'job in Redis'})` : '- (kept nowhere)',
        `${c.lost.toLocaleString('en-US')} (${report.fmt((100 * c.lost) / Math.max(1, c.accepted))}%)`,
        c.keeps ? c.lostKept.toLocaleString('en-US') : '-',
        c.duplicates.toLocaleString('en-US') + (c.extra ? ` (+${c.extra} second events)` : ''),
        c.startupMs.length ? `${report.fmt(report.median(c.startupMs))} / ${report.fmt(Math.max(...c.startupMs))}` : '-',
        c.settleMs === undefined ? '-' : report.fmt(c.settleMs / 1000),
      ]),
    )
    .concat(
      `\n\n${args.killRate} events/s, ${args.kills} incarnations each SIGKILLed ${args.killMinMs}-${args.killMaxMs} ms after it starts feeding, then one that feeds ${args.finalMs} ms worth and drains; ` +
        `outbox leaseMs ${args.leaseMs}; rudder-sdk-node isMultiProcessor ${args.rudderMultiProcessor}.`,
    );
}

/** "rounds LOW-HIGH; " for several rounds' ratios. */
function spreadText(ratios) {
  if (ratios.length < 2) return '';
  const below = ratios.filter((ratio) => ratio < VS_MEMORY_TARGET).length;
  return `rounds ${report.fmt(Math.min(...ratios))}-${report.fmt(Math.max(...ratios))}, ${below} of ${ratios.length} below ${VS_MEMORY_TARGET}x; `;
}

function targetsTable(summary, crashes, results) {
  const get = (name) => summary.find((e) => e.name === name);
  const outbox = get(OUTBOX);
  if (!outbox) return '(targets need the outbox)';
  const rows = [];
  const check = (label, target, measured, ok) => rows.push([label, target, measured, ok === undefined ? '-' : ok ? 'met' : 'MISSED']);
  const ratio = (a, b) => (a !== undefined && b ? a / b : undefined);
  const memory = get(MEMORY);
  const rudder = get(RUDDER);
  const limit = get(LIMIT);
  const ev = outbox.median('eventsPerSec');
  const vsMemory = memory && pairedRatio(results, summary, OUTBOX, MEMORY);
  check(
    'events/s vs plugin in memory (paired by round, median)',
    `>= ${VS_MEMORY_TARGET}x`,
    vsMemory === undefined
      ? '-'
      : `${report.fmt(vsMemory)}x (${spreadText(roundRatios(results, OUTBOX, MEMORY))}ratio of the medians ${report.fmt(ratioOfMedians(summary, OUTBOX, MEMORY))}x)`,
    vsMemory === undefined ? undefined : vsMemory >= VS_MEMORY_TARGET,
  );
  const vsRudder = rudder && ratio(ev, rudder.median('eventsPerSec'));
  check('events/s vs rudder-sdk-node + Redis', '>= 5x', `${report.fmt(vsRudder)}x`, vsRudder === undefined ? undefined : vsRudder >= 5);
  if (limit) check('events/s vs the database limit', '(how close)', `${report.fmt(ratio(ev, limit.median('eventsPerSec')))}x`, undefined);
  const p50 = outbox.median('p50');
  const p99 = outbox.median('p99');
  check(
    'hook p50 / p99 with the outbox',
    '<= 5 / <= 25 µs',
    `${report.fmt(p50)} / ${report.fmt(p99)} µs`,
    p50 === undefined ? undefined : p50 <= 5 && p99 <= 25,
  );
  const statements = outbox.runs.filter((r) => r.verified).map(statementsPerEvent);
  const spe = statements.length ? report.median(statements) : undefined;
  check('SQL statements per event', '<= 0.05', perEvent(spe), spe === undefined ? undefined : spe <= 0.05);
  const crash = crashes.find((c) => c.contender === OUTBOX);
  if (crash && !crash.failure) {
    check(`kept events lost across ${crash.kills} SIGKILLs`, '0', String(crash.lostKept), crash.lostKept === 0);
    check(
      'extra copies of one event',
      `<= 1 per kill (${crash.kills})`,
      `${crash.mostCopies - 1} at most (${crash.duplicates} in all)`,
      crash.mostCopies - 1 <= crash.kills,
    );
  }
  return report.table(['target (issue 15)', 'target', 'measured', ''], rows);
}

function writeChart(args, svg) {
  fs.mkdirSync(path.dirname(args.chart), { recursive: true });
  fs.writeFileSync(args.chart, svg);
}

/** The run's raw figures beside its chart, so that a chart can be traced to what made it. */
function writeResults(args, data) {
  const { chart: _chart, chartGiven: _given, replot: _replot, ...measured } = args;
  const shown = { ...measured, databaseUrl: withoutCredentials(args.databaseUrl), redisUrl: withoutCredentials(args.redisUrl) };
  fs.writeFileSync(args.chart.replace(/\.svg$/, '') + '.json', JSON.stringify({ ...data, args: shown }, null, 1) + '\n');
}

/** A database or Redis URL without its user and password. */
function withoutCredentials(url) {
  return url.replace(/\/\/[^@/]*@/, '//');
}

function durableChart(args, machine, summary, crashes, results) {
  const median = (name, figure) => {
    const e = summary.find((s) => s.name === name);
    return e ? e.median(figure) : undefined;
  };
  const statements = (name) => {
    const e = summary.find((s) => s.name === name);
    const values = e ? e.runs.filter((r) => r.verified).map(statementsPerEvent) : [];
    return values.length ? report.median(values) : undefined;
  };
  const crash = (name) => crashes.find((c) => c.contender === name && !c.failure);
  const kills = crashes.length ? Math.max(...crashes.map((c) => c.kills)) : args.kills;
  const memoryRate = median(MEMORY, 'eventsPerSec');
  const ratioText = (value) => (value === undefined ? '' : `, ${report.fmt(value)}x`);
  const times = (a, b) => ratioText(a !== undefined && b ? a / b : undefined);
  const panels = [
    {
      title: 'Events per second, first call to last event delivered (higher is better)',
      rows: [OUTBOX, MEMORY, RUDDER, LIMIT].map((name) => {
        const rate = median(name, 'eventsPerSec');
        const label = rate === undefined ? undefined : `${Math.round(rate).toLocaleString('en-US')} /s`;
        if (name !== OUTBOX || label === undefined) return { label: name, values: [rate], labels: [label] };
        return {
          label: name,
          values: [rate],
          labels: [
            `${label}${ratioText(pairedRatio(results, summary, OUTBOX, MEMORY))} in memory${times(rate, median(RUDDER, 'eventsPerSec'))} rudder-sdk-node + Redis`,
          ],
        };
      }),
      marks: memoryRate === undefined ? [] : [{ value: memoryRate * VS_MEMORY_TARGET, label: `target: ${VS_MEMORY_TARGET}x in memory` }],
    },
    {
      title: 'Cost of the hook / identify() call, µs (lower is better)',
      series: ['p50', 'p99'],
      rows: DELIVERING.map((name) => ({ label: name, values: [median(name, 'p50'), median(name, 'p99')] })),
      format: (v) => `${report.fmt(v)} µs`,
      scale: 'log',
      marks: [
        { value: 5, label: 'target p50 5' },
        { value: 25, label: 'p99 25' },
      ],
    },
    {
      title: 'SQL statements per event (lower is better)',
      rows: [OUTBOX, LIMIT].map((name) => ({ label: name, values: [statements(name)] })),
      format: perEvent,
      marks: [{ value: 0.05, label: 'target 0.05' }],
    },
  ];
  if (crashes.length) {
    panels.push({
      title: `Across ${kills} SIGKILLs: events lost and duplicated (lower is better)`,
      series: ['lost', 'lost once kept', 'duplicated'],
      rows: DELIVERING.map((name) => {
        const c = crash(name);
        if (!c) return { label: name, values: [] };
        const count = (v) => v.toLocaleString('en-US');
        return {
          label: name,
          values: [c.lost, c.keeps ? c.lostKept : undefined, c.duplicates],
          labels: [
            `lost ${count(c.lost)} of ${count(c.accepted)} accepted`,
            c.keeps ? `lost ${count(c.lostKept)} of ${count(c.kept)} ${name === OUTBOX ? 'whenDurable() had confirmed' : 'in Redis'}` : 'kept nowhere',
            `${count(c.duplicates)} duplicated`,
          ],
        };
      }),
    });
  }
  return renderChart({
    title: 'Durable delivery, side by side',
    subtitle: `${commandLine(args)} · medians of ${args.rounds} round(s) · crash runs at ${args.killRate} events/s, each process SIGKILLed ${args.killMinMs}-${args.killMaxMs} ms after it starts`,
    panels,
    footer: [report.machineLine(machine)],
  });
}

/**
 * A round's order: the outbox and the plugin in memory back to back (which goes first alternates),
 * the others rotating after them. This machine's speed drifts with other tenants' load; a pair
 * measured together shares the drift, so their ratio is taken round by round (`pairedRatio`).
 */
function roundOrder(order, round) {
  const pair = [OUTBOX, MEMORY].filter((name) => order.includes(name));
  if (round % 2 === 1) pair.reverse();
  const rest = order.filter((name) => !pair.includes(name));
  return [...pair, ...rest.map((_, k) => rest[(k + round) % rest.length])];
}

/** Each round's ratio of a's events/s to b's, for the rounds where both were verified. */
function roundRatios(results, a, b) {
  const rounds = new Map();
  for (const r of results) {
    if (!r.verified || r.round === undefined) continue;
    if (!rounds.has(r.round)) rounds.set(r.round, {});
    rounds.get(r.round)[r.contender] = r.eventsPerSec;
  }
  return [...rounds.values()].filter((round) => round[a] && round[b]).map((round) => round[a] / round[b]);
}

/** The median of the rounds' ratios; for figures saved without rounds, the ratio of the medians. */
function pairedRatio(results, summary, a, b) {
  const ratios = roundRatios(results, a, b);
  return ratios.length ? report.median(ratios) : ratioOfMedians(summary, a, b);
}

function ratioOfMedians(summary, a, b) {
  const median = (name) => summary.find((e) => e.name === name)?.median('eventsPerSec');
  return median(a) && median(b) ? median(a) / median(b) : undefined;
}

async function durableMode(ctx) {
  const { args } = ctx;
  const order = args.only;
  const results = [];
  for (let round = 0; round < args.rounds; round++) {
    for (const name of roundOrder(order, round)) {
      progress(args, `round ${round + 1}/${args.rounds}: ${name} ... `);
      const r = { ...(await measure(ctx, name)), round };
      results.push(r);
      progress(args, r.verified ? `${Math.round(r.eventsPerSec).toLocaleString('en-US')} events/s\n` : `FAILED: ${r.failure}\n`);
    }
  }
  const crashes = [];
  if (args.kills > 0) {
    for (const name of DELIVERING.filter((d) => order.includes(d))) {
      progress(args, `crash: ${name}, ${args.kills} SIGKILLs at ${args.killRate} events/s ... `);
      const c = await crashRun(ctx, name);
      crashes.push(c);
      progress(
        args,
        c.failure ? `FAILED: ${c.failure}\n` : `lost ${c.lost} of ${c.accepted} accepted, ${c.lostKept} of ${c.kept} kept; ${c.duplicates} duplicated\n`,
      );
    }
  }
  ctx.machine.loadavgEnd = os.loadavg();
  return durableReport(args, ctx.machine, results, crashes);
}

/** The tables, the chart and the raw figures of a --durable run (measured now, or saved by one). */
function durableReport(args, machine, results, crashes) {
  const summary = report.summarize(results, args.only);
  const verified = summary.every((e) => !e.failed) && crashes.every((c) => !c.failure);
  writeChart(args, durableChart(args, machine, summary, crashes, results));
  writeResults(args, { machine, args, results, crashes });
  if (args.json) return { machine, results, crashes, verified };
  const lines = [
    '',
    commandLine(args),
    report.machineLine(machine),
    `workload: identities x 20 flags (seed ${args.seed}), as in npm run bench; PostgreSQL ${withoutCredentials(args.databaseUrl)} (tables of the run's own, made fresh per contender run), Redis ${withoutCredentials(args.redisUrl)}`,
    `feeding: ${args.burst} calls back to back, then a yield; at most ${args.window.toLocaleString('en-US')} events outstanding (not yet delivered). ` +
      `Database limit: batches of ${args.dbBatch} rows inserted, claimed (FOR UPDATE SKIP LOCKED) and deleted on one connection, no HTTP. SQL statements counted on the pool's connections.`,
    `figures: median (min-max) over ${args.rounds} round(s), verified runs only; events/s = N / (first call -> last event delivered); the outbox and the plugin in memory run back to back in each round, and their ratio is the median of the rounds' ratios`,
    '',
    throughputTable(summary),
  ];
  if (crashes.length) lines.push('', crashTable(crashes, args));
  lines.push('', targetsTable(summary, crashes, results), '', `chart: ${path.relative(process.cwd(), args.chart)}`);
  const failures = report.failuresText(summary);
  if (failures) lines.push('', failures);
  console.log(lines.join('\n'));
  return { verified };
}

/** The drop reasons that counted any event, or "none". */
function droppedText(dropped) {
  const counted = Object.entries(dropped).filter(([, count]) => count > 0);
  return counted.length ? counted.map(([reason, count]) => `${reason} ${count.toLocaleString('en-US')}`).join(', ') : 'none';
}

/** The least-squares line through (x, y) points: its value at any x. */
function leastSquares(points) {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { at: (x) => my + slope * (x - mx) };
}

/** A figure of the first sample taken once `events` were in the outbox. */
function sampleAt(samples, events, figure) {
  const s = samples.find((x) => x.persisted >= events);
  return s ? s[figure] : undefined;
}

async function outageMode(ctx) {
  const { args, store } = ctx;
  const port = await closedPort();
  await store.dropTables();
  progress(args, `outage: ${args.outageN.toLocaleString('en-US')} events into the outbox, data plane refusing (127.0.0.1:${port}) ... `);
  const job = durableJob(args, OUTBOX, args.outageN, `http://127.0.0.1:${port}`, {
    mode: 'outage',
    ackOn: 'persisted',
    sampleMs: args.sampleMs,
    timeoutMs: 60_000 + args.outageN,
  });
  const r = await forkJob('durable-child.js', job).result();
  await store.dropTables();
  ctx.machine.loadavgEnd = os.loadavg();
  if (r.error) {
    progress(args, `FAILED: ${r.error}\n`);
    return { verified: false, error: r.error };
  }
  progress(args, 'done\n');
  return outageReport(args, ctx.machine, r);
}

/** The tables, the chart and the raw figures of a --durable-outage run (measured now, or saved by one). */
function outageReport(args, machine, r) {
  // From a tenth of the backlog on (before it, the process is warming up), through the GC's saw-tooth: a least-squares line.
  const from = Math.round(args.outageN / 10);
  const line = leastSquares(r.samples.filter((x) => x.persisted >= from).map((x) => [x.persisted, x.rssMB]));
  const base = line.at(from);
  const growth = line.at(args.outageN) - base;
  const flat = growth <= 0.1 * base;
  const verified = r.ok === true && flat;
  const checkpoints = [1, 2.5, 5, 7.5, 10].map((k) => Math.round((args.outageN * k) / 10));
  writeChart(
    args,
    renderChart({
      title: `Outage: RSS while ${args.outageN.toLocaleString('en-US')} events build up in the outbox (data plane refusing)`,
      subtitle: `${commandLine(args)} · one sample every ${args.sampleMs} ms`,
      panels: [
        {
          type: 'line',
          title: 'RSS of the process (MB) against events kept in the outbox',
          points: r.samples.map((s) => [s.persisted, s.rssMB]),
          xLabel: 'events in the outbox',
          yLabel: 'RSS MB',
          format: (v) => report.fmt(v),
          formatX: (v) => v.toLocaleString('en-US'),
        },
      ],
      footer: [report.machineLine(machine)],
    }),
  );
  writeResults(args, { machine, args, outage: r, rssGrowthMB: growth, flat });
  if (args.json) return { machine, outage: r, rssGrowthMB: growth, flat, verified };
  const status = r.report && r.report.status;
  const table = r.report && r.report.table;
  console.log(
    [
      '',
      commandLine(args),
      report.machineLine(machine),
      `feeding: bursts of ${args.burst} + a yield, at most ${args.window.toLocaleString('en-US')} events not yet in the outbox; RSS sampled every ${args.sampleMs} ms`,
      '',
      report.table(
        ['events in the outbox', ...checkpoints.map((c) => c.toLocaleString('en-US'))],
        [
          ['RSS MB', ...checkpoints.map((c) => report.fmt(sampleAt(r.samples, c, 'rssMB')))],
          // Figures saved before these were sampled have none.
          ...(r.samples[0].heapMB === undefined
            ? []
            : [
                ['JS heap used MB', ...checkpoints.map((c) => report.fmt(sampleAt(r.samples, c, 'heapMB')))],
                ['external (Buffers) MB', ...checkpoints.map((c) => report.fmt(sampleAt(r.samples, c, 'externalMB')))],
              ]),
        ],
      ),
      '',
      report.table(
        ['figure', 'value'],
        [
          [
            'RSS growth from 10% to 100% of the backlog (least-squares line through the samples)',
            `${report.fmt(base)} -> ${report.fmt(base + growth)} MB: ${report.fmt(growth)} MB (${report.fmt((100 * growth) / base)}%, ` +
              `${report.fmt((growth * 2 ** 20) / (args.outageN - from))} bytes per event), target flat (<= 10%): ${flat ? 'met' : 'MISSED'}`,
          ],
          ['peak RSS', `${report.fmt(r.maxRssMB)} MB`],
          ['feeding took', `${report.fmt(r.fedMs / 1000)} s (${Math.round(args.outageN / (r.fedMs / 1000)).toLocaleString('en-US')} events/s into the outbox)`],
          ['hook p50 / p99 / max', `${report.fmt(r.latency.p50)} / ${report.fmt(r.latency.p99)} / ${report.fmt(r.latency.max)} µs`],
          ['CPU per call', `${report.fmt(r.cpuUsPerCall)} µs`],
          ['outbox.status() at the end', status ? `pending ${status.pending.toLocaleString('en-US')}, oldest ${report.fmt(status.oldestAgeMs / 1000)} s` : '-'],
          ['table', table ? `${report.fmt(table.bytes / 2 ** 20)} MB, ${table.dead.toLocaleString('en-US')} dead tuples` : '-'],
          [
            'stats() at the end',
            `received ${r.stats.received}, persisted ${r.stats.persisted}, delivered ${r.stats.delivered}, dropped ${droppedText(r.stats.dropped)}`,
          ],
          ['errors', `${r.thrown} thrown, ${r.unhandledRejections} unhandled rejections`],
        ],
      ),
      '',
      `chart: ${path.relative(process.cwd(), args.chart)}`,
    ].join('\n'),
  );
  return { verified };
}

/** Tables and chart again from a run's saved figures (bench/results/*.json), with this code's report. */
function replot(file, chart) {
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  const args = { ...saved.args, chart: chart ?? file.replace(/\.json$/, '.svg') };
  return saved.outage ? outageReport(args, saved.machine, saved.outage) : durableReport(args, saved.machine, saved.results, saved.crashes);
}

async function main(argv) {
  const args = parseArgs(argv);
  if (args.replot) return replot(args.replot, args.chartGiven);
  const ctx = { args, machine: report.machine(), store: stores(args) };
  ctx.server = await startServer();
  let outcome;
  try {
    outcome = args.outage ? await outageMode(ctx) : await durableMode(ctx);
  } finally {
    await ctx.server.stop();
  }
  if (args.json) console.log(JSON.stringify(outcome));
  return outcome;
}

module.exports = { main };
