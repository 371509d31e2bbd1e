import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { PostgresConfigSource, PostgresConfigSourceError } from '../../src/settings/postgres-config-source';
import type { SqlClient } from '../../src/sql';
import { SettingsError } from '../../src/settings/validate';
import type { RudderStackSettings } from '../../src/types';
import { captureLogger, closeHarnesses, createIntegration, identityContext, onCleanup, startDataPlane, waitFor } from '../helpers/harness';
import { openTestDatabase, type TestDatabase } from '../helpers/postgres';

const TABLES_SQL = readFileSync(join(__dirname, '../../fixtures/sql/flagsmith-rudderstack-tables.sql'), 'utf8');
const RENAMED = { configuration: 'rs_settings', environment: 'envs' };
const ACME: RudderStackSettings = { api_key: 'wk_acme_0123456789', base_url: 'https://acme.dataplane.rudderstack.com' };

let db: TestDatabase;

beforeAll(async () => {
  db = await openTestDatabase();
  await db.exec(TABLES_SQL);
  await db.exec(
    TABLES_SQL.replaceAll('rudderstack_rudderstackconfiguration', RENAMED.configuration).replaceAll('environments_environment', RENAMED.environment),
  );
});

afterEach(closeHarnesses);

afterAll(async () => {
  await db?.close();
});

interface Tables {
  configuration: string;
  environment: string;
}
const DEFAULT_TABLES: Tables = { configuration: 'rudderstack_rudderstackconfiguration', environment: 'environments_environment' };

/** A fresh environment with a random client-side key, so tests share no rows. */
async function addEnvironment(options: { deleted?: boolean; tables?: Tables } = {}): Promise<{ id: number; key: string }> {
  const key = `env_${randomBytes(8).toString('hex')}`;
  const table = (options.tables ?? DEFAULT_TABLES).environment;
  const { rows } = await db.client.query(`INSERT INTO ${table} (name, api_key, project_id, deleted_at) VALUES ($1, $2, 1, $3) RETURNING id`, [
    'Production',
    key,
    options.deleted ? new Date() : null,
  ]);
  return { id: (rows[0] as { id: number }).id, key };
}

async function addSettings(environmentId: number, settings: RudderStackSettings, options: { deleted?: boolean; tables?: Tables } = {}): Promise<void> {
  const table = (options.tables ?? DEFAULT_TABLES).configuration;
  await db.client.query(`INSERT INTO ${table} (uuid, environment_id, api_key, base_url, deleted_at) VALUES ($1, $2, $3, $4, $5)`, [
    randomUUID(),
    environmentId,
    settings.api_key,
    settings.base_url ?? null,
    options.deleted ? new Date() : null,
  ]);
}

interface SettingsRow {
  id: number;
  uuid: string;
  api_key: string;
  base_url: string | null;
  deleted: boolean;
}

async function rowsOf(environmentId: number, tables: Tables = DEFAULT_TABLES): Promise<SettingsRow[]> {
  const { rows } = await db.client.query(
    `SELECT id, uuid::text AS uuid, api_key, base_url, deleted_at IS NOT NULL AS deleted FROM ${tables.configuration} ` +
      'WHERE environment_id = $1 ORDER BY id',
    [environmentId],
  );
  return rows as SettingsRow[];
}

/** The test database's client, recording every statement sent through it. */
function countingClient(): { client: SqlClient; calls: Array<{ text: string; values: unknown[] }> } {
  const calls: Array<{ text: string; values: unknown[] }> = [];
  return {
    calls,
    client: {
      query: (text, values) => {
        calls.push({ text, values });
        return db.client.query(text, values);
      },
    },
  };
}

