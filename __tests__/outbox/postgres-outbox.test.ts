/**
 * The outbox table itself, on the real PostgreSQL (CI) or PGlite (elsewhere; the helper says
 * which): its SQL, claims and leases, the limits, and what `status()` reports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutboxError, PostgresOutbox } from '../../src/outbox/postgres-outbox';
import { outboxStatements, type OutboxEntry } from '../../src/outbox/statements';
import { openTestDatabase, type TestDatabase } from '../helpers/postgres';

let db: TestDatabase;
let tableNumber = 0;

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(() => db.close());

async function freshOutbox(options: ConstructorParameters<typeof PostgresOutbox>[1] = {}): Promise<{ outbox: PostgresOutbox; table: string }> {
  const table = `box_${++tableNumber}`;
  const outbox = new PostgresOutbox(db.client, { table, ...options });
  await outbox.migrate();
  return { outbox, table };
}

function entries(environmentKey: string, count: number, mine = false): OutboxEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    environmentKey,
    json: Buffer.from(JSON.stringify({ type: 'identify', userId: `${environmentKey}-${i}`, traits: { quote: '"\n' } })),
    acceptedAtMs: Date.now(),
    mine,
  }));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PostgresOutbox (on the PostgreSQL or PGlite the notice above names)', () => {
  it('ships its table as fixtures/sql/outbox.sql: the same statements migrate() runs', () => {
    const shipped = readFileSync(join(__dirname, '../../fixtures/sql/outbox.sql'), 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('--'))
      .join('\n')
      .trim();
    expect(shipped).toBe(outboxStatements('"flagsmith_rudderstack_outbox"', 'flagsmith_rudderstack_outbox').migrate);
  });

  it('migrates idempotently, also when several replicas start at once', async () => {
    const table = `box_${++tableNumber}`;
    const replicas = Array.from({ length: 4 }, () => new PostgresOutbox(db.client, { table }));
    await Promise.all(replicas.map((outbox) => outbox.migrate()));
    await replicas[0]!.migrate();
    expect(await replicas[1]!.status()).toEqual({ pending: 0, oldestAgeMs: null, environments: [] });
  });

  it('stores each event exactly as given, in order, and reads it back through a claim', async () => {
    const { outbox } = await freshOutbox();
    const written = entries('env-a', 5);
    const ids = await outbox.insert(written, 'replica-1');
    expect(ids).toHaveLength(5);
    expect([...ids].sort((a, b) => Number(a) - Number(b))).toEqual(ids);
    const claimed = await outbox.claim('env-a', 'replica-1', 10);
    expect(claimed.map((row) => row.event)).toEqual(written.map((entry) => entry.json.toString()));
    expect(claimed.map((row) => row.id)).toEqual(ids);
  });

  // node-postgres gets the events as bytes; any other client (PGlite among them) as text.
  it.each([
    ['as bytes, to a client with connect() (node-postgres)', true, 'object'],
    ['as text, to any other client', false, 'string'],
  ])('keeps each row of a mixed group apart, the events passed %s: its own environment, event, accepted time and claim', async (_, hasConnect, eventsType) => {
    const table = `box_${++tableNumber}`;
    const passed: unknown[] = [];
    const client = {
      query: (text: string, values: unknown[]) => {
        if (text.includes('INSERT INTO')) passed.push(values[1]);
        return db.client.query(text, values);
      },
      ...(hasConnect ? { connect: () => Promise.reject(new Error('the outbox never connects')) } : {}),
    };
    const outbox = new PostgresOutbox(client, { table });
    await outbox.migrate();
    // Keys and events that an array literal would have to quote, and text beyond ASCII.
    const keys = ['env-a', 'env,"b"', 'env{c}\\', 'env-ü'];
    const written: OutboxEntry[] = Array.from({ length: 12 }, (_, i) => ({
      environmentKey: keys[i % keys.length]!,
      json: Buffer.from(JSON.stringify({ userId: `user-${i}`, traits: { text: `ünïcode, "quoted", {braced} \\ ${i}`, emoji: '🚩' } })),
      acceptedAtMs: 1_700_000_000_000 + i * 1_001,
      mine: i % 3 === 0,
    }));
    const ids = await outbox.insert(written, 'replica-1');
    expect(passed.map((value) => typeof value)).toEqual([eventsType]);
    expect(Buffer.isBuffer(passed[0])).toBe(hasConnect);
    const { rows } = await db.client.query(
      `SELECT id::text AS row_id, environment_key, event, (extract(epoch FROM accepted_at) * 1000)::float8 AS accepted_ms, claimed_by, attempts FROM ${table} ORDER BY id`,
      [],
    );
    expect(rows).toEqual(
      written.map((entry, i) => ({
        row_id: ids[i],
        environment_key: entry.environmentKey,
        event: entry.json.toString(),
        accepted_ms: entry.acceptedAtMs,
        claimed_by: entry.mine ? 'replica-1' : null,
        attempts: entry.mine ? 1 : 0,
      })),
    );
  });

  it('never gives the same row to two replicas: concurrent claims split the rows between them', async () => {
    const { outbox } = await freshOutbox();
    await outbox.insert(entries('env-a', 500), 'writer');
    const claims = await Promise.all(Array.from({ length: 5 }, (_, i) => outbox.claim('env-a', `replica-${i}`, 150)));
    const all = claims.flat().map((row) => row.id);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(500);
  });

  it("gives a replica's rows to another once its lease has run out, not before", async () => {
    const { outbox } = await freshOutbox({ leaseMs: 1_000 });
    await outbox.insert(entries('env-a', 10), 'writer');
    expect(await outbox.claim('env-a', 'replica-1', 100)).toHaveLength(10);
    expect(await outbox.claim('env-a', 'replica-2', 100)).toHaveLength(0);
    await sleep(1_100);
    const retaken = await outbox.claim('env-a', 'replica-2', 100);
    expect(retaken).toHaveLength(10);
    expect(retaken.every((row) => row.attempts === 2)).toBe(true);
  });

  it('keeps a lease while it is renewed', async () => {
    const { outbox } = await freshOutbox({ leaseMs: 1_000 });
    await outbox.insert(entries('env-a', 3), 'writer');
    const ids = (await outbox.claim('env-a', 'replica-1', 10)).map((row) => row.id);
    for (let i = 0; i < 4; i++) {
      await sleep(500);
      await outbox.renew(ids, 'replica-1');
    }
    expect(await outbox.claim('env-a', 'replica-2', 10)).toHaveLength(0);
  });

  it('claims rows written as its own at once only after their lease, and a released row after its delay', async () => {
    const { outbox } = await freshOutbox({ leaseMs: 60_000 });
    const ids = await outbox.insert(entries('env-a', 4, true), 'replica-1');
    expect(await outbox.claim('env-a', 'replica-2', 10)).toHaveLength(0);
    await outbox.release(ids.slice(0, 2), 'replica-1', 0);
    await outbox.release(ids.slice(2), 'replica-1', 300);
    expect((await outbox.claim('env-a', 'replica-2', 10)).map((row) => row.id)).toEqual(ids.slice(0, 2));
    await sleep(400);
    expect((await outbox.claim('env-a', 'replica-2', 10)).map((row) => row.id)).toEqual(ids.slice(2));
  });

  it('does not release or renew rows another replica holds now', async () => {
    const { outbox } = await freshOutbox({ leaseMs: 60_000 });
    await outbox.insert(entries('env-a', 2), 'writer');
    const ids = (await outbox.claim('env-a', 'replica-1', 10)).map((row) => row.id);
    await outbox.release(ids, 'replica-2', 0);
    expect(await outbox.claim('env-a', 'replica-3', 10)).toHaveLength(0);
  });

  it('trims to exactly maxRows when two replicas trim at once, and leaves rows being sent to their sender', async () => {
    const { outbox, table } = await freshOutbox({ maxRows: 1_000 });
    await outbox.insert(entries('env-a', 1_500), 'writer');
    const held = await outbox.claim('env-a', 'replica-1', 10);
    const other = new PostgresOutbox(db.client, { table, maxRows: 1_000 });
    const deleted = await Promise.all([outbox.trim(10_000), other.trim(10_000)]);
    // The ten oldest are being sent by replica-1: they stay, so ten fewer go.
    expect(deleted[0]! + deleted[1]!).toBe(490);
    expect((await outbox.status()).pending).toBe(1_010);
    expect(held).toHaveLength(10);
  });

  it('lists the environments with rows and when each is due', async () => {
    const { outbox } = await freshOutbox({ leaseMs: 60_000 });
    await outbox.insert(entries('env-b', 2), 'writer');
    await outbox.insert(entries('env-a', 2, true), 'replica-1');
    const due = await outbox.dueEnvironments();
    expect(due.map((row) => row.environmentKey)).toEqual(['env-a', 'env-b']);
    expect(due[0]!.dueInMs).toBeGreaterThan(50_000);
    expect(due[1]!.dueInMs).toBeLessThanOrEqual(0);
  });

  it('drops rows older than maxAgeMs, and the oldest beyond maxRows, a batch at a time', async () => {
    const { outbox } = await freshOutbox({ maxAgeMs: 60_000, maxRows: 5 });
    await outbox.insert(
      entries('env-a', 3).map((entry) => ({ ...entry, acceptedAtMs: Date.now() - 120_000 })),
      'writer',
    );
    await outbox.insert(entries('env-b', 8), 'writer');
    expect(await outbox.expire(2)).toBe(2);
    expect(await outbox.expire(10)).toBe(1);
    expect(await outbox.trim(10)).toBe(3);
    expect(await outbox.trim(10)).toBe(0);
    const status = await outbox.status();
    expect(status.pending).toBe(5);
    expect(status.environments.map((environment) => environment.environmentKey)).toEqual(['env-b']);
  });

  it('reports what waits, in all and per environment', async () => {
    const { outbox } = await freshOutbox();
    await outbox.insert(
      entries('env-a', 2).map((entry) => ({ ...entry, acceptedAtMs: Date.now() - 5_000 })),
      'writer',
    );
    await outbox.insert(entries('env-b', 3), 'writer');
    const status = await outbox.status();
    expect(status.pending).toBe(5);
    expect(status.oldestAgeMs).toBeGreaterThanOrEqual(4_900);
    expect(status.environments).toEqual([
      { environmentKey: 'env-a', pending: 2, oldestAgeMs: expect.any(Number) },
      { environmentKey: 'env-b', pending: 3, oldestAgeMs: expect.any(Number) },
    ]);
  });

  it("claims through its index: the claim reads one environment's due rows, not the table", async () => {
    const { outbox, table } = await freshOutbox();
    for (let i = 0; i < 10; i++) await outbox.insert(entries(`env-${i}`, 500), 'writer');
    await db.client.query(`ANALYZE ${table}`, []);
    const { rows } = await db.client.query(
      `EXPLAIN SELECT id FROM ${table} WHERE environment_key = 'env-3' AND available_at <= now() ORDER BY available_at LIMIT 1000 FOR UPDATE SKIP LOCKED`,
      [],
    );
    const plan = rows.map((row) => Object.values(row as object)[0]).join('\n');
    expect(plan).toMatch(new RegExp(`Index Scan (using|on) ${table}_claim`));
    expect(plan).not.toMatch(/Seq Scan/);
  });

  it('vacuums its table itself (autovacuum is off in PGlite, and on some servers), leaving no dead rows behind', async () => {
    const { outbox, table } = await freshOutbox();
    const ids = await outbox.insert(entries('env-a', 2_000), 'writer');
    await outbox.remove(ids);
    await outbox.vacuum();
    if (db.kind !== 'postgresql') return;
    // The server's statistics are published shortly after each transaction, not at once.
    const vacuumed = async () => {
      const { rows } = await db.client.query('SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables WHERE relname = $1 AND schemaname = $2', [
        table,
        db.schema,
      ]);
      return rows[0] as { n_dead_tup: string; vacuum_count: string } | undefined;
    };
    let stats = await vacuumed();
    for (let i = 0; i < 30 && stats?.vacuum_count !== '1'; i++) {
      await sleep(100);
      stats = await vacuumed();
    }
    expect(stats).toEqual({ n_dead_tup: '0', vacuum_count: '1' });
  });

  it('refuses a table name that is not a plain identifier, and options that are not positive numbers', () => {
    expect(() => new PostgresOutbox(db.client, { table: 'x; DROP TABLE y' })).toThrow(/schema\.table/);
    expect(() => new PostgresOutbox(db.client, { leaseMs: 0 })).toThrow(/leaseMs must be a positive number/);
    expect(() => new PostgresOutbox(db.client, { leaseMs: 500 })).toThrow(/leaseMs must be at least 1000/);
    expect(() => new PostgresOutbox(db.client, { table: `t${'x'.repeat(48)}` })).toThrow(/at most 48 characters/);
    expect(() => new PostgresOutbox({} as never)).toThrow(/query\(text, values\)/);
  });

  it('says what to do when the table is missing, and never quotes the values it was given', async () => {
    const outbox = new PostgresOutbox(db.client, { table: `missing_${++tableNumber}` });
    const error = await outbox.insert(entries('env-secret-value', 1), 'writer').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OutboxError);
    expect((error as OutboxError).code).toBe('42P01');
    expect((error as OutboxError).message).toMatch(/outbox\.migrate\(\)/);
    expect((error as OutboxError).message).not.toContain('env-secret-value');
  });
});
