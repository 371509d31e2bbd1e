/**
 * The durable outbox end to end: the real integration, the local data plane on 127.0.0.1, and
 * the outbox table on the real PostgreSQL (CI) or PGlite (elsewhere; the helper says which).
 */
import { Pool } from 'pg';
import { PostgresOutbox } from '../../src/outbox/postgres-outbox';
import type { ConfigSource, IntegrationStats, RudderStackSettings } from '../../src/types';
import { accountedFor, copiesByMessageId } from '../faults/support';
import { captureLogger, closeHarnesses, createIntegration, identityContext, startDataPlane, startLoopbackServer, waitFor } from '../helpers/harness';
import { databaseUrl, openTestDatabase, type TestDatabase } from '../helpers/postgres';

const WRITE_KEY = 'wk_DURABLE_s3cr3t_8c1f2e';
const ROTATED_KEY = 'wk_ROTATED_s3cr3t_41d9aa';

let db: TestDatabase;
let tableNumber = 0;

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(() => db.close());
afterEach(closeHarnesses);

/** A fresh outbox table for each test: tests share one schema. */
async function freshOutbox(options: ConstructorParameters<typeof PostgresOutbox>[1] = {}): Promise<PostgresOutbox> {
  const outbox = new PostgresOutbox(db.client, { table: `outbox_${++tableNumber}`, ...options });
  await outbox.migrate();
  return outbox;
}

async function rowsOf(outbox: PostgresOutbox): Promise<number> {
  return (await outbox.status()).pending;
}

/** Delivered rows are deleted just after they settle: polls until the table has none left. */
async function expectEmptied(outbox: PostgresOutbox): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await rowsOf(outbox)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(await rowsOf(outbox)).toBe(0);
}

/** A data plane that refuses everything with 503 while `down` is set. */
async function switchableDataPlane(options: { writeKeys?: string[] } = {}) {
  const state = { down: false };
  const dataPlane = await startDataPlane({ ...options, randomFailures: { rate: 1, status: 503, random: () => (state.down ? 0 : 1) } });
  return { dataPlane, state };
}

function expectAccounted(stats: IntegrationStats): void {
  expect(accountedFor(stats)).toBe(stats.received);
}

function durableIntegration(outbox: PostgresOutbox, config: ConfigSource | Record<string, RudderStackSettings>, options: object = {}) {
  return createIntegration({ config, durable: outbox, flushIntervalMs: 20, retryBaseDelayMs: 10, retryMaxDelayMs: 50, ...options });
}

