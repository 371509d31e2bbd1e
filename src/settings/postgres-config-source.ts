/**
 * Settings from a Flagsmith database: the table Flagsmith's own RudderStack integration keeps,
 * `rudderstack_rudderstackconfiguration`, joined to `environments_environment`, through the
 * host's own PostgreSQL client (pg Pool or Client, PGlite, anything with `query(text, values)`).
 *
 * Lookups are one parameterised query. A database that is down or slow does not reach the hook:
 * the integration's settings cache times lookups out and keeps serving the last good settings
 * for a bounded grace period (see settings-cache.ts).
 *
 * Each write sends a NOTIFY with the environment key, in the same statement (so a write that
 * commits always notifies, and one that fails never does); `subscribe` LISTENs for them.
 */
import { consoleLogger, guardLogger } from '../log';
import { driverError, isSqlIdentifier, quoteTableName, type SqlClient } from '../sql';
import type { Logger, RudderStackSettings } from '../types';
import type { ListenConnection, PgliteListen } from './settings-listener';
import type { SaveResult, SettingsRecord, SettingsStore } from './settings-store';
import { validateSettings } from './validate';

/** Options of `new PostgresConfigSource(client, options)`. */
export interface PostgresConfigSourceOptions {
  /** `table` or `schema.table`, used exactly as given (quoted, so case-sensitive). Default `rudderstack_rudderstackconfiguration`. */
  configurationTable?: string;
  /** `table` or `schema.table`, used exactly as given (quoted, so case-sensitive). Default `environments_environment`. */
  environmentTable?: string;
  /** Told after every successful write, so the next hook call reads the new settings. */
  integration?: {
    /** Drops what is cached for the environment. */
    invalidate(environmentKey: string): void;
  };
  /** Let `save` and `update` accept a data plane on an internal address (default false, as Flagsmith). */
  allowPrivateNetworks?: boolean;
  /**
   * The NOTIFY channel writes announce themselves on and `subscribe` LISTENs to, with the
   * environment key as the payload (never a write key). A plain SQL identifier, used exactly as
   * given. Default `flagsmith_rudderstack_settings`.
   */
  channel?: string;
  /** Where `subscribe` says that its connection was lost and is back. Default: warnings to the console. */
  logger?: Logger;
  /**
   * Opens the connection `subscribe` holds for LISTEN, and opens it again after it is lost.
   * Default, for a pg Pool: `pool.connect()`. For a single pg Client, pass a function that makes
   * and connects a new Client: the host's own could not be re-established after a restart.
   */
  listenConnection?: () => Promise<ListenConnection>;
}

/** Why a `PostgresConfigSource` read or write failed: a `PostgresConfigSourceError`'s `reason`. */
export type PostgresConfigSourceErrorReason =
  /** No live environment has that client-side key. */
  | 'unknown_environment'
  /** `save` found live settings for the environment: change them with `update`. */
  | 'already_exists'
  /** `update` or `remove` found no live settings for the environment. */
  | 'not_found'
  /** The database refused or could not run the statement. */
  | 'query_failed';

/** A failed read or write. Its message never holds a write key or a data plane URL. */
export class PostgresConfigSourceError extends Error {
  /** What failed, for code to act on. */
  readonly reason: PostgresConfigSourceErrorReason;
  /** The SQLSTATE of a 'query_failed' error, when the driver gave one. */
  readonly code: string | undefined;

  constructor(reason: PostgresConfigSourceErrorReason, message: string, code?: string) {
    super(message);
    this.name = 'PostgresConfigSourceError';
    this.reason = reason;
    this.code = code;
  }
}

const DEFAULT_CHANNEL = 'flagsmith_rudderstack_settings';

