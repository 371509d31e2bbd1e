'use strict';
/**
 * The outbox's table for the bench's own use: the shape the package ships in
 * fixtures/sql/outbox.sql, under a table name of the bench's, dropped and made fresh per run.
 */
const fs = require('node:fs');
const path = require('node:path');

const OUTBOX_SQL = path.join(__dirname, '..', 'fixtures', 'sql', 'outbox.sql');
const SHIPPED_TABLE = 'flagsmith_rudderstack_outbox';

/** The shipped DDL with the table's name (and so its indexes' names) replaced by `table`. */
function outboxDdl(table) {
  return fs.readFileSync(OUTBOX_SQL, 'utf8').split(SHIPPED_TABLE).join(table);
}

/** Drops `table` (and what hangs on it). */
async function dropTable(client, table) {
  await client.query(`DROP TABLE IF EXISTS "${table}" CASCADE`);
}

/** Drops `table` and creates it again, empty, in the outbox's shape. */
async function recreateTable(client, table) {
  await dropTable(client, table);
  await client.query(outboxDdl(table));
}

/** Live and dead tuples and total size of `table`, as PostgreSQL's statistics have them now. */
async function tableHealth(client, table) {
  const { rows } = await client.query(
    `SELECT n_live_tup::int AS live, n_dead_tup::int AS dead, pg_total_relation_size(relid)::bigint AS bytes
       FROM pg_stat_user_tables WHERE relid = $1::regclass`,
    [`"${table}"`],
  );
  return rows[0] ? { live: rows[0].live, dead: rows[0].dead, bytes: Number(rows[0].bytes) } : undefined;
}

module.exports = { outboxDdl, dropTable, recreateTable, tableHealth };
