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
  /** For each way of passing the events, the insert of `insertValues()`; returns one row, `ids`: the new rows' ids in order, comma-separated. */
  insert: Record<EventsParameter, string>;
  /** $1 environment key, $2 owner, $3 lease ms, $4 limit. */
  claim: string;
  /** Every environment that has rows, with how long until its earliest becomes claimable (ms, ≤ 0: now). */
  dueEnvironments: string;
  /** $1 ids (`idList()`). */
  remove: string;
  /** $1 ids (`idList()`), $2 owner, $3 delay ms: back to the outbox, claimable after the delay. */
  release: string;
  /** $1 ids (`idList()`), $2 owner, $3 lease ms. */
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

/**
 * How a group's events reach the database: as their UTF-8 bytes, which node-postgres sends as a
 * binary parameter untouched, or as one text, for clients that would write bytes out as hex
 * (PGlite does, byte by byte).
 */
export type EventsParameter = 'bytes' | 'text';

function insert(table: string, events: string, leaseMs: string): string {
  return (
    `WITH inserted AS (INSERT INTO ${table} (environment_key, event, accepted_at, attempts, available_at, claimed_by) ` +
    `SELECT ($1::text[])[r.key], r.event, to_timestamp(r.accepted_ms / 1000), CASE WHEN r.mine THEN 1 ELSE 0 END, ` +
    `CASE WHEN r.mine THEN now() + ${leaseMs} ELSE now() END, CASE WHEN r.mine THEN $6::text END ` +
    `FROM unnest(string_to_array(${events}, E'\\n'), $3::int[], $4::float8[], $5::boolean[]) WITH ORDINALITY ` +
    'AS r(event, key, accepted_ms, mine, ord) ORDER BY r.ord RETURNING id) ' +
    "SELECT string_agg(id::text, ',' ORDER BY id) AS ids FROM inserted"
  );
}

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
    insert: {
      bytes: insert(table, "convert_from($2::bytea, 'UTF8')", ms('$7')),
      text: insert(table, '$2::text', ms('$7')),
    },
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

/** One event to write: its environment, its JSON (UTF-8, no newline: JSON escapes them) and when the hook accepted it (epoch ms). */
export interface OutboxEntry {
  environmentKey: string;
  json: Buffer;
  acceptedAtMs: number;
  /** Claimed by the writer at once (it will send the row itself). */
  mine: boolean;
}

/**
 * The values of `insert[eventsAs]`: $1 the distinct environment keys, $2 the events, a line each,
 * $3 each event's environment (an index into $1), $4 accepted-at epoch ms (whole ms), $5 mine,
 * $6 owner, $7 lease ms. Written so that the driver passes them on as they are: as bytes, the
 * events need no decode and encode; the arrays are literals of numbers and booleans, which need
 * no escaping, instead of arrays the driver would escape element by element.
 */
export function insertValues(entries: readonly OutboxEntry[], owner: string, leaseMs: number, eventsAs: EventsParameter): unknown[] {
  const keys = new Map<string, number>();
  const events: Buffer[] = [];
  const keyIndexes: number[] = [];
  const acceptedMs: number[] = [];
  const mine: string[] = [];
  for (const entry of entries) {
    let index = keys.get(entry.environmentKey);
    if (index === undefined) keys.set(entry.environmentKey, (index = keys.size + 1));
    events.push(entry.json, NEWLINE);
    keyIndexes.push(index);
    acceptedMs.push(Math.round(entry.acceptedAtMs));
    mine.push(entry.mine ? 't' : 'f');
  }
  events.pop();
  const joined = Buffer.concat(events);
  return [
    [...keys.keys()],
    eventsAs === 'bytes' ? joined : joined.toString('utf8'),
    `{${keyIndexes.join(',')}}`,
    `{${acceptedMs.join(',')}}`,
    `{${mine.join(',')}}`,
    owner,
    leaseMs,
  ];
}

/** Row ids as a bigint[] literal: ids are decimal digits, so it needs no escaping. */
export function idList(ids: readonly string[]): string {
  return `{${ids.join(',')}}`;
}

/** The ids an `insert` returned, in order. */
export function insertedIds(ids: string | null | undefined): string[] {
  return ids ? ids.split(',') : [];
}

const NEWLINE = Buffer.from('\n');
