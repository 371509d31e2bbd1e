/**
 * Two replicas of a host: two integrations, each with its own database connection, source and
 * subscription; the dashboard's calls go to replica A only. What replica B sends follows within
 * a second (configTtlMs is a minute, so only the NOTIFY can explain it), a listening backend
 * terminated in the middle included; and no write key shows up in a log line or a NOTIFY.
 * Database: the real PostgreSQL (CI) or PGlite (elsewhere; openTestDatabase says which).
 */
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { RudderStackIntegration } from '../../src/integration';
import { PostgresConfigSource } from '../../src/settings/postgres-config-source';
import { createSettingsHandler } from '../../src/settings-api/handler';
import { captureLogger, createIntegration, identityContext, onCleanup, startDataPlane, waitFor } from '../helpers/harness';
import { addEnvironment, call, OVERHEARING, overhear, serve, settingsPath, tokenAuthorize, useDatabase } from './support';

const FIRST_KEY = 'wk_first_replica_secret_0123';
const SECOND_KEY = 'wk_second_replica_secret_4567';
/** What the requirement allows a change to take on another replica. */
const WITHIN_MS = 1_000;

const database = useDatabase();

/** Calls B's hook until `condition` holds, at most WITHIN_MS: what B does with a change it did not make. */
async function untilReplicaFollows(replica: RudderStackIntegration, environmentKey: string, condition: () => boolean, what: string): Promise<void> {
  let calls = 0;
  const probe = setInterval(() => replica.postIdentityFetch(identityContext(environmentKey, `probe_${calls++}`)), 20);
  try {
    await waitFor(condition, what, WITHIN_MS);
  } finally {
    clearInterval(probe);
  }
}

