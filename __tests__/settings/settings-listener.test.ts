/**
 * PostgresConfigSource's NOTIFY on every write and subscribe()'s LISTEN, on the real PostgreSQL
 * (CI) or PGlite (elsewhere, said by openTestDatabase): payloads, invalidation, a listening
 * backend terminated under it, stopping.
 */
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { PostgresConfigSource, PostgresConfigSourceError } from '../../src/settings/postgres-config-source';
import type { ListenConnection } from '../../src/settings/settings-listener';
import { captureLogger, waitFor } from '../helpers/harness';
import { databaseUrl } from '../helpers/postgres';
import { overhear, useDatabase } from '../settings-api/support';

const WRITE_KEY = 'wk_listener_secret_0123456789';
const SETTINGS = { api_key: WRITE_KEY, base_url: 'https://acme.dataplane.rudderstack.com' };

const database = useDatabase();
const stops: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

function channelName(): string {
  return `fr_test_${randomBytes(6).toString('hex')}`;
}

async function addEnvironment(): Promise<string> {
  const key = `env_${randomBytes(8).toString('hex')}`;
  await database().client.query('INSERT INTO environments_environment (name, api_key, project_id) VALUES ($1, $2, 1)', ['Production', key]);
  return key;
}

/** An integration stand-in that records what it was told to drop. */
function invalidations(): { invalidate: jest.Mock<void, [string?]>; keys: () => Array<string | undefined> } {
  const invalidate = jest.fn<void, [string?]>();
  return { invalidate, keys: () => invalidate.mock.calls.map((call) => call[0]) };
}

async function subscribed(source: PostgresConfigSource, integration: { invalidate(key?: string): void }): Promise<() => Promise<void>> {
  const stop = await source.subscribe(integration);
  stops.push(stop);
  return stop;
}

const onPostgresql = (): boolean => {
  if (database().kind === 'postgresql') return true;
  console.info('PGlite is one in-process session: there is no listening backend to terminate; the PostgreSQL run covers it.');
  return false;
};

describe('NOTIFY on every write', () => {
  it('sends the environment key, and nothing else, for save, update and remove; nothing for a refused write', async () => {
    const channel = channelName();
    const payloads = await overhear(database(), channel);
    const environmentKey = await addEnvironment();
    const source = new PostgresConfigSource(database().client, { channel });
    await source.save(environmentKey, SETTINGS);
    await source.update(environmentKey, { ...SETTINGS, base_url: null });
    await source.remove(environmentKey);
    await expect(source.remove(environmentKey)).rejects.toMatchObject({ reason: 'not_found' });
    await expect(source.save('env_unknown', SETTINGS)).rejects.toMatchObject({ reason: 'unknown_environment' });
    await waitFor(() => payloads.length >= 3, 'three notifications');
    // A marker write after the refused ones: once it is heard, anything they sent would have been too.
    await source.save(environmentKey, SETTINGS);
    await waitFor(() => payloads.length >= 4, 'the marker notification');
    expect(payloads).toEqual([environmentKey, environmentKey, environmentKey, environmentKey]);
    expect(payloads.join('')).not.toContain(WRITE_KEY);
  });

  it('refuses a channel that is not a plain identifier', () => {
    for (const channel of ['', 'a b', 'x"; DROP TABLE t; --', '1abc', 'a'.repeat(64)]) {
      expect(() => new PostgresConfigSource(database().client, { channel })).toThrow(/channel must be/);
    }
  });
});