export class PostgresConfigSource implements SettingsStore {
  readonly #client: SqlClient;
  readonly #integration: PostgresConfigSourceOptions['integration'];
  readonly #allowPrivateNetworks: boolean;
  readonly #channel: string;
  readonly #logger: Logger;
  readonly #listenConnection: PostgresConfigSourceOptions['listenConnection'];
  readonly #sql: {
    get: string;
    list: string;
    save: string;
    liveEnvironmentExists: string;
    update: string;
    remove: string;
  };

  constructor(client: SqlClient, options: PostgresConfigSourceOptions = {}) {
    if (typeof client?.query !== 'function') {
      throw new TypeError('PostgresConfigSource needs a client with a query(text, values) method, such as a pg Pool');
    }
    this.#client = client;
    this.#integration = options.integration;
    this.#allowPrivateNetworks = options.allowPrivateNetworks === true;
    this.#channel = checkedChannel(options.channel ?? DEFAULT_CHANNEL);
    this.#logger = options.logger ?? consoleLogger;
    this.#listenConnection = options.listenConnection;
    const cfg = quoteTableName(options.configurationTable ?? 'rudderstack_rudderstackconfiguration', 'configurationTable');
    const env = quoteTableName(options.environmentTable ?? 'environments_environment', 'environmentTable');
    const liveEnvironment = `SELECT id FROM ${env} WHERE api_key = $1 AND deleted_at IS NULL`;
    const liveRow = 'e.id = c.environment_id AND e.api_key = $1 AND c.deleted_at IS NULL AND e.deleted_at IS NULL';
    // pg_notify in the statement that writes: it is sent when that write commits, and only then.
    const notifying = (write: string, columns: string): string => `WITH written AS (${write}) SELECT ${columns}, pg_notify($2, $1) FROM written`;
    this.#sql = {
      get: `SELECT c.api_key, c.base_url FROM ${cfg} c JOIN ${env} e ON e.id = c.environment_id WHERE ${liveRow} LIMIT 1`,
      // One row per live environment: its live settings' columns, or nulls when it has none.
      list: `SELECT c.id, c.api_key, c.base_url FROM ${env} e LEFT JOIN ${cfg} c ON c.environment_id = e.id AND c.deleted_at IS NULL WHERE e.api_key = $1 AND e.deleted_at IS NULL LIMIT 1`,
      // One statement, so two concurrent saves cannot both insert: the UNIQUE environment_id
      // turns the second into a conflict, which revives only a soft-deleted row. A revive keeps
      // the old base_url when none is given ($6), as Flagsmith's create does.
      save: notifying(
        `INSERT INTO ${cfg} AS c (uuid, environment_id, api_key, base_url, deleted_at) ` +
          `SELECT $3::uuid, e.id, $4, $5, NULL FROM (${liveEnvironment}) e ` +
          'ON CONFLICT (environment_id) DO UPDATE SET api_key = EXCLUDED.api_key, ' +
          'base_url = CASE WHEN $6::boolean THEN EXCLUDED.base_url ELSE c.base_url END, deleted_at = NULL ' +
          'WHERE c.deleted_at IS NOT NULL RETURNING c.id, c.uuid::text AS uuid, c.api_key, c.base_url',
        'id, uuid, api_key, base_url',
      ),
      liveEnvironmentExists: `SELECT EXISTS (${liveEnvironment}) AS found`,
      update: notifying(
        `UPDATE ${cfg} c SET api_key = $3, base_url = $4 FROM ${env} e WHERE ${liveRow} RETURNING c.id, c.api_key, c.base_url`,
        'id, api_key, base_url',
      ),
      remove: notifying(`UPDATE ${cfg} c SET deleted_at = now() FROM ${env} e WHERE ${liveRow} RETURNING c.id`, 'id'),
    };
  }

  /** The live settings of the environment with this client-side key, or null. One query. */
  async get(environmentKey: string): Promise<RudderStackSettings | null> {
    const rows = await this.#query('reading RudderStack settings', this.#sql.get, [environmentKey]);
    const row = rows[0] as { api_key: string; base_url: string | null } | undefined;
    return row ? { api_key: row.api_key, base_url: row.base_url } : null;
  }

  /**
   * The live settings of the environment, with their id: `[]` when it has none, null when no
   * live environment has this key. One query.
   */
  async list(environmentKey: string): Promise<SettingsRecord[] | null> {
    const rows = await this.#query('listing RudderStack settings', this.#sql.list, [environmentKey]);
    const row = rows[0] as { id: number | null; api_key: string; base_url: string | null } | undefined;
    if (!row) return null;
    return row.id === null ? [] : [toRecord(row as SettingsRecord)];
  }

  /**
   * Creates the environment's settings as Flagsmith's POST does: validates them first (throws
   * SettingsError, writing nothing), revives a soft-deleted row rather than adding a second
   * (keeping its base_url when `settings` has none), and refuses when live settings exist
   * ('already_exists': use `update`).
   */
  async save(environmentKey: string, settings: RudderStackSettings): Promise<SaveResult> {
    validateSettings(settings, { allowPrivateNetworks: this.#allowPrivateNetworks });
    const uuid = crypto.randomUUID();
    const rows = await this.#query('saving RudderStack settings', this.#sql.save, [
      environmentKey,
      this.#channel,
      uuid,
      settings.api_key,
      settings.base_url ?? null,
      settings.base_url !== undefined,
    ]);
    const row = rows[0] as (SettingsRecord & { uuid: string }) | undefined;
    if (!row) throw await this.#whyNothingSaved(environmentKey);
    this.#invalidate(environmentKey);
    return { ...toRecord(row), revived: row.uuid !== uuid };
  }

  /** Replaces live settings as Flagsmith's PUT does (an absent base_url becomes null): validates first; 'not_found' when there are none. */
  async update(environmentKey: string, settings: RudderStackSettings): Promise<SettingsRecord> {
    validateSettings(settings, { allowPrivateNetworks: this.#allowPrivateNetworks });
    const rows = await this.#query('updating RudderStack settings', this.#sql.update, [
      environmentKey,
      this.#channel,
      settings.api_key,
      settings.base_url ?? null,
    ]);
    const row = rows[0] as SettingsRecord | undefined;
    if (!row) throw notFound();
    this.#invalidate(environmentKey);
    return toRecord(row);
  }

  /** Soft-deletes live settings (`deleted_at = now()`), as Flagsmith's DELETE does; 'not_found' when there are none. */
  async remove(environmentKey: string): Promise<void> {
    const rows = await this.#query('removing RudderStack settings', this.#sql.remove, [environmentKey, this.#channel]);
    if (rows.length === 0) throw notFound();
    this.#invalidate(environmentKey);
  }

  /**
   * LISTENs on the channel, so that a change any replica makes through `save`, `update` or
   * `remove` drops that environment's cached settings here within moments (and a NOTIFY with no
   * payload drops them all). With a pg Pool, one of its connections is held for this and opened
   * again, with backoff, whenever it is lost; every cached setting is dropped once it is back.
   * With PGlite, its `listen`. Rejects when the first LISTEN fails; resolves with the function
   * that stops listening (and releases the connection).
   */
  async subscribe(integration: { invalidate(environmentKey?: string): void }): Promise<() => Promise<void>> {
    if (typeof integration?.invalidate !== 'function') throw new TypeError('subscribe needs the integration whose cached settings it drops');
    const sink = { changed: (environmentKey?: string) => integration.invalidate(environmentKey) };
    // Loaded by the first subscribe: a process that only reads settings does not pay for it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { listenWithPglite, SettingsListener } = require('./settings-listener') as typeof import('./settings-listener');
    const client = this.#client as SqlClient & Partial<PgliteListen> & { connect?: () => Promise<ListenConnection> };
    if (!this.#listenConnection && typeof client.listen === 'function') return listenWithPglite(client as PgliteListen, this.#channel, sink);
    const connect = this.#listenConnection ?? (isPool(client) ? () => (client.connect as () => Promise<ListenConnection>)() : undefined);
    if (!connect) {
      throw new TypeError(
        'subscribe needs a pg Pool (it holds one of its connections for LISTEN), PGlite, or the listenConnection option: ' +
          'a single pg Client, once lost, could not be connected again',
      );
    }
    const listener = new SettingsListener(connect, this.#channel, sink, guardLogger(this.#logger));
    try {
      await listener.start();
    } catch (error) {
      throw queryFailed('listening for RudderStack settings changes', error, []);
    }
    return () => listener.stop();
  }

  /** Nothing was inserted or revived: either no such live environment, or live settings exist. */
  async #whyNothingSaved(environmentKey: string): Promise<PostgresConfigSourceError> {
    const rows = await this.#query('saving RudderStack settings', this.#sql.liveEnvironmentExists, [environmentKey]);
    const found = (rows[0] as { found: boolean } | undefined)?.found === true;
    return found
      ? new PostgresConfigSourceError('already_exists', 'RudderStack settings already exist for this environment; update them instead of saving new ones')
      : new PostgresConfigSourceError('unknown_environment', 'no environment has this environment key (or it was deleted)');
  }

  async #query(doing: string, text: string, values: unknown[]): Promise<unknown[]> {
    let result: { rows: unknown[] };
    try {
      result = await this.#client.query(text, values);
    } catch (error) {
      throw queryFailed(doing, error, values);
    }
    if (!Array.isArray(result?.rows)) {
      throw new PostgresConfigSourceError('query_failed', `${doing} failed: the client's query() gave no rows array`);
    }
    return result.rows;
  }

  #invalidate(environmentKey: string): void {
    this.#integration?.invalidate(environmentKey);
  }
}

/** The columns a record has, and no others (a row may carry more, such as uuid). */
function toRecord(row: SettingsRecord): SettingsRecord {
  return { id: row.id, api_key: row.api_key, base_url: row.base_url };
}

/** A pg Pool, by what only a Pool has: its connection counts beside `connect()`. */
function isPool(client: object): boolean {
  return typeof (client as { connect?: unknown }).connect === 'function' && 'totalCount' in client && 'idleCount' in client;
}

function checkedChannel(channel: string): string {
  if (typeof channel !== 'string' || !isSqlIdentifier(channel)) {
    throw new TypeError('channel must be a letter or underscore then up to 62 letters, digits, underscores or dollar signs');
  }
  return channel;
}

function notFound(): PostgresConfigSourceError {
  return new PostgresConfigSourceError('not_found', 'no live RudderStack settings for this environment');
}

/** A failed statement, with the driver's message redacted (see sql.ts). */
function queryFailed(doing: string, error: unknown, values: unknown[]): PostgresConfigSourceError {
  const { detail, code } = driverError(error, values);
  return new PostgresConfigSourceError('query_failed', `${doing} failed: ${detail}`, code);
}
