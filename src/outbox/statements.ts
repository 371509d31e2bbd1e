/**
 * Every SQL statement of the outbox, for one table. A row is claimable while `available_at` has
 * passed: for a new or released row that is its next attempt; while `claimed_by` holds a
 * replica's id, it is the end of that replica's lease. One column for both keeps the claim to one
 * index range.
 */

/** The statements, with the table name in place. */
export interface OutboxStatements {
  /** Creates the table and its indexes if absent. One script, several statements. */
  migrate: string;
  /** $1 environment keys, $2 the events joined by newlines, $3 accepted-at epoch ms, $4 mine, $5 owner, $6 lease ms. */
  insert: string;
  /** $1 environment key, $2 owner, $3 lease ms, $4 limit. */
  claim: string;
  /** Every environment that has rows, with how long until its earliest becomes claimable (ms, ≤ 0: now). */
  dueEnvironments: string;
  /** $1 ids. */
  remove: string;
  /** $1 ids, $2 owner, $3 delay ms: back to the outbox, claimable after the delay. */
  release: string;
  /** $1 ids, $2 owner, $3 lease ms. */
  renew: string;
  /** $1 environment key, $2 limit: claimable rows of an environment, deleted. */
  removeEnvironment: string;
  /** $1 max age ms, $2 limit: rows older than that and not claimed now, deleted; returns the number deleted. */
  expire: string;
  /** An upper bound of the row count, from the ids: cheap, read before looking further. */
  rowBound: string;
  /**
   * $1 max rows, $2 limit: the rows older than the newest `max rows` (and not claimed now),
   * deleted; returns the number deleted. The boundary is found in the statement itself, so that
   * replicas trimming at once delete the same rows, not twice as many.
   */
  trim: string;
  /** Pending rows and the oldest age, per environment. */
  status: string;
  /** Reclaims deleted rows' space and refreshes the planner's figures; skipped when another vacuum holds the table. */
  vacuum: string;
}

/** A row no replica holds now: a row being sent is left to its sender. */
const NOT_CLAIMED = '(claimed_by IS NULL OR available_at <= now())';

export function outboxStatements(table: string, indexPrefix: string): OutboxStatements {
  const ms = (parameter: string): string => `${parameter}::float8 * interval '1 millisecond'`;
  const counted = (deletion: string): string => `WITH deleted AS (${deletion} RETURNING 1) SELECT count(*)::int AS count FROM deleted`;
  return {
    migrate: [
      `CREATE TABLE IF NOT EXISTS ${table} (`,
      '  id bigserial PRIMARY KEY,',
      '  environment_key text NOT NULL,',
      '  event text NOT NULL,',
      '  accepted_at timestamptz NOT NULL,',
      '  attempts integer NOT NULL DEFAULT 0,',
      '  available_at timestamptz NOT NULL,',
      '  claimed_by text',
      // A queue table: rows are deleted as fast as they come, so vacuum must not wait for a fifth of it to be dead.
      ') WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);',
      `CREATE INDEX IF NOT EXISTS "${indexPrefix}_claim" ON ${table} (environment_key, available_at);`,
      `CREATE INDEX IF NOT EXISTS "${indexPrefix}_age" ON ${table} (accepted_at);`,
    ].join('\n'),
    insert:
      `INSERT INTO ${table} (environment_key, event, accepted_at, attempts, available_at, claimed_by) ` +
      `SELECT r.environment_key, r.event, to_timestamp(r.accepted_ms / 1000.0), CASE WHEN r.mine THEN 1 ELSE 0 END, ` +
      `CASE WHEN r.mine THEN now() + ${ms('$6')} ELSE now() END, CASE WHEN r.mine THEN $5::text END ` +
      `FROM unnest($1::text[], string_to_array($2::text, E'\\n'), $3::float8[], $4::boolean[]) WITH ORDINALITY ` +
      'AS r(environment_key, event, accepted_ms, mine, ord) ORDER BY r.ord RETURNING id',
    claim:
      `UPDATE ${table} SET claimed_by = $2::text, available_at = now() + ${ms('$3')}, attempts = attempts + 1 ` +
      `WHERE id IN (SELECT id FROM ${table} WHERE environment_key = $1::text AND available_at <= now() ` +
      'ORDER BY available_at LIMIT $4::int FOR UPDATE SKIP LOCKED) RETURNING id, event, attempts',
    // A loose index scan: one index probe per environment, however many rows each has.
    dueEnvironments:
      'WITH RECURSIVE environments AS (' +
      `(SELECT environment_key FROM ${table} ORDER BY environment_key LIMIT 1) UNION ALL ` +
      `SELECT (SELECT t.environment_key FROM ${table} t WHERE t.environment_key > e.environment_key ORDER BY t.environment_key LIMIT 1) ` +
      'FROM environments e WHERE e.environment_key IS NOT NULL) ' +
      'SELECT e.environment_key, extract(epoch FROM ' +
      `(SELECT min(t.available_at) FROM ${table} t WHERE t.environment_key = e.environment_key) - now()) * 1000 AS due_in_ms ` +
      'FROM environments e WHERE e.environment_key IS NOT NULL',
    remove: `DELETE FROM ${table} WHERE id = ANY($1::bigint[])`,
    release: `UPDATE ${table} SET claimed_by = NULL, available_at = now() + ${ms('$3')} WHERE id = ANY($1::bigint[]) AND claimed_by = $2::text`,
    renew: `UPDATE ${table} SET available_at = now() + ${ms('$3')} WHERE id = ANY($1::bigint[]) AND claimed_by = $2::text`,
    removeEnvironment: counted(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE environment_key = $1::text AND available_at <= now() LIMIT $2::int FOR UPDATE SKIP LOCKED)`,
    ),
    expire: counted(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE accepted_at < now() - ${ms('$1')} AND ${NOT_CLAIMED} ` +
        'ORDER BY accepted_at LIMIT $2::int FOR UPDATE SKIP LOCKED)',
    ),
    rowBound: `SELECT coalesce(max(id) - min(id) + 1, 0)::float8 AS bound FROM ${table}`,
    trim: counted(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE id <= (SELECT id FROM ${table} ORDER BY id DESC OFFSET $1::int LIMIT 1) ` +
        `AND ${NOT_CLAIMED} ORDER BY id LIMIT $2::int FOR UPDATE SKIP LOCKED)`,
    ),
    status:
      'SELECT environment_key, count(*)::float8 AS pending, ' +
      `extract(epoch FROM now() - min(accepted_at)) * 1000 AS oldest_age_ms FROM ${table} GROUP BY environment_key ORDER BY environment_key`,
    vacuum: `VACUUM (SKIP_LOCKED, ANALYZE) ${table}`,
  };
}
