'use strict';
/**
 * The contenders of `npm run bench -- --durable`: what keeps events across a crash, beside the
 * plugin in memory. Each has the feeder's surface (bench/contenders.js) and, where it applies:
 *
 *   prepare()          just before the clock starts (counters reset)
 *   whenDurable()      resolves when every event accepted before the call is kept (the outbox)
 *   watchDurable(fn)   fn(mark) whenever identities below `mark` are all kept (rudder-sdk-node: in Redis)
 *   settle(deadline)   after drain(): until nothing earlier processes left is unsent (crash harness)
 *   report()           figures of its own (SQL statements, the table)
 *
 * Factories may be async: they connect, migrate and recover before the host would serve.
 */
const plugin = require('../dist');
const { pluginContender, droppedTotal, rudderAnalytics, rudderCalls } = require('./contenders');
const { flagsFor, userIdOf, identityOf } = require('./workload');
const { sleep } = require('./feeder');
const { recreateTable, tableHealth } = require('./outbox-table');

const DURABLE_CONTENDERS = {
  'plugin + outbox': outboxContender,
  'plugin in memory': (ctx) => pluginContender(ctx, { ...ctx.pluginOptions }),
  'rudder-sdk-node + Redis': rudderRedisContender,
  'database limit': databaseLimit,
};

/**
 * Counts every statement sent on the pool's connections, by its first word, and the time each
 * kind took from sending to its answer (a statement sent through pool.query is counted once, on
 * the connection that ran it; pg-pool passes a callback, other callers take the promise).
 */
