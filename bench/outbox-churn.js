'use strict';
/**
 * The outbox table under churn (issue 15): N events through the real integration with the
 * durable outbox on the local PostgreSQL, delivered to the local data plane, sampling every
 * N/10 events: delivered events per second over the last sample, the table's dead and live tuples
 * (pg_stat_user_tables), its size, and the process's RSS.
 *
 *   node bench/outbox-churn.js [--n 1000000] [--outage] [--database-url postgres://postgres@127.0.0.1:5432/test]
 *
 * --outage: the data plane answers 503 to everything, so the backlog builds in the table; the
 * samples then show what the process holds in memory meanwhile.
 *
 * Uses dist/ (npm run build first). The table is the bench's own, dropped at the start and end.
 */
const { Pool } = require('pg');
const { PostgresOutbox, RudderStackIntegration } = require('../dist');
const http = require('node:http');

function arg(name, fallback) {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
}

const N = Number(String(arg('--n', '1000000')).replace(/_/g, ''));
const URL = arg('--database-url', 'postgres://postgres@127.0.0.1:5432/test');
const TABLE = 'bench_outbox_churn';
const OUTAGE = process.argv.includes('--outage');
const FLAGS = Array.from({ length: 20 }, (_, i) => ({ feature: { name: `feature_${i}` }, enabled: i % 3 !== 0, feature_state_value: i % 2 ? `v${i}` : null }));

async function tableStats(pool) {
  const { rows } = await pool.query(
    `SELECT n_live_tup, n_dead_tup, autovacuum_count, pg_total_relation_size(relid) AS bytes FROM pg_stat_user_tables WHERE relname = $1`,
    [TABLE],
  );
  return rows[0] ?? { n_live_tup: 0, n_dead_tup: 0, autovacuum_count: 0, bytes: 0 };
}

async function main() {
  const pool = new Pool({ connectionString: URL, max: 4 });
  await pool.query(`DROP TABLE IF EXISTS ${TABLE}`);
  // A data plane that reads each body and answers 200, keeping nothing: the RSS measured is the plugin's.
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => (OUTAGE ? res.writeHead(503).end('unavailable') : res.writeHead(200, { 'content-type': 'text/plain' }).end('OK')));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dataPlane = { url: `http://127.0.0.1:${server.address().port}` };
  let delivered = 0;
  const outbox = new PostgresOutbox(pool, { table: TABLE });
  await outbox.migrate();
  const integration = new RudderStackIntegration({
    config: { env: { api_key: 'bench-write-key', base_url: dataPlane.url } },
    durable: outbox,
    allowPrivateNetworks: true,
    onBatchResult: (result) => {
      if (result.result === 'delivered') delivered += result.events;
    },
  });
  // Statements per event: every query the integration's pool runs.
  let statements = 0;
  const query = pool.query.bind(pool);
  pool.query = (...args) => {
    statements++;
    return query(...args);
  };
  const sample = Math.max(1, Math.floor(N / 10));
  const rows = [];
  let started = Date.now();
  let lastAt = started;
  let lastDelivered = 0;
  for (let i = 0; i < N; i++) {
    integration.postIdentityFetch({ environmentKey: 'env', identity: { identifier: `user-${i}` }, flags: FLAGS });
    // Let delivery keep up: the hook is synchronous, a real API yields between requests.
    if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    if (i % 2_000 === 1_999) await integration.whenDurable();
    if ((i + 1) % sample === 0) {
      await (OUTAGE ? integration.whenDurable() : integration.flush());
      const now = Date.now();
      const stats = await tableStats(pool);
      rows.push({
        events: i + 1,
        eventsPerSecond: OUTAGE ? Math.round((sample * 1000) / (now - lastAt)) : Math.round(((delivered - lastDelivered) * 1000) / (now - lastAt)),
        liveTuples: Number(stats.n_live_tup),
        deadTuples: Number(stats.n_dead_tup),
        autovacuums: Number(stats.autovacuum_count),
        tableKiB: Math.round(Number(stats.bytes) / 1024),
        rssMiB: Math.round(process.memoryUsage().rss / 1048576),
        heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 1048576),
        held: integration.stats().queued + integration.stats().inFlight,
      });
      console.log(JSON.stringify(rows.at(-1)));
      lastAt = now;
      lastDelivered = delivered;
    }
  }
  await integration.close({ timeoutMs: 1_000 });
  const elapsed = (Date.now() - started) / 1000;
  const s = integration.stats();
  console.log(
    JSON.stringify({
      n: N,
      seconds: elapsed,
      delivered: s.delivered,
      persisted: s.persisted,
      statementsPerEvent: +(statements / N).toFixed(4),
      pending: (await outbox.status()).pending,
    }),
  );
  await pool.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await pool.end();
  server.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