/** A pg Pool to a closed loopback port: every query is refused. */
function unreachablePool(): Pool {
  const pool = new Pool({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'test', connectionTimeoutMillis: 2_000 });
  onCleanup(() => pool.end());
  return pool;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('get', () => {
  it('returns the settings of an environment with a live row', async () => {
    const environment = await addEnvironment();
    await addSettings(environment.id, ACME);
    expect(await new PostgresConfigSource(db.client).get(environment.key)).toEqual(ACME);
  });

  it('returns a null base_url as stored', async () => {
    const environment = await addEnvironment();
    await addSettings(environment.id, { api_key: ACME.api_key, base_url: null });
    expect(await new PostgresConfigSource(db.client).get(environment.key)).toEqual({ api_key: ACME.api_key, base_url: null });
  });

  it('returns null when the row is soft-deleted', async () => {
    const environment = await addEnvironment();
    await addSettings(environment.id, ACME, { deleted: true });
    expect(await new PostgresConfigSource(db.client).get(environment.key)).toBeNull();
  });

  it('returns null when the environment is soft-deleted', async () => {
    const environment = await addEnvironment({ deleted: true });
    await addSettings(environment.id, ACME);
    expect(await new PostgresConfigSource(db.client).get(environment.key)).toBeNull();
  });

  it('returns null for an unknown key, including one written as SQL', async () => {
    const environment = await addEnvironment();
    await addSettings(environment.id, ACME);
    const source = new PostgresConfigSource(db.client);
    expect(await source.get('env_unknown')).toBeNull();
    expect(await source.get("' OR '1'='1")).toBeNull();
  });

  it('sends one parameterised query per lookup', async () => {
    const environment = await addEnvironment();
    await addSettings(environment.id, ACME);
    const { client, calls } = countingClient();
    const source = new PostgresConfigSource(client);
    await source.get(environment.key);
    await source.get('env_unknown');
    expect(calls).toHaveLength(2);
    expect(calls.map((call) => call.values)).toEqual([[environment.key], ['env_unknown']]);
    expect(calls[0].text).not.toContain(environment.key);
  });

  it('rejects with a PostgresConfigSourceError that names no value it was given', async () => {
    const environment = await addEnvironment();
    const echoing: SqlClient = {
      query: (_text, values) => Promise.reject(Object.assign(new Error(`refused ${values.join(' ')}`), { code: '57P01' })),
    };
    const error = await rejectionOf(new PostgresConfigSource(echoing).get(environment.key));
    expect(error).toBeInstanceOf(PostgresConfigSourceError);
    expect(error).toMatchObject({ reason: 'query_failed', code: '57P01' });
    expect((error as Error).message).toMatch(/^reading RudderStack settings failed: refused/);
    expect((error as Error).message).not.toContain(environment.key);
  });

  it('rejects when the database cannot be reached', async () => {
    const error = await rejectionOf(new PostgresConfigSource(unreachablePool()).get('env_a'));
    expect(error).toMatchObject({ name: 'PostgresConfigSourceError', reason: 'query_failed' });
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});

describe('save', () => {
  it('validates first: SettingsError, and nothing sent to the database', async () => {
    const environment = await addEnvironment();
    const { client, calls } = countingClient();
    const source = new PostgresConfigSource(client);
    const error = await rejectionOf(source.save(environment.key, { api_key: '  ', base_url: 'ftp://example.com' }));
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).errors).toHaveLength(2);
    expect(calls).toHaveLength(0);
    expect(await rowsOf(environment.id)).toEqual([]);
  });

  it('refuses a data plane on an internal address unless allowPrivateNetworks', async () => {
    const environment = await addEnvironment();
    const local = { api_key: ACME.api_key, base_url: 'http://127.0.0.1:8080' };
    await expect(new PostgresConfigSource(db.client).save(environment.key, local)).rejects.toBeInstanceOf(SettingsError);
    await new PostgresConfigSource(db.client, { allowPrivateNetworks: true }).save(environment.key, local);
    expect(await rowsOf(environment.id)).toMatchObject([{ base_url: local.base_url, deleted: false }]);
  });

  it('inserts a live row with a new uuid', async () => {
    const environment = await addEnvironment();
    const source = new PostgresConfigSource(db.client);
    const result = await source.save(environment.key, ACME);
    const rows = await rowsOf(environment.id);
    expect(rows).toEqual([{ id: result.id, uuid: expect.stringMatching(/^[0-9a-f-]{36}$/), api_key: ACME.api_key, base_url: ACME.base_url, deleted: false }]);
    expect(result.revived).toBe(false);
    expect(await source.get(environment.key)).toEqual(ACME);
  });

  it('stores an absent base_url as null', async () => {
    const environment = await addEnvironment();
    await new PostgresConfigSource(db.client).save(environment.key, { api_key: ACME.api_key });
    expect(await rowsOf(environment.id)).toMatchObject([{ base_url: null }]);
  });

  it('revives a soft-deleted row: same id and uuid, new settings, still one row', async () => {
    const environment = await addEnvironment();
    await addSettings(environment.id, { api_key: 'wk_old', base_url: null }, { deleted: true });
    const [before] = await rowsOf(environment.id);
    const result = await new PostgresConfigSource(db.client).save(environment.key, ACME);
    expect(result).toEqual({ id: before.id, revived: true });
    expect(await rowsOf(environment.id)).toEqual([{ id: before.id, uuid: before.uuid, api_key: ACME.api_key, base_url: ACME.base_url, deleted: false }]);
  });

  it('refuses a second live row and leaves the first as it was', async () => {
    const environment = await addEnvironment();
    const source = new PostgresConfigSource(db.client);
    await source.save(environment.key, ACME);
    const error = await rejectionOf(source.save(environment.key, { api_key: 'wk_other_key' }));
    expect(error).toMatchObject({ name: 'PostgresConfigSourceError', reason: 'already_exists' });
    expect((error as Error).message).toMatch(/already exist.*update them/);
    expect((error as Error).message).not.toContain('wk_other_key');
    expect(await rowsOf(environment.id)).toMatchObject([{ api_key: ACME.api_key, base_url: ACME.base_url, deleted: false }]);
  });

  it('lets exactly one of two concurrent saves create the row', async () => {
    const environment = await addEnvironment();
    const source = new PostgresConfigSource(db.client);
    const outcomes = await Promise.allSettled([source.save(environment.key, ACME), source.save(environment.key, { api_key: 'wk_second_0123' })]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason)).toEqual([
      expect.objectContaining({ reason: 'already_exists' }),
    ]);
    expect(await rowsOf(environment.id)).toHaveLength(1);
  });

  it('refuses an unknown or soft-deleted environment', async () => {
    const deleted = await addEnvironment({ deleted: true });
    const source = new PostgresConfigSource(db.client);
    for (const key of ['env_unknown', deleted.key]) {
      const error = await rejectionOf(source.save(key, ACME));
      expect(error).toMatchObject({ name: 'PostgresConfigSourceError', reason: 'unknown_environment' });
      expect((error as Error).message).toBe('no environment has this environment key (or it was deleted)');
    }
    expect(await rowsOf(deleted.id)).toEqual([]);
  });

  it('names no value it was given when the database refuses the write', async () => {
    const environment = await addEnvironment();
    const echoing: SqlClient = { query: (_text, values) => Promise.reject(new Error(`refused ${values.join(' ')}`)) };
    const error = await rejectionOf(new PostgresConfigSource(echoing).save(environment.key, ACME));
    expect(error).toMatchObject({ reason: 'query_failed' });
    expect((error as Error).message).not.toContain(ACME.api_key);
    expect((error as Error).message).not.toContain(ACME.base_url);
  });
});

