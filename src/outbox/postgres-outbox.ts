/**
 * The durable outbox: a PostgreSQL table that every replica writes its events to and drains.
 * A row holds an environment key, the event's JSON and its bookkeeping; never a write key or a
 * data plane URL (those are looked up from the settings when the row is sent).
 */
import { driverError, quoteTableName, type SqlClient } from '../sql';
import { withTimeout } from '../timers';
import { idList, insertedIds, insertValues, outboxStatements, type EventsParameter, type OutboxEntry, type OutboxStatements } from './statements';

/** Options of `new PostgresOutbox(client, options)`. */
export interface PostgresOutboxOptions {
  /** `table` or `schema.table` (quoted, so case-sensitive). Default `flagsmith_rudderstack_outbox`. */
  table?: string;
  /** How long a replica's claim on the rows it is sending lasts; then any replica may take them (default 30 000). */
  leaseMs?: number;
  /** Undelivered events older than this are dropped as `expired` (default 72 hours). */
  maxAgeMs?: number;
  /** Beyond this many rows the oldest are dropped as `outbox_full` (default 1 000 000). */
  maxRows?: number;
  /** Longest one statement may take before it counts as failed: the database is slow or gone (default 10 000). */
  statementTimeoutMs?: number;
}

/** What is waiting in the outbox, from `outbox.status()`. */
export interface OutboxStatus {
  /** Rows not yet delivered, claimed or not. */
  pending: number;
  /** Age of the oldest row in milliseconds; null when the outbox is empty. */
  oldestAgeMs: number | null;
  /** The same, per environment, by environment key. */
  environments: Array<{
    /** The environment's client-side key. */
    environmentKey: string;
    /** Its rows not yet delivered. */
    pending: number;
    /** Age of its oldest row in milliseconds. */
    oldestAgeMs: number;
  }>;
}

/** Why an outbox statement failed: the message says what to do, never a value of the statement. */
export class OutboxError extends Error {
  /** The SQLSTATE, when the driver gave one (42P01: the table is missing; 25006: read-only; 53100: disk full). */
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'OutboxError';
    this.code = code;
  }
}

const DEFAULTS = {
  table: 'flagsmith_rudderstack_outbox',
  leaseMs: 30_000,
  maxAgeMs: 72 * 3_600_000,
  maxRows: 1_000_000,
  statementTimeoutMs: 10_000,
} as const;

/** A row as a claim returns it. @internal */
export interface ClaimedRow {
  id: string;
  event: string;
  attempts: number;
}

/**
 * A PostgreSQL table that holds events until they are delivered, shared by every replica that
 * uses the same table. Pass it to `new RudderStackIntegration({ config, durable: outbox })`.
 */
export class PostgresOutbox {
  /** The lease, age and size limits in force. */
  readonly limits: Readonly<Required<Omit<PostgresOutboxOptions, 'table'>>>;
  readonly #client: SqlClient;
  readonly #sql: OutboxStatements;
  readonly #eventsAs: EventsParameter;

  constructor(client: SqlClient, options: PostgresOutboxOptions = {}) {
    if (typeof client?.query !== 'function') {
      throw new TypeError('PostgresOutbox needs a client with a query(text, values) method: a pg Pool, or PGlite');
    }
    const table = options.table ?? DEFAULTS.table;
    const quoted = quoteTableName(table, 'table');
    // Its indexes are named after it, and PostgreSQL cuts names at 63 bytes.
    if (table.split('.').at(-1)!.length > MAX_TABLE_NAME)
      throw new TypeError(`PostgresOutbox option table: the table's name may have at most ${MAX_TABLE_NAME} characters`);
    this.#client = client;
    this.#sql = outboxStatements(quoted, table.split('.').at(-1)!);
    this.#eventsAs = sendsBytesAsTheyAre(client) ? 'bytes' : 'text';
    this.limits = {
      leaseMs: atLeast(MIN_LEASE_MS, positive(options.leaseMs, DEFAULTS.leaseMs, 'leaseMs'), 'leaseMs'),
      maxAgeMs: positive(options.maxAgeMs, DEFAULTS.maxAgeMs, 'maxAgeMs'),
      maxRows: positive(options.maxRows, DEFAULTS.maxRows, 'maxRows'),
      statementTimeoutMs: positive(options.statementTimeoutMs, DEFAULTS.statementTimeoutMs, 'statementTimeoutMs'),
    };
  }

