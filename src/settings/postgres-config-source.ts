/**
 * Settings from a Flagsmith database: the table Flagsmith's own RudderStack integration keeps,
 * `rudderstack_rudderstackconfiguration`, joined to `environments_environment`, through the
 * host's own PostgreSQL client (pg Pool or Client, PGlite, anything with `query(text, values)`).
 *
 * Lookups are one parameterised query. A database that is down or slow does not reach the hook:
 * the integration's settings cache times lookups out and keeps serving the last good settings
 * for a bounded grace period (see settings-cache.ts).
 */
import { driverError, quoteTableName, type SqlClient } from '../sql';
import type { ConfigSource, RudderStackSettings } from '../types';
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

/** What `save` did: inserted a new row, or switched a soft-deleted one back on (same id and uuid). */
export interface SaveResult {
  /** The row's id. */
  id: number;
  /** True when a soft-deleted row was switched back on. */
  revived: boolean;
}

export class PostgresConfigSource implements ConfigSource {
  readonly #client: SqlClient;
  readonly #integration: PostgresConfigSourceOptions['integration'];
  readonly #allowPrivateNetworks: boolean;
  readonly #sql: {
    get: string;
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
    const cfg = quoteTableName(options.configurationTable ?? 'rudderstack_rudderstackconfiguration', 'configurationTable');
    const env = quoteTableName(options.environmentTable ?? 'environments_environment', 'environmentTable');
    const liveEnvironment = `SELECT id FROM ${env} WHERE api_key = $1 AND deleted_at IS NULL`;
    this.#sql = {
      get:
        `SELECT c.api_key, c.base_url FROM ${cfg} c JOIN ${env} e ON e.id = c.environment_id ` +
        'WHERE e.api_key = $1 AND c.deleted_at IS NULL AND e.deleted_at IS NULL LIMIT 1',
      // One statement, so two concurrent saves cannot both insert: the UNIQUE environment_id
      // turns the second into a conflict, which revives only a soft-deleted row.
      save:
        `INSERT INTO ${cfg} AS c (uuid, environment_id, api_key, base_url, deleted_at) ` +
        `SELECT $2::uuid, e.id, $3, $4, NULL FROM (${liveEnvironment}) e ` +
        'ON CONFLICT (environment_id) DO UPDATE SET api_key = EXCLUDED.api_key, base_url = EXCLUDED.base_url, deleted_at = NULL ' +
        'WHERE c.deleted_at IS NOT NULL RETURNING c.id, c.uuid::text AS uuid',
      liveEnvironmentExists: `SELECT EXISTS (${liveEnvironment}) AS found`,
      update:
        `UPDATE ${cfg} c SET api_key = $2, base_url = $3 FROM ${env} e ` +
        'WHERE e.id = c.environment_id AND e.api_key = $1 AND c.deleted_at IS NULL AND e.deleted_at IS NULL RETURNING c.id',
      remove:
        `UPDATE ${cfg} c SET deleted_at = now() FROM ${env} e ` +
        'WHERE e.id = c.environment_id AND e.api_key = $1 AND c.deleted_at IS NULL AND e.deleted_at IS NULL RETURNING c.id',
    };
  }

  /** The live settings of the environment with this client-side key, or null. One query. */
  async get(environmentKey: string): Promise<RudderStackSettings | null> {
    const rows = await this.#query('reading RudderStack settings', this.#sql.get, [environmentKey]);
    const row = rows[0] as { api_key: string; base_url: string | null } | undefined;
    return row ? { api_key: row.api_key, base_url: row.base_url } : null;
  }

  /**
   * Creates the environment's settings as Flagsmith's POST does: validates them first (throws
   * SettingsError, writing nothing), revives a soft-deleted row rather than adding a second,
   * and refuses when live settings exist ('already_exists': use `update`).
   */
  async save(environmentKey: string, settings: RudderStackSettings): Promise<SaveResult> {
    validateSettings(settings, { allowPrivateNetworks: this.#allowPrivateNetworks });
    const uuid = crypto.randomUUID();
    const rows = await this.#query('saving RudderStack settings', this.#sql.save, [environmentKey, uuid, settings.api_key, settings.base_url ?? null]);
    const row = rows[0] as { id: number; uuid: string } | undefined;
    if (!row) throw await this.#whyNothingSaved(environmentKey);
    this.#invalidate(environmentKey);
    return { id: row.id, revived: row.uuid !== uuid };
  }

  /** Changes live settings as Flagsmith's PUT does: validates first; 'not_found' when there are none. */
  async update(environmentKey: string, settings: RudderStackSettings): Promise<void> {
    validateSettings(settings, { allowPrivateNetworks: this.#allowPrivateNetworks });
    const rows = await this.#query('updating RudderStack settings', this.#sql.update, [environmentKey, settings.api_key, settings.base_url ?? null]);
    if (rows.length === 0) throw notFound();
    this.#invalidate(environmentKey);
  }

  /** Soft-deletes live settings (`deleted_at = now()`), as Flagsmith's DELETE does; 'not_found' when there are none. */
  async remove(environmentKey: string): Promise<void> {
    const rows = await this.#query('removing RudderStack settings', this.#sql.remove, [environmentKey]);
    if (rows.length === 0) throw notFound();
    this.#invalidate(environmentKey);
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
      const { detail, code } = driverError(error, values);
      throw new PostgresConfigSourceError('query_failed', `${doing} failed: ${detail}`, code);
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

function notFound(): PostgresConfigSourceError {
  return new PostgresConfigSourceError('not_found', 'no live RudderStack settings for this environment');
}