describe('update', () => {
  it('changes the live row', async () => {
    const environment = await addEnvironment();
    const source = new PostgresConfigSource(db.client);
    const { id } = await source.save(environment.key, ACME);
    await source.update(environment.key, { api_key: 'wk_rotated_0123', base_url: null });
    expect(await rowsOf(environment.id)).toMatchObject([{ id, api_key: 'wk_rotated_0123', base_url: null, deleted: false }]);
  });

  it('validates first, and refuses when there is no live row', async () => {
    const environment = await addEnvironment();
    await addSettings(environment.id, ACME, { deleted: true });
    const source = new PostgresConfigSource(db.client);
    await expect(source.update(environment.key, { api_key: '' })).rejects.toBeInstanceOf(SettingsError);
    await expect(source.update(environment.key, ACME)).rejects.toMatchObject({ reason: 'not_found' });
    expect(await rowsOf(environment.id)).toMatchObject([{ deleted: true }]);
  });
});

describe('remove', () => {
  it('soft-deletes the live row, which save then revives', async () => {
    const environment = await addEnvironment();
    const source = new PostgresConfigSource(db.client);
    const { id } = await source.save(environment.key, ACME);
    await source.remove(environment.key);
    expect(await rowsOf(environment.id)).toMatchObject([{ id, deleted: true }]);
    expect(await source.get(environment.key)).toBeNull();
    await expect(source.remove(environment.key)).rejects.toMatchObject({ reason: 'not_found' });
    expect(await source.save(environment.key, ACME)).toEqual({ id, revived: true });
  });
});

describe('invalidating the integration', () => {
  it('calls invalidate with the environment key after each successful write, and only then', async () => {
    const environment = await addEnvironment();
    const integration = { invalidate: jest.fn() };
    const source = new PostgresConfigSource(db.client, { integration });
    await source.save(environment.key, ACME);
    await source.update(environment.key, { api_key: 'wk_rotated_0123' });
    await source.remove(environment.key);
    expect(integration.invalidate.mock.calls).toEqual([[environment.key], [environment.key], [environment.key]]);
    await rejectionOf(source.remove(environment.key));
    await rejectionOf(source.save(environment.key, { api_key: '' }));
    await rejectionOf(source.save('env_unknown', ACME));
    expect(integration.invalidate).toHaveBeenCalledTimes(3);
  });
});