  /** Creates the table and its indexes if absent. Idempotent, and safe when replicas start together. */
  async migrate(): Promise<void> {
    for (const statement of this.#sql.migrate.split(';\n')) {
      try {
        await this.#query('creating the outbox table', statement, []);
      } catch (error) {
        // Two replicas creating it at once: the loser sees a duplicate of what the winner made.
        if (!(error instanceof OutboxError && (error.code === '23505' || error.code === '42P07'))) throw error;
      }
    }
  }

  /** What is waiting, in all and per environment. One statement that reads every row: for operators, not for a hot path. */
  async status(): Promise<OutboxStatus> {
    const rows = (await this.#query('reading the outbox status', this.#sql.status, [])) as Array<{
      environment_key: string;
      pending: number;
      oldest_age_ms: number | string;
    }>;
    const environments = rows.map((row) => ({
      environmentKey: row.environment_key,
      pending: Number(row.pending),
      oldestAgeMs: Math.max(0, Math.round(Number(row.oldest_age_ms))),
    }));
    const pending = environments.reduce((sum, environment) => sum + environment.pending, 0);
    const oldestAgeMs = environments.length === 0 ? null : Math.max(...environments.map((environment) => environment.oldestAgeMs));
    return { pending, oldestAgeMs, environments };
  }

  /** Writes events in one statement; returns their row ids, in order. Used by the integration. @internal */
  async insert(entries: readonly OutboxEntry[], owner: string): Promise<string[]> {
    const [row] = (await this.#query(
      'writing events to the outbox',
      this.#sql.insert[this.#eventsAs],
      insertValues(entries, owner, this.limits.leaseMs, this.#eventsAs),
    )) as Array<{
      ids: string | null;
    }>;
    // One statement's ids come from one sequence in the order its rows were made.
    const ids = insertedIds(row?.ids);
    if (ids.length !== entries.length) throw new OutboxError(`writing events to the outbox stored ${ids.length} of ${entries.length} rows`, undefined);
    return ids;
  }

  /** Takes up to `limit` claimable rows of an environment for `owner`, oldest due first. Used by the integration. @internal */
  async claim(environmentKey: string, owner: string, limit: number): Promise<ClaimedRow[]> {
    const rows = (await this.#query('claiming outbox rows', this.#sql.claim, [environmentKey, owner, this.limits.leaseMs, limit])) as Array<{
      id: number | string;
      event: string;
      attempts: number;
    }>;
    return rows.map((row) => ({ id: String(row.id), event: row.event, attempts: row.attempts })).sort((a, b) => compareIds(a.id, b.id));
  }

