/**
 * A PostgreSQL for tests: the real server at DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test), in a schema of its own that is dropped afterwards.
 * In CI the server is required; elsewhere, when none answers, PGlite (a real PostgreSQL built
 * to WebAssembly) runs in a worker thread instead. Either way it says which one it used.
 * Suites whose child processes share the database need the server (PGlite lives in one
 * process): `describeWithPostgresServer` skips them, with a notice, outside CI when none answers.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Client, Pool } from 'pg';
import type { SqlClient } from '../../src/sql';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  kind: 'postgresql' | 'pglite';
  /** Queries run with the test schema first on the search path. */
  client: SqlClient;
  /** The schema this run created; unqualified table names land in it. */
  schema: string;
  /** Runs a script of several statements. */
  exec(script: string): Promise<void>;
  /** Drops the schema and closes every connection. */
  close(): Promise<void>;
}

export function databaseUrl(): string {
  return process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

/** CI runners set CI=true; "false" or "0" is someone switching it off. */
export function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

function newSchemaName(): string {
  return `fr_test_${randomBytes(6).toString('hex')}`;
}

export async function openTestDatabase(): Promise<TestDatabase> {
  const schema = newSchemaName();
  const url = databaseUrl();
  const unreachable = await probe(url);
  if (unreachable === null) return openServer(url, schema);
  if (isCi()) {
    throw new Error(
      `PostgreSQL tests: CI requires a PostgreSQL server at ${redact(url)} (set DATABASE_URL to change it), ` + `but connecting failed: ${unreachable}`,
    );
  }
  console.info(
    `PostgreSQL tests: no PostgreSQL server at ${redact(url)} (${unreachable}); using PGlite, an in-process ` +
      'PostgreSQL, instead. CI runs them against the server.',
  );
  return openPglite(schema);
}

/**
 * `describe` when the PostgreSQL server answers; in CI a failure when it does not; elsewhere
 * `describe.skip`, with a notice. Synchronous (a child process), so that a test file can choose
 * when it is loaded.
 */
export function describeWithPostgresServer(suite: string): jest.Describe {
  const url = databaseUrl();
  const script = `
    const { Client } = require('pg');
    const client = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    client.connect().then(() => client.query('SELECT 1')).then(
      () => client.end(),
      (error) => { process.stdout.write(String((error && error.message) || error)); process.exitCode = 1; return client.end().catch(() => undefined); },
    );`;
  let unreachable: string | null = null;
  try {
    execFileSync(process.execPath, ['-e', script, url], { cwd: __dirname, timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    // Not the error's message: it quotes the command line, URL (and any password) included.
    unreachable = (error as { stdout?: Buffer }).stdout?.toString().trim() || 'no answer within 5 s';
  }
  if (unreachable === null) return describe;
  if (isCi())
    throw new Error(`${suite}: CI requires a PostgreSQL server at ${redact(url)} (set DATABASE_URL to change it), but connecting failed: ${unreachable}`);
  console.info(
    `${suite} SKIPPED: no PostgreSQL server at ${redact(url)} (${unreachable}), and PGlite cannot be shared between processes. ` +
      'CI runs it; start PostgreSQL or set DATABASE_URL.',
  );
  return describe.skip;
}

/** A schema of its own on the PostgreSQL server (never PGlite): for suites that share it with child processes. */
export async function openServerDatabase(): Promise<TestDatabase> {
  return openServer(databaseUrl(), newSchemaName());
}

/** Null when the server answers, else why not. */
async function probe(url: string): Promise<string | null> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  // A connection dropped after connect would otherwise be an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function openServer(url: string, schema: string): Promise<TestDatabase> {
  console.info(`PostgreSQL tests: using the PostgreSQL server at ${redact(url)}, schema ${schema}`);
  const admin = new Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const pool = new Pool({ connectionString: url, options: `-c search_path=${schema}` });
  return {
    kind: 'postgresql',
    client: pool,
    schema,
    exec: async (script) => {
      await pool.query(script);
    },
    close: async () => {
      try {
        await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}

interface WorkerReply {
  id: number;
  rows?: unknown[];
  error?: { message: string; code?: string };
}

async function openPglite(schema: string): Promise<TestDatabase> {
  const worker = new Worker(join(__dirname, 'pglite-worker.js'));
  const pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  worker.on('message', (reply: WorkerReply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error) waiter?.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    else waiter?.resolve(reply.rows ?? []);
  });
  worker.on('error', (error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });
  const send = (op: 'query' | 'exec' | 'close', text = '', values: unknown[] = []): Promise<unknown[]> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, text, values });
    });
  // One session: SET applies to every later statement.
  await send('exec', `CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
  return {
    kind: 'pglite',
    client: { query: async (text, values) => ({ rows: await send('query', text, values) }) },
    schema,
    exec: async (script) => {
      await send('exec', script);
    },
    close: async () => {
      try {
        await send('close');
      } finally {
        await worker.terminate();
      }
    },
  };
}

/** Host and database only: a DATABASE_URL may hold a password. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return '(DATABASE_URL, not a URL)';
  }
}