describe('renamed tables', () => {
  const renamed = (): Tables => ({
    configuration: `${db.schema}.${RENAMED.configuration}`,
    environment: `${db.schema}.${RENAMED.environment}`,
  });

  it('reads and writes the tables it is given, schema-qualified', async () => {
    const tables = renamed();
    const environment = await addEnvironment({ tables });
    const source = new PostgresConfigSource(db.client, { configurationTable: tables.configuration, environmentTable: tables.environment });
    expect(await source.get(environment.key)).toBeNull();
    await source.save(environment.key, ACME);
    expect(await source.get(environment.key)).toEqual(ACME);
    expect(await new PostgresConfigSource(db.client).get(environment.key)).toBeNull();
    await source.remove(environment.key);
    expect(await rowsOf(environment.id, tables)).toMatchObject([{ deleted: true }]);
  });

  it.each(['', 'a.b.c', 'settings; DROP TABLE envs', 'x"y', '1table', 'schema.', 'a'.repeat(64)])('refuses %j as a table name before any query', (name) => {
    const { client, calls } = countingClient();
    expect(() => new PostgresConfigSource(client, { configurationTable: name })).toThrow(TypeError);
    expect(() => new PostgresConfigSource(client, { environmentTable: name })).toThrow(/environmentTable must be/);
    expect(calls).toHaveLength(0);
  });
});

describe('through a RudderStackIntegration', () => {
  const writeKey = 'wk_from_the_database_0123';

  /** An environment whose settings in the database point at a local data plane. */
  async function environmentSendingTo(dataPlaneUrl: string): Promise<string> {
    const environment = await addEnvironment();
    await new PostgresConfigSource(db.client, { allowPrivateNetworks: true }).save(environment.key, {
      api_key: writeKey,
      base_url: dataPlaneUrl,
    });
    return environment.key;
  }

  it('delivers with the settings from the database, and stops once they are removed', async () => {
    const dataPlane = await startDataPlane({ writeKeys: [writeKey] });
    const environmentKey = await environmentSendingTo(dataPlane.url);
    // The source is built before the integration it invalidates: tell it through a holder.
    const holder: { integration?: { invalidate(key: string): void } } = {};
    const source = new PostgresConfigSource(db.client, {
      integration: { invalidate: (key) => holder.integration?.invalidate(key) },
    });
    const integration = createIntegration({ config: source, flushIntervalMs: 20 });
    holder.integration = integration;

    integration.postIdentityFetch(identityContext(environmentKey, 'user_1'));
    const [event] = await dataPlane.waitForEvents(1);
    expect(event).toMatchObject({ type: 'identify', userId: 'user_1', traits: { checkout_v2: 'blue' } });
    expect(dataPlane.batches.map((batch) => batch.writeKey)).toEqual([writeKey]);

    await source.remove(environmentKey);
    integration.postIdentityFetch(identityContext(environmentKey, 'user_2'));
    await waitFor(() => integration.stats().skipped === 1, 'the hook call after remove to be skipped');
    await integration.flush();
    expect(dataPlane.events).toHaveLength(1);
  });

  it('keeps using the last good settings while the database is unreachable, and counts the failures', async () => {
    const dataPlane = await startDataPlane({ writeKeys: [writeKey] });
    const environmentKey = await environmentSendingTo(dataPlane.url);
    const unreachable = unreachablePool();
    let database: SqlClient = db.client;
    const source = new PostgresConfigSource({ query: (text, values) => database.query(text, values) });
    const logger = captureLogger();
    const integration = createIntegration({ config: source, flushIntervalMs: 20, configTtlMs: 50, logger });

    integration.postIdentityFetch(identityContext(environmentKey, 'user_1'));
    await dataPlane.waitForEvents(1);
    database = unreachable;
    // Past the TTL, so the next call finds its settings expired and looks them up again.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(() => integration.postIdentityFetch(identityContext(environmentKey, 'user_2'))).not.toThrow();
    await waitFor(() => integration.stats().configErrors >= 1, 'a failed settings lookup');
    expect(() => integration.postIdentityFetch(identityContext(environmentKey, 'user_3'))).not.toThrow();
    await integration.flush();

    const stats = integration.stats();
    expect(stats).toMatchObject({ received: 3, delivered: 3, skipped: 0 });
    expect(stats.dropped.config_error).toBe(0);
    expect(dataPlane.events.map((event) => event.userId)).toEqual(['user_1', 'user_2', 'user_3']);
    expect(new Set(dataPlane.batches.map((batch) => batch.writeKey))).toEqual(new Set([writeKey]));
    expect(logger.text()).toContain(`RudderStack settings lookup failed for environment ${environmentKey}: reading RudderStack settings failed`);
    expect(logger.text()).not.toContain(writeKey);
  });

  it('drops as config_error, without throwing, when the database is unreachable from the start', async () => {
    const source = new PostgresConfigSource(unreachablePool());
    const integration = createIntegration({ config: source, flushIntervalMs: 20 });
    expect(() => integration.postIdentityFetch(identityContext('env_a', 'user_1'))).not.toThrow();
    await integration.flush();
    expect(integration.stats()).toMatchObject({ received: 1, delivered: 0, configErrors: 1 });
    expect(integration.stats().dropped.config_error).toBe(1);
  });
});