describe('subscribe', () => {
  it('drops the environment that changed through another connection (another replica), and all of it on an empty NOTIFY', async () => {
    const channel = channelName();
    const environmentKey = await addEnvironment();
    const here = invalidations();
    await subscribed(new PostgresConfigSource(database().client, { channel }), here);
    const elsewhere = new PostgresConfigSource(database().connect(), { channel });
    await elsewhere.save(environmentKey, SETTINGS);
    await waitFor(() => here.keys().length === 1, 'the save to be heard');
    await database().client.query(`NOTIFY "${channel}"`, []);
    await waitFor(() => here.keys().length === 2, 'the empty NOTIFY to be heard');
    expect(here.keys()).toEqual([environmentKey, undefined]);
  });

  it('stops: no invalidation after the stop function resolves, and the held connection is closed', async () => {
    const channel = channelName();
    const environmentKey = await addEnvironment();
    const here = invalidations();
    const source = new PostgresConfigSource(database().client, { channel });
    const stop = await subscribed(source, here);
    await stop();
    await stop();
    if (database().kind === 'postgresql') {
      const { rows } = await database().client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1', [`LISTEN "${channel}"`]);
      expect(rows).toEqual([{ n: 0 }]);
    }
    const marker = await overhear(database(), channel);
    await source.save(environmentKey, SETTINGS);
    await waitFor(() => marker.length === 1, 'the marker listener to hear the save');
    expect(here.invalidate).not.toHaveBeenCalled();
  });

  it('survives pg_terminate_backend of the listening backend: logs, reconnects, drops everything once back, then hears changes again', async () => {
    if (!onPostgresql()) return;
    const channel = channelName();
    const environmentKey = await addEnvironment();
    const logger = captureLogger();
    const here = invalidations();
    const pool = database().client as Pool;
    await subscribed(new PostgresConfigSource(pool, { channel, logger }), here);
    const { rows } = await pool.query('SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE query = $1', [`LISTEN "${channel}"`]);
    expect(rows).toEqual([{ done: true }]);

    await waitFor(() => here.keys().includes(undefined), 'the listener to be back and drop every cached setting');
    expect(logger.text()).toMatch(new RegExp(`settings change listener on channel "${channel}" lost its connection \\(.*\\); reconnecting in \\d+ ms`));
    expect(logger.text()).toContain(`settings change listener on channel "${channel}" is listening again`);
    await new PostgresConfigSource(database().connect(), { channel }).save(environmentKey, SETTINGS);
    await waitFor(() => here.keys().includes(environmentKey), 'a change after the reconnect to be heard');
    expect(logger.text()).not.toContain(WRITE_KEY);
  });

  it('with listenConnection, a new pg Client each time: also survives a terminated backend', async () => {
    if (!onPostgresql()) return;
    const channel = channelName();
    const environmentKey = await addEnvironment();
    const opened: Client[] = [];
    const listenConnection = async (): Promise<ListenConnection> => {
      const client = new Client({ connectionString: databaseUrl() });
      opened.push(client);
      await client.connect();
      return client;
    };
    const here = invalidations();
    await subscribed(new PostgresConfigSource(database().client, { channel, listenConnection, logger: captureLogger() }), here);
    await (database().client as Pool).query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1', [`LISTEN "${channel}"`]);
    await waitFor(() => opened.length === 2 && here.keys().includes(undefined), 'a second Client to listen');
    await new PostgresConfigSource(database().client, { channel }).save(environmentKey, SETTINGS);
    await waitFor(() => here.keys().includes(environmentKey), 'the save to be heard on the second Client');
  });

  it('rejects, naming no value, when the first LISTEN cannot be made', async () => {
    const pool = new Pool({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'test', connectionTimeoutMillis: 2_000 });
    stops.push(() => pool.end());
    const error = await new PostgresConfigSource(pool).subscribe(invalidations()).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(PostgresConfigSourceError);
    expect(error).toMatchObject({
      reason: 'query_failed',
      message: expect.stringMatching(/^listening for RudderStack settings changes failed: .*ECONNREFUSED/),
    });
  });

  it('refuses a client it could not listen through, and an integration without invalidate', async () => {
    const plain = { query: (text: string, values: unknown[]) => database().client.query(text, values) };
    await expect(new PostgresConfigSource(plain).subscribe(invalidations())).rejects.toThrow(
      /subscribe needs a pg Pool .* PGlite, or the listenConnection option/,
    );
    await expect(new PostgresConfigSource(database().client).subscribe({} as never)).rejects.toThrow(TypeError);
  });
});
