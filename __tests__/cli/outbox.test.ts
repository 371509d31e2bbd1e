/**
 * `flagsmith-rudderstack outbox status|migrate`, the built command in a child process, against
 * the real PostgreSQL (CI; a notice says when there is none elsewhere) and a PGlite data
 * directory (the embedded default) that several processes open in turn.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { PostgresOutbox } from '../../src/outbox/postgres-outbox';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { databaseUrl, isCi } from '../helpers/postgres';

jest.setTimeout(60_000);
beforeAll(requireBuiltCli);

const table = `cli_outbox_${process.pid}`;
const PASSWORD = 'pw_n0t_sh0wn_4a1f';

/** The test server's URL with a password added: the server trusts, so it is ignored, and it must never be printed. */
function urlWithPassword(): string {
  const url = new URL(databaseUrl());
  url.password = PASSWORD;
  return url.toString();
}

describe('outbox status and migrate on PostgreSQL', () => {
  let pool: Pool | undefined;

  beforeAll(async () => {
    const candidate = new Pool({ connectionString: databaseUrl(), connectionTimeoutMillis: 3_000 });
    try {
      await candidate.query('SELECT 1');
      pool = candidate;
    } catch (error) {
      await candidate.end();
      if (isCi()) throw error;
      console.info(`outbox command tests on PostgreSQL skipped: no server at ${new URL(databaseUrl()).host} (CI runs them)`);
    }
  });
  afterAll(async () => {
    await pool?.query(`DROP TABLE IF EXISTS ${table}`);
    await pool?.end();
  });

  it('creates the table, then shows pending events per environment; the password never shows', async () => {
    if (!pool) return;
    const migrated = await runCli(['outbox', 'migrate', '--database-url', urlWithPassword(), '--table', table]);
    expect(migrated).toMatchObject({ code: 0, stdout: expect.stringContaining('the outbox table is ready') });
    const outbox = new PostgresOutbox(pool, { table });
    const entry = (environmentKey: string) => ({ environmentKey, json: Buffer.from('{"type":"identify"}'), acceptedAtMs: Date.now() - 90_000, mine: false });
    await outbox.insert([entry('env-a'), entry('env-a'), entry('env-b')], 'test');

    const shown = await runCli(['outbox', 'status', '--table', table], { DATABASE_URL: urlWithPassword() });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/env-a\s+2\s+9[01] s/);
    expect(shown.stdout).toMatch(/env-b\s+1\s+9[01] s/);
    expect(shown.stdout).toMatch(/\(all\)\s+3/);

    const json = await runCli(['outbox', 'status', '--json', '--database-url', urlWithPassword(), '--table', table]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      pending: 3,
      environments: [
        { environmentKey: 'env-a', pending: 2 },
        { environmentKey: 'env-b', pending: 1 },
      ],
    });
    for (const result of [migrated, shown, json]) expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('says in one line how to make a missing table, and exits 1', async () => {
    if (!pool) return;
    const result = await runCli(['outbox', 'status', '--database-url', urlWithPassword(), '--table', `${table}_absent`]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/flagsmith-rudderstack outbox migrate/);
    expect(result.stderr).not.toContain(PASSWORD);
  });
});

describe('outbox on a PGlite data directory', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'outbox-pglite-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps rows across processes: one creates the table, another writes events, a third reports them', async () => {
    expect((await runCli(['outbox', 'migrate', '--data-dir', dataDir])).code).toBe(0);
    const writer = spawnSync(
      process.execPath,
      [
        '-e',
        `(async () => {
          const { PGlite } = require('@electric-sql/pglite');
          const { PostgresOutbox } = require(${JSON.stringify(resolve(__dirname, '../../dist'))});
          const db = await PGlite.create(${JSON.stringify(dataDir)});
          const outbox = new PostgresOutbox(db);
          await outbox.insert([{ environmentKey: 'env-local', json: Buffer.from('{}'), acceptedAtMs: Date.now(), mine: false }], 'writer');
          await db.close();
        })().catch((error) => { console.error(error); process.exit(1); });`,
      ],
      { encoding: 'utf8' },
    );
    expect(writer.stderr).toBe('');
    const status = await runCli(['outbox', 'status', '--json', '--data-dir', dataDir]);
    expect(JSON.parse(status.stdout)).toMatchObject({ pending: 1, environments: [{ environmentKey: 'env-local', pending: 1 }] });
  });

  it('asks for exactly one database', async () => {
    const result = await runCli(['outbox', 'status'], { DATABASE_URL: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--database-url .* or --data-dir DIR/);
  });
});
