'use strict';
/**
 * The outbox's table for the bench's own use: the shape the package ships in
 * fixtures/sql/outbox.sql, under a table name of the bench's, dropped and made fresh per run.
 */
const fs = require('node:fs');
const path = require('node:path');

const OUTBOX_SQL = path.join(__dirname, '..', 'fixtures', 'sql', 'outbox.sql');
const SHIPPED_TABLE = 'flagsmith_rudderstack_outbox';

/**
 * Until the package ships its SQL, the shape it is to have: one row an event, its JSON and its
 * bookkeeping, and the index a claim walks.
 */
const PROVISIONAL_SQL = `
CREATE TABLE IF NOT EXISTS ${SHIPPED_TABLE} (
  id bigserial PRIMARY KEY,
  environment_key text NOT NULL,
  event jsonb NOT NULL,
  accepted_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  available_at timestamptz NOT NULL DEFAULT now(),
  claimed_by text
);
CREATE INDEX IF NOT EXISTS ${SHIPPED_TABLE}_available_idx ON ${SHIPPED_TABLE} (available_at, id);
`;

/** The DDL for `table`: the shipped SQL (or the provisional one) with its table name replaced. */
function outboxDdl(table) {
  const sql = fs.existsSync(OUTBOX_SQL) ? fs.readFileSync(OUTBOX_SQL, 'utf8') : PROVISIONAL_SQL;
  return sql.split(SHIPPED_TABLE).join(table);
}

/** Drops `table` (and what hangs on it). */
async function dropTable(client, table) {
  await client.query(`DROP TABLE IF EXISTS ${table} CASCADE`);
}

/** Drops `table` and creates it again, empty, in the outbox's shape. */
async function recreateTable(client, table) {
  await dropTable(client, table);
  await client.query(outboxDdl(table));
}

/** Dead tuples and total size of `table`, as PostgreSQL's statistics have them now. */
async function tableHealth(client, table) {
  const { rows } = await client.query(
    `SELECT n_live_tup::int AS live, n_dead_tup::int AS dead, pg_total_relation_size(relid)::bigint AS bytes
       FROM pg_stat_user_tables WHERE relid = $1::regclass`,
    [table],
  );
  return rows[0] ? { live: rows[0].live, dead: rows[0].dead, bytes: Number(rows[0].bytes) } : undefined;
}

module.exports = { outboxDdl, dropTable, recreateTable, tableHealth };
