/**
 * `npm run bench -- --durable` (bench/durable.js) runs end to end with a tiny workload against
 * the real PostgreSQL and Redis: every contender's run verifies, the crash harness counts what
 * SIGKILLs lose, and the chart is written. No timing is asserted. Needs dist/ (npm test builds it
 * first). CI requires both servers; elsewhere the suite is skipped, with a notice, without them.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { databaseUrl, isCi } from '../helpers/postgres';
import { redisUrl } from '../helpers/redis';

interface DurableOutcome {
  verified: boolean;
  results: Array<{ contender: string; verified: boolean; failure?: string; n: number; report?: { statements?: { total: number }; rowsLeft?: number } }>;
  crashes: Array<{ contender: string; kills: number; accepted: number; kept: number; lost: number; lostKept: number; failure?: string }>;
}

/** Null when PostgreSQL and Redis both answer, else why not. Synchronous, so the suite can pick describe or describe.skip. */
function unreachable(): string | null {
  const script = `
    const { Client } = require('pg');
    const Redis = require('ioredis');
    (async () => {
      const pg = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
      pg.on('error', () => undefined);
      await pg.connect().catch((e) => { throw new Error('PostgreSQL: ' + e.message); });
      await pg.end();
      const redis = new Redis(process.argv[2], { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => undefined);
      await redis.connect().then(() => redis.ping()).catch((e) => { throw new Error('Redis: ' + e.message); });
      redis.disconnect();
    })().catch((e) => { process.stdout.write(e.message); process.exitCode = 1; });`;
  try {
    execFileSync(process.execPath, ['-e', script, databaseUrl(), redisUrl()], { cwd: __dirname, timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return null;
  } catch (error) {
    return (error as { stdout?: Buffer }).stdout?.toString().trim() || String(error);
  }
}

function describeWithServers(): jest.Describe {
  const why = unreachable();
  if (why === null) return describe;
  if (isCi()) throw new Error(`durable bench smoke: CI requires PostgreSQL and Redis, but ${why}`);
  console.info(`durable bench smoke SKIPPED: ${why}. CI runs it.`);
  return describe.skip;
}

function runBench(args: string[]): Promise<DurableOutcome> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(__dirname, '..', '..', 'bench', 'run.js'), '--durable', '--json', '--database-url', databaseUrl(), '--redis-url', redisUrl(), ...args],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const lastLine = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(lastLine) as DurableOutcome);
        } catch {
          reject(new Error(`no JSON result (${error ? error.message : 'exit 0'}): ${stdout.slice(-2000)} ${stderr.slice(-2000)}`));
        }
      },
    );
  });
}

describeWithServers()('npm run bench -- --durable (smoke)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'durable-smoke-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the outbox, the plugin in memory, rudder-sdk-node + Redis and the database limit once, each verified, and draws the chart', async () => {
    const chart = path.join(dir, 'durable.svg');
    const outcome = await runBench(['--n', '300', '--rudder-n', '20', '--rounds', '1', '--kills', '0', '--chart', chart]);
    expect(outcome.results.map((r) => `${r.contender}: ${r.verified ? 'verified' : `FAILED ${r.failure}`}`)).toEqual([
      'plugin + outbox: verified',
      'plugin in memory: verified',
      'rudder-sdk-node + Redis: verified',
      'database limit: verified',
    ]);
    const outbox = outcome.results.find((r) => r.contender === 'plugin + outbox')!;
    expect(outbox.report?.statements?.total).toBeGreaterThan(0);
    expect(outcome.results.find((r) => r.contender === 'database limit')!.report?.rowsLeft).toBe(0);
    const svg = readFileSync(chart, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('plugin + outbox');
    expect(outcome.verified).toBe(true);
  }, 150_000);

  it('SIGKILLs the outbox and the plugin in memory mid-run and counts what each lost: nothing the outbox had confirmed', async () => {
    const outcome = await runBench([
      '--only',
      'plugin + outbox,plugin in memory',
      '--n',
      '100',
      '--rounds',
      '1',
      '--kills',
      '2',
      '--lease-ms',
      '1000',
      '--chart',
      path.join(dir, 'crash.svg'),
    ]);
    const summary = outcome.crashes.map((c) => `${c.contender}: ${c.failure ?? `${c.kills} kills`}`);
    expect(summary).toEqual(['plugin + outbox: 2 kills', 'plugin in memory: 2 kills']);
    const outbox = outcome.crashes[0]!;
    expect(outbox.accepted).toBeGreaterThan(0);
    expect(outbox.kept).toBeGreaterThan(0);
    expect(outbox.lostKept).toBe(0);
    expect(outcome.crashes[1]!.accepted).toBeGreaterThan(0);
  }, 150_000);
});