function countStatements(pool) {
  let byKind = {};
  const add = (kind, ns) => {
    const entry = (byKind[kind] ??= { count: 0, ns: 0 });
    entry.count++;
    entry.ns += ns;
  };
  pool.on('connect', (client) => {
    const query = client.query;
    client.query = function countedQuery(config, ...rest) {
      const text = typeof config === 'string' ? config : (config && config.text) || '';
      // A statement that starts with WITH is named for what its first part does (the outbox's INSERT returns its ids through one).
      const match = /^\s*WITH\s+(?:RECURSIVE\s+)?\w+\s+AS\s+\(\s*\(?\s*(\w+)/i.exec(text) || /^\s*(\w+)/.exec(text);
      const kind = match ? match[1].toUpperCase() : '?';
      const start = process.hrtime.bigint();
      const took = () => add(kind, Number(process.hrtime.bigint() - start));
      const callback = rest.length && typeof rest[rest.length - 1] === 'function' ? rest.pop() : undefined;
      if (callback) {
        return query.call(this, config, ...rest, (...answer) => {
          took();
          callback(...answer);
        });
      }
      const answer = query.call(this, config, ...rest);
      if (answer && typeof answer.then === 'function') answer.then(took, took);
      else took();
      return answer;
    };
  });
  return {
    reset() {
      byKind = {};
    },
    /** Statements in all, and per kind how many and their mean time in ms. */
    snapshot() {
      let total = 0;
      const kinds = {};
      for (const [kind, { count, ns }] of Object.entries(byKind)) {
        total += count;
        kinds[kind] = { count, meanMs: ns / count / 1e6 };
      }
      return { total, byKind: kinds };
    },
  };
}

function newPool(ctx, extra = {}) {
  const { Pool } = require('pg');
  const pool = new Pool({ connectionString: ctx.databaseUrl, ...extra });
  // An idle connection the server drops is the pool's 'error' event; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** The plugin with `durable: new PostgresOutbox(pool)` on the local PostgreSQL, in a table of the bench's. */
async function outboxContender(ctx) {
  const pool = newPool(ctx);
  const statements = countStatements(pool);
  const outbox = new plugin.PostgresOutbox(pool, { table: ctx.table, ...(ctx.leaseMs ? { leaseMs: ctx.leaseMs } : {}) });
  await outbox.migrate();
  const base = pluginContender(ctx, { ...ctx.pluginOptions, durable: outbox });
  const { integration } = base;
  const drain = async () => {
    await integration.whenDurable();
    await integration.flush();
  };
  return {
    ...base,
    // In an outage nothing is delivered: an event is settled once it is in the outbox.
    acked:
      ctx.ackOn === 'persisted'
        ? () => {
            const s = integration.stats();
            return s.persisted + droppedTotal(s);
          }
        : base.acked,
    prepare: () => statements.reset(),
    whenDurable: () => integration.whenDurable(),
    drain,
    async settle(deadline) {
      // Rows a killed process held come back when their lease ends.
      while ((await outbox.status()).pending > 0) {
        if (Date.now() > deadline) throw new Error(`outbox still holds ${(await outbox.status()).pending} events`);
        await sleep(50);
      }
    },
    async report() {
      return { statements: statements.snapshot(), status: await outbox.status(), table: await tableHealth(pool, ctx.table) };
    },
    async close() {
      await base.close();
      await pool.end();
    },
  };
}

/** Host and port (and database number) of a redis:// URL, as Bull's `redis` option takes them. */
function redisOptions(redisUrl) {
  const url = new URL(redisUrl);
  const db = Number(url.pathname.slice(1));
  return { host: url.hostname, port: Number(url.port) || 6379, ...(db ? { db } : {}) };
}

/**
 * Its persistence queue made ready, as its README has a host do, retrying when it asks to: after
 * a SIGKILL the single-processor start fails ("Could not remove job N") until the dead
 * process's lock on the job it was sending runs out.
 */
async function startPersistence(analytics, ctx, deadline) {
  const queueOpts = {
    queueName: 'rudderEventsQueue',
    prefix: ctx.redisPrefix,
    isMultiProcessor: ctx.rudderMultiProcessor,
    redisOpts: redisOptions(ctx.redisUrl),
  };
  let attempts = 0;
  for (;;) {
    attempts++;
    const error = await new Promise((resolve) => analytics.createPersistenceQueue({ ...queueOpts }, resolve));
    if (!error) return attempts;
    if (Date.now() > deadline) throw new Error(`createPersistenceQueue kept failing: ${error.message}`);
    await analytics.pQueue.close().catch(() => undefined);
    await sleep(1_000);
  }
}

/** @rudderstack/rudder-sdk-node 3.x with its Redis persistence (Bull), defaults otherwise. */
async function rudderRedisContender(ctx) {
  const analytics = rudderAnalytics(ctx);
  const startAttempts = await startPersistence(analytics, ctx, Date.now() + ctx.timeoutMs);
  const queue = analytics.pQueue;
  const calls = rudderCalls(analytics, ctx.n);
  return {
    ...calls,
    startAttempts,
    /** A job is in Redis once its add resolves; the SDK adds its batches in order, on one connection. */
    watchDurable(onMark) {
      const add = queue.add;
      let mark = 0;
      queue.add = function watchedAdd(data, ...rest) {
        return add.call(this, data, ...rest).then((job) => {
          for (const event of JSON.parse(data.eventData).request.data.batch) mark = Math.max(mark, identityOf(event.userId) + 1);
          onMark(mark);
          return job;
        });
      };
    },
    async settle(deadline) {
      // Jobs a killed process left behind: waiting, delayed, or active under a dead lock until Bull's stalled check.
      for (;;) {
        const c = await queue.getJobCounts();
        if (c.waiting + c.active + c.delayed === 0) return;
        if (Date.now() > deadline) throw new Error(`Redis still holds jobs: ${JSON.stringify(c)}`);
        await sleep(100);
      }
    },
    async report() {
      return { jobs: await queue.getJobCounts() };
    },
    close: () => queue.close(),
  };
}

/**
 * The database limit: the same events as rows of the outbox's table, written in groups, claimed
 * and deleted with the outbox's own statements, on one connection, one group after another; no
 * HTTP and no plugin. How fast this PostgreSQL carries them at all.
 */
async function databaseLimit(ctx) {
  const { n, seed, environmentKey, dbBatch } = ctx;
  const { outboxStatements, insertValues, idList } = require('../dist/outbox/statements');
  const sql = outboxStatements(`"${ctx.table}"`, ctx.table);
  const pool = newPool(ctx, { max: 1 });
  const statements = countStatements(pool);
  await recreateTable(pool, ctx.table);
  const groups = [];
  let carried = 0;
  let bytes = 0;
  return {
    kind: 'batches',
    prepare() {
      for (let start = 0; start < n; start += dbBatch) {
        const events = [];
        for (let i = start; i < Math.min(start + dbBatch, n); i++) {
          const json = Buffer.from(
            JSON.stringify(plugin.buildIdentifyMessage({ environmentKey, identity: { identifier: userIdOf(i) }, flags: flagsFor(seed, i) })),
          );
          bytes += json.length;
          events.push({ environmentKey, json, acceptedAtMs: 0, mine: false });
        }
        groups.push(events);
      }
      statements.reset();
    },
    async run() {
      for (const entries of groups) {
        const acceptedAtMs = Date.now();
        for (const entry of entries) entry.acceptedAtMs = acceptedAtMs;
        await pool.query(sql.insert.bytes, insertValues(entries, 'bench-limit', 30_000, 'bytes'));
        const claimed = await pool.query(sql.claim, [environmentKey, 'bench-limit', 30_000, dbBatch]);
        await pool.query(sql.remove, [idList(claimed.rows.map((r) => String(r.id)))]);
        carried += claimed.rows.length;
      }
    },
    batches: () => groups.length,
    acked: () => carried,
    failed: () => n - carried,
    async report() {
      const left = Number((await pool.query(`SELECT count(*) AS left FROM "${ctx.table}"`)).rows[0].left);
      return { statements: statements.snapshot(), rowsLeft: left, meanEventBytes: bytes / n, table: await tableHealth(pool, ctx.table) };
    },
    close: () => pool.end(),
  };
}

module.exports = { DURABLE_CONTENDERS, redisOptions };
