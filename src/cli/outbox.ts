/**
 * `flagsmith-rudderstack outbox status|migrate`: the durable outbox from a shell. The database is
 * a PostgreSQL URL (pg, an optional peer) or a PGlite data directory (the embedded default). The
 * URL may hold a password: it is never printed.
 */
import { OutboxError, PostgresOutbox, type OutboxStatus } from '../outbox/postgres-outbox';
import type { SqlClient } from '../sql';
import { CommandFailure, UsageError } from './usage';

export const DATABASE_URL_ENV = 'DATABASE_URL';

export interface OutboxCommandOptions {
  databaseUrl?: string;
  dataDir?: string;
  table?: string;
  json?: boolean;
}

/** A database opened for one command, and how to close it. */
interface OpenDatabase {
  client: SqlClient;
  close(): Promise<void>;
}

export async function outboxMigrate(options: OutboxCommandOptions): Promise<number> {
  return withOutbox(options, async (outbox, where) => {
    await outbox.migrate();
    process.stdout.write(`the outbox table is ready in ${where}\n`);
    return 0;
  });
}

export async function outboxStatus(options: OutboxCommandOptions): Promise<number> {
  return withOutbox(options, async (outbox) => {
    const status = await outbox.status();
    process.stdout.write(options.json ? `${JSON.stringify(status)}\n` : statusText(status));
    return 0;
  });
}

/** Pending events per environment and the oldest age, as a table. */
export function statusText(status: OutboxStatus): string {
  if (status.pending === 0) return 'the outbox is empty: every event has been delivered (or dropped and counted)\n';
  const rows = status.environments.map((environment) => [environment.environmentKey, String(environment.pending), age(environment.oldestAgeMs)]);
  const all = [['environment', 'pending', 'oldest'], ...rows, ['(all)', String(status.pending), age(status.oldestAgeMs ?? 0)]];
  const widths = all[0]!.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  return (
    all.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n') + '\n'
  );
}

function age(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

async function withOutbox(options: OutboxCommandOptions, work: (outbox: PostgresOutbox, where: string) => Promise<number>): Promise<number> {
  const databaseUrl = options.databaseUrl ?? process.env[DATABASE_URL_ENV];
  if ((databaseUrl === undefined || databaseUrl === '') === (options.dataDir === undefined)) {
    throw new UsageError(`name the database: --database-url postgres://... (or ${DATABASE_URL_ENV}), or --data-dir DIR for PGlite`);
  }
  const database = options.dataDir !== undefined ? await openPglite(options.dataDir) : openPostgres(databaseUrl!);
  const where = options.dataDir !== undefined ? `PGlite at ${options.dataDir}` : `PostgreSQL at ${shownUrl(databaseUrl!)}`;
  try {
    return await work(new PostgresOutbox(database.client, options.table === undefined ? {} : { table: options.table }), where);
  } catch (error) {
    if (error instanceof OutboxError) throw new CommandFailure(`${where}: ${error.message}`);
    throw error;
  } finally {
    await database.close();
  }
}

function openPostgres(url: string): OpenDatabase {
  let pg: typeof import('pg');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    pg = require('pg') as typeof import('pg');
  } catch {
    throw new CommandFailure('--database-url needs the pg package, which is not installed here: npm install pg');
  }
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 });
  // An idle connection that drops would otherwise be an unhandled 'error' event.
  pool.on('error', () => undefined);
  return { client: pool, close: () => pool.end() };
}

async function openPglite(dataDir: string): Promise<OpenDatabase> {
  let pglite: typeof import('@electric-sql/pglite');
  try {
    pglite = await import('@electric-sql/pglite');
  } catch {
    throw new CommandFailure('--data-dir needs the @electric-sql/pglite package, which is not installed here: npm install @electric-sql/pglite');
  }
  const db = await pglite.PGlite.create(dataDir);
  return { client: db, close: () => db.close() };
}

/** The URL without its password (and user), for messages. */
function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return '(the given URL)';
  }
}