  /** Every environment with rows, and in how many milliseconds its earliest may be claimed (≤ 0: now). Used by the integration. @internal */
  async dueEnvironments(): Promise<Array<{ environmentKey: string; dueInMs: number }>> {
    const rows = (await this.#query('reading the outbox', this.#sql.dueEnvironments, [])) as Array<{ environment_key: string; due_in_ms: number | string }>;
    return rows.map((row) => ({ environmentKey: row.environment_key, dueInMs: Number(row.due_in_ms) }));
  }

  /** Deletes delivered or refused rows. Used by the integration. @internal */
  async remove(ids: readonly string[]): Promise<void> {
    await this.#query('deleting delivered outbox rows', this.#sql.remove, [idList(ids)]);
  }

  /** Hands rows back, claimable by any replica after `delayMs`. Used by the integration. @internal */
  async release(ids: readonly string[], owner: string, delayMs: number): Promise<void> {
    await this.#query('releasing outbox rows', this.#sql.release, [idList(ids), owner, Math.max(0, delayMs)]);
  }

  /** Extends the lease on rows still being sent. Used by the integration. @internal */
  async renew(ids: readonly string[], owner: string): Promise<void> {
    await this.#query('renewing the lease on outbox rows', this.#sql.renew, [idList(ids), owner, this.limits.leaseMs]);
  }

  /** Deletes up to `limit` claimable rows of an environment whose integration is gone; returns how many. Used by the integration. @internal */
  async removeEnvironment(environmentKey: string, limit: number): Promise<number> {
    return this.#count('deleting outbox rows of a removed integration', this.#sql.removeEnvironment, [environmentKey, limit]);
  }

  /** Deletes up to `limit` rows older than `maxAgeMs`; returns how many. Used by the integration. @internal */
  async expire(limit: number): Promise<number> {
    return this.#count('deleting expired outbox rows', this.#sql.expire, [this.limits.maxAgeMs, limit]);
  }

  /** Deletes the oldest rows beyond `maxRows`, at most `limit` of them; returns how many. Used by the integration. @internal */
  async trim(limit: number): Promise<number> {
    const [bound] = (await this.#query('counting outbox rows', this.#sql.rowBound, [])) as Array<{ bound: number }>;
    if (Number(bound?.bound ?? 0) <= this.limits.maxRows) return 0;
    return this.#count('deleting the oldest outbox rows', this.#sql.trim, [this.limits.maxRows, limit]);
  }

  /**
   * Vacuums the table: autovacuum may be off (it is in PGlite, and on some servers), and a queue
   * table that is never vacuumed grows by every row it ever held. Used by the integration. @internal
   */
  async vacuum(): Promise<void> {
    await this.#query('vacuuming the outbox table', this.#sql.vacuum, []);
  }

  async #count(doing: string, text: string, values: unknown[]): Promise<number> {
    const [row] = (await this.#query(doing, text, values)) as Array<{ count: number }>;
    return Number(row?.count ?? 0);
  }

  async #query(doing: string, text: string, values: unknown[]): Promise<unknown[]> {
    let result: { rows: unknown[] };
    try {
      result = await withTimeout(() => this.#client.query(text, values), this.limits.statementTimeoutMs);
    } catch (error) {
      const { detail, code } = driverError(error, values);
      throw new OutboxError(`${doing} failed: ${detail}${adviceFor(code)}`, code);
    }
    if (!Array.isArray(result?.rows)) throw new OutboxError(`${doing} failed: the client's query() gave no rows array`, undefined);
    return result.rows;
  }
}

/** What to do about the failures an operator can fix. */
function adviceFor(code: string | undefined): string {
  switch (code) {
    case '42P01':
      return ' (the outbox table is missing: run `await outbox.migrate()` or `flagsmith-rudderstack outbox migrate`)';
    case '25006':
      return ' (the database is read-only: point the outbox at the primary)';
    case '53100':
      return ' (the database disk is full)';
    case '42501':
      return ' (the database user may not use the outbox table: grant it SELECT, INSERT, UPDATE and DELETE)';
    default:
      return '';
  }
}

/**
 * node-postgres's Pool and Client (they have `connect()`; PGlite has not) send a Buffer as a
 * binary parameter, untouched. Any other client gets the events as text, which every client
 * passes on as it is.
 */
function sendsBytesAsTheyAre(client: SqlClient): boolean {
  return typeof (client as { connect?: unknown }).connect === 'function';
}

/** Ids as decimal text (bigint), in numeric order. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** The lease is renewed every third of it: a shorter one would renew all the time. */
const MIN_LEASE_MS = 1_000;
const MAX_TABLE_NAME = 48;

function atLeast(minimum: number, value: number, name: string): number {
  if (value < minimum) throw new TypeError(`PostgresOutbox option ${name} must be at least ${minimum}`);
  return value;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new TypeError(`PostgresOutbox option ${name} must be a positive number`);
  return value;
}