it('a PUT through one replica changes what the other sends, a DELETE stops it, a revive keeps the id; a terminated listener is survived; no write key in logs or NOTIFY payloads', async () => {
  const environment = await addEnvironment(database());
  const channel = `fr_test_${randomBytes(6).toString('hex')}`;
  const payloads = await overhear(database(), channel);
  const first = await startDataPlane({ writeKeys: [FIRST_KEY] });
  const second = await startDataPlane({ writeKeys: [SECOND_KEY] });
  const loggers = [captureLogger(), captureLogger(), captureLogger(), captureLogger(), captureLogger()];

  // Replica A serves the dashboard; replica B only listens. A minute of TTL: only a NOTIFY explains a change within a second.
  const sourceA = new PostgresConfigSource(database().client, { channel, allowPrivateNetworks: true, logger: loggers[0] });
  const sourceB = new PostgresConfigSource(database().connect(), { channel, allowPrivateNetworks: true, logger: loggers[1] });
  const replicaA = createIntegration({ config: sourceA, configTtlMs: 60_000, flushIntervalMs: 20, logger: loggers[2] });
  const replicaB = createIntegration({ config: sourceB, configTtlMs: 60_000, flushIntervalMs: 20, logger: loggers[3] });
  onCleanup(await sourceA.subscribe(replicaA));
  onCleanup(await sourceB.subscribe(replicaB));
  const handler = createSettingsHandler({
    source: sourceA,
    authorize: tokenAuthorize(),
    integration: replicaA,
    allowPrivateNetworks: true,
    logger: loggers[4],
  });
  const { origin } = await serve('http', handler);
  const sentTo = (dataPlane: typeof first): string[] => dataPlane.events.map((event) => event.userId as string);

  // The dashboard switches it on; both replicas send to the first data plane.
  const created = await call(origin, 'POST', settingsPath(environment.key), { body: { api_key: FIRST_KEY, base_url: first.url } });
  expect(created.status).toBe(201);
  const { id } = JSON.parse(created.text) as { id: number };
  replicaA.postIdentityFetch(identityContext(environment.key, 'a_1'));
  replicaB.postIdentityFetch(identityContext(environment.key, 'b_1'));
  await waitFor(() => sentTo(first).includes('a_1') && sentTo(first).includes('b_1'), 'both replicas to send to the first data plane');

  // PUT through A: A uses it at once (the handler invalidated it), B within a second.
  const put = await call(origin, 'PUT', settingsPath(environment.key, id), { body: { id, api_key: SECOND_KEY, base_url: second.url } });
  expect(put.status).toBe(200);
  replicaA.postIdentityFetch(identityContext(environment.key, 'a_2'));
  await untilReplicaFollows(
    replicaB,
    environment.key,
    () => second.events.some((event) => String(event.userId).startsWith('probe_')),
    'B to send to the second data plane',
  );
  await waitFor(() => sentTo(second).includes('a_2'), 'A to send to the second data plane');

  // The listening backends are terminated (PostgreSQL: a database restart looks the same to them).
  if (database().kind === 'postgresql') {
    const { rows } = await (database().client as Pool).query(
      'SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE query = $1 AND application_name <> $2',
      [`LISTEN "${channel}"`, OVERHEARING],
    );
    expect(rows).toEqual([{ done: true }, { done: true }]);
  } else {
    console.info('PGlite is one in-process session: no listening backend to terminate; the PostgreSQL run covers it.');
  }

  // DELETE through A: within a second B skips, and what it is given after that reaches no data plane.
  expect((await call(origin, 'DELETE', settingsPath(environment.key, id))).status).toBe(204);
  const skippedBefore = replicaB.stats().skipped;
  await untilReplicaFollows(replicaB, environment.key, () => replicaB.stats().skipped > skippedBefore, 'B to stop sending');
  await replicaB.flush();
  const delivered = first.events.length + second.events.length;
  replicaB.postIdentityFetch(identityContext(environment.key, 'b_after_delete'));
  replicaA.postIdentityFetch(identityContext(environment.key, 'a_after_delete'));
  await Promise.all([replicaA.flush(), replicaB.flush()]);
  expect(first.events.length + second.events.length).toBe(delivered);
  expect(replicaA.stats().skipped).toBe(1);

  // The dashboard switches it on again: the same id, and B sends again within a second.
  const revived = await call(origin, 'POST', settingsPath(environment.key), { body: { api_key: SECOND_KEY, base_url: second.url } });
  expect(revived).toMatchObject({ status: 201, text: `{"id":${id},"base_url":"${second.url}","api_key":"${SECOND_KEY}"}` });
  const sentBefore = second.events.length;
  await untilReplicaFollows(replicaB, environment.key, () => second.events.length > sentBefore, 'B to send again after the revive');
  if (database().kind === 'postgresql') {
    expect(loggers[1].text()).toContain(`settings change listener on channel "${channel}" is listening again`);
  }

  // Secrets: the keys travelled only in the Authorization header of each batch.
  await waitFor(() => payloads.length >= 4, 'the four writes to be heard');
  expect(payloads).toEqual([environment.key, environment.key, environment.key, environment.key]);
  const said = [...loggers.map((logger) => logger.text()), ...payloads].join('\n');
  for (const secret of [FIRST_KEY, SECOND_KEY]) {
    expect(said).not.toContain(secret);
    expect(said).not.toContain(Buffer.from(`${secret}:`).toString('base64'));
  }
  expect(new Set([...first.batches, ...second.batches].map((batch) => batch.writeKey))).toEqual(new Set([FIRST_KEY, SECOND_KEY]));
});

it('a row changed by another program (Flagsmith’s Python API: no NOTIFY) takes effect within configTtlMs, as before', async () => {
  const environment = await addEnvironment(database());
  const first = await startDataPlane({ writeKeys: [FIRST_KEY] });
  const second = await startDataPlane({ writeKeys: [SECOND_KEY] });
  const source = new PostgresConfigSource(database().client, { allowPrivateNetworks: true });
  const replica = createIntegration({ config: source, configTtlMs: 200, flushIntervalMs: 20 });
  onCleanup(await source.subscribe(replica));
  await source.save(environment.key, { api_key: FIRST_KEY, base_url: first.url });
  replica.postIdentityFetch(identityContext(environment.key, 'before'));
  await waitFor(() => first.events.length === 1, 'the first data plane to get the first event');
  await database().client.query('UPDATE rudderstack_rudderstackconfiguration SET api_key = $1, base_url = $2 WHERE environment_id = $3', [
    SECOND_KEY,
    second.url,
    environment.id,
  ]);
  await untilReplicaFollows(replica, environment.key, () => second.events.length > 0, 'the replica to pick the row up once its TTL ran out');
});