describe('durable delivery (on the PostgreSQL or PGlite the notice above names)', () => {
  it('writes every event to the outbox, sends it from there and deletes its row once delivered', async () => {
    const dataPlane = await startDataPlane();
    const outbox = await freshOutbox();
    const integration = durableIntegration(outbox, { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } });

    for (let i = 0; i < 250; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.whenDurable();
    expect(integration.stats().persisted).toBe(250);
    await integration.flush();

    expect(new Set(dataPlane.events.map((event) => event.userId)).size).toBe(250);
    await expectEmptied(outbox);
    const stats = integration.stats();
    expect(stats).toMatchObject({ received: 250, persisted: 250, delivered: 250, parked: 0, queued: 0, inFlight: 0 });
    expectAccounted(stats);
  });

  it('keeps to maxConcurrentRequests when events trickle in: each group commit joins the one destination, not a forgotten copy of it', async () => {
    const dataPlane = await startDataPlane();
    dataPlane.fail(Array.from({ length: 20 }, () => ({ action: 'hang' as const })));
    const outbox = await freshOutbox();
    const integration = durableIntegration(outbox, { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } }, { maxConcurrentRequests: 2 });
    // One commit per event, each later than flushIntervalMs: every event is a batch of its own.
    for (let i = 0; i < 8; i++) {
      integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
      await integration.whenDurable();
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await waitFor(() => dataPlane.requests.length >= 2, 'both request slots to be taken');
    expect(integration.stats()).toMatchObject({ persisted: 8, inFlight: 2, queued: 6 });
    expect(dataPlane.requests).toHaveLength(2);
  });

  it('keeps events in the table through an outage longer than the retry budget, and delivers them when it ends', async () => {
    const { dataPlane, state } = await switchableDataPlane();
    const outbox = await freshOutbox();
    const integration = durableIntegration(outbox, { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } }, { maxRetryDurationMs: 50, maxRetries: 1 });
    state.down = true;
    for (let i = 0; i < 40; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.whenDurable();
    // Several tries while it is down, each beyond what the memory path would have allowed.
    await waitFor(() => integration.stats().parked >= 80, 'the rows to be tried and handed back twice');
    expect(await rowsOf(outbox)).toBe(40);
    expect(dataPlane.events).toHaveLength(0);

    state.down = false;
    await waitFor(() => integration.stats().delivered >= 40, 'the backlog to be delivered after the outage');
    await integration.flush();
    await waitFor(() => copiesByMessageId(dataPlane.events).size === 40, 'every event');
    expect(Object.values(integration.stats().dropped).every((count) => count === 0)).toBe(true);
    await expectEmptied(outbox);
    expectAccounted(integration.stats());
  });

  it('leaves what close() could not deliver in the outbox, counted as parked, and a new process delivers it without being asked', async () => {
    const { dataPlane, state } = await switchableDataPlane();
    const outbox = await freshOutbox();
    const config = { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } };
    const first = durableIntegration(outbox, config);
    state.down = true;
    for (let i = 0; i < 30; i++) first.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await first.whenDurable();
    await first.close({ timeoutMs: 200 });
    const closed = first.stats();
    expect(Object.values(closed.dropped).every((count) => count === 0)).toBe(true);
    expect(closed.persisted).toBe(30);
    expectAccounted(closed);
    expect(await rowsOf(outbox)).toBe(30);

    state.down = false;
    const second = durableIntegration(outbox, config);
    await waitFor(() => second.stats().delivered === 30, 'the next process to deliver the backlog by itself');
    expect(copiesByMessageId(dataPlane.events).size).toBe(30);
    await expectEmptied(outbox);
  });

  it('sends the backlog with the settings of the moment: a rotated write key applies to rows written before it', async () => {
    const { dataPlane, state } = await switchableDataPlane({ writeKeys: [WRITE_KEY, ROTATED_KEY] });
    const outbox = await freshOutbox();
    const settings: Record<string, RudderStackSettings> = { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } };
    const config: ConfigSource = { get: (key) => settings[key] ?? null };
    const integration = durableIntegration(outbox, config);
    state.down = true;
    for (let i = 0; i < 10; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.whenDurable();
    await waitFor(() => integration.stats().parked >= 10, 'the rows to wait in the outbox');

    settings['env-a'] = { api_key: ROTATED_KEY, base_url: dataPlane.url };
    integration.invalidate('env-a');
    state.down = false;
    await waitFor(() => integration.stats().delivered === 10, 'the backlog');
    expect(new Set(dataPlane.batches.map((batch) => batch.writeKey))).toEqual(new Set([ROTATED_KEY]));
  });

  it("drops a removed integration's rows, counted as skipped", async () => {
    const { dataPlane, state } = await switchableDataPlane();
    const outbox = await freshOutbox();
    const settings: Record<string, RudderStackSettings> = { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } };
    const integration = durableIntegration(outbox, { get: (key) => settings[key] ?? null });
    state.down = true;
    for (let i = 0; i < 12; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.whenDurable();
    await waitFor(() => integration.stats().parked >= 12, 'the rows to wait in the outbox');

    delete settings['env-a'];
    integration.invalidate('env-a');
    await waitFor(() => integration.stats().skipped === 12, 'the rows to be dropped as skipped');
    await expectEmptied(outbox);
    expect(dataPlane.events).toHaveLength(0);
    expectAccounted(integration.stats());
  });

  it('holds no write key and no data plane URL in any row', async () => {
    const { dataPlane, state } = await switchableDataPlane();
    const outbox = await freshOutbox();
    const integration = durableIntegration(outbox, { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } });
    state.down = true;
    for (let i = 0; i < 20; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.whenDurable();
    const { rows } = await db.client.query(`SELECT * FROM outbox_${tableNumber}`, []);
    expect(rows).toHaveLength(20);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(WRITE_KEY);
    expect(text).not.toContain(dataPlane.url);
    expect(text).toContain('user-0');
  });

  it('falls back to memory while the table is missing, says how to fix it, and writes to the outbox again once it exists', async () => {
    const dataPlane = await startDataPlane();
    const outbox = new PostgresOutbox(db.client, { table: `outbox_${++tableNumber}` });
    const logger = captureLogger();
    const integration = durableIntegration(outbox, { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } }, { logger });
    for (let i = 0; i < 5; i++) integration.postIdentityFetch(identityContext('env-a', `before-${i}`));
    await integration.flush();
    expect(integration.stats()).toMatchObject({ delivered: 5, persisted: 0 });
    expect(logger.warnings().some((line) => /outbox.migrate\(\)/.test(line))).toBe(true);

    await outbox.migrate();
    // The writer tries again after its back-off.
    await waitFor(
      () => {
        integration.postIdentityFetch(identityContext('env-a', `after-${Math.random()}`));
        return integration.stats().persisted > 0;
      },
      'writing to the outbox to resume',
      15_000,
    );
    await integration.flush();
    expectAccounted(integration.stats());
    expect(Object.values(integration.stats().dropped).every((count) => count === 0)).toBe(true);
  });

  it('keeps the rows of a destination paused on a 401 in the outbox, and sends them once its settings are fixed', async () => {
    const dataPlane = await startDataPlane({ writeKeys: [ROTATED_KEY] });
    const outbox = await freshOutbox();
    const settings: Record<string, RudderStackSettings> = { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } };
    const integration = durableIntegration(outbox, { get: (key) => settings[key] ?? null });
    for (let i = 0; i < 15; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.flush();
    expect(integration.stats()).toMatchObject({ delivered: 0, parked: 15 });
    expect(integration.stats().dropped.rejected).toBe(0);
    expect(await rowsOf(outbox)).toBe(15);

    settings['env-a'] = { api_key: ROTATED_KEY, base_url: dataPlane.url };
    integration.invalidate('env-a');
    await waitFor(() => integration.stats().delivered === 15, 'the paused backlog to go once the key is fixed');
    expect(copiesByMessageId(dataPlane.events).size).toBe(15);
  });

  it('falls back to memory while the database cannot be reached: nothing reaches the hook, nothing is lost', async () => {
    const dataPlane = await startDataPlane();
    const unreachable = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 500 });
    unreachable.on('error', () => undefined);
    const logger = captureLogger();
    const integration = durableIntegration(new PostgresOutbox(unreachable), { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } }, { logger });
    for (let i = 0; i < 20; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.whenDurable();
    await integration.flush();
    expect(integration.stats()).toMatchObject({ received: 20, delivered: 20, persisted: 0 });
    expect(logger.warnings().filter((line) => /could not write events to the durable outbox/.test(line))).toHaveLength(1);
    await integration.close();
    await unreachable.end();
  });

  it('falls back to memory when the database is too slow to answer within statementTimeoutMs', async () => {
    const dataPlane = await startDataPlane();
    const stalled = { query: () => new Promise<never>(() => undefined) };
    const integration = durableIntegration(new PostgresOutbox(stalled, { statementTimeoutMs: 100 }), {
      'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url },
    });
    for (let i = 0; i < 10; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.flush();
    expect(integration.stats()).toMatchObject({ delivered: 10, persisted: 0 });
    expectAccounted(integration.stats());
  });

  it('falls back to memory on a read-only database, and says to point the outbox at the primary', async () => {
    if (db.kind !== 'postgresql') {
      console.info('read-only database test skipped: it needs a PostgreSQL server session (CI runs it)');
      return;
    }
    const dataPlane = await startDataPlane();
    const outbox = await freshOutbox();
    const readOnly = new Pool({ connectionString: databaseUrl(), options: `-c search_path=${db.schema} -c default_transaction_read_only=on` });
    const logger = captureLogger();
    const integration = durableIntegration(
      new PostgresOutbox(readOnly, { table: `outbox_${tableNumber}` }),
      { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } },
      { logger },
    );
    for (let i = 0; i < 10; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.flush();
    expect(integration.stats()).toMatchObject({ delivered: 10, persisted: 0 });
    expect(logger.warnings().some((line) => /read-only: point the outbox at the primary/.test(line))).toBe(true);
    await expectEmptied(outbox);
    await integration.close();
    await readOnly.end();
  });

  it('never drops a new event for room that outbox rows take: rows held in memory keep to half of maxQueueSize', async () => {
    // A slow data plane: rows stay in requests for a while, and the hook keeps accepting.
    const received = new Set<string>();
    const url = await startLoopbackServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        for (const event of (JSON.parse(Buffer.concat(chunks).toString()) as { batch: Array<{ userId: string }> }).batch) received.add(event.userId);
        setTimeout(() => res.writeHead(200).end('OK'), 300);
      });
    });
    const outbox = await freshOutbox();
    const config = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`env-${i}`, { api_key: `${WRITE_KEY}_${i}`, base_url: url }]));
    const integration = durableIntegration(outbox, config, { maxQueueSize: 1_000, gzip: false, flushAt: 20 });
    // Calls at about 10 000 a second: far more than the slow data plane takes, well within what the table does.
    for (let i = 0; i < 2_000; i++) {
      integration.postIdentityFetch(identityContext(`env-${i % 6}`, `user-${i}`));
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await integration.whenDurable();
    await waitFor(() => received.size === 2_000, 'every event to arrive', 20_000);
    const stats = integration.stats();
    expect(stats.dropped.queue_full).toBe(0);
    expectAccounted(stats);
  });

  it('gives up at once on what gathered for a commit when the database hangs: close() is held up by one statement at most', async () => {
    let inserts = 0;
    const hanging = {
      query: (text: string) => {
        if (text.startsWith('INSERT')) inserts++;
        return new Promise<never>(() => undefined);
      },
    };
    const dataPlane = await startDataPlane();
    const integration = durableIntegration(new PostgresOutbox(hanging, { statementTimeoutMs: 1_000 }), {
      'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url },
    });
    for (let i = 0; i < 5_000; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.close({ timeoutMs: 300 });
    // Two commits in flight at most when the first timed out; the rest went the memory way or were abandoned.
    expect(inserts).toBeLessThanOrEqual(2);
    const stats = integration.stats();
    expect(stats.persisted).toBe(0);
    expectAccounted(stats);
  });
});
