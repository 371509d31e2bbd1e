/**
 * What a settings lookup costs, cached and uncached, against a real PostgreSQL.
 *
 *   npx ts-node --transpile-only bench/settings-lookup.ts
 *
 * DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/test. The tables are made in a
 * schema of their own, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { RudderStackIntegration } from '../src/integration';
import { PostgresConfigSource } from '../src/settings/postgres-config-source';
import { SettingsCache } from '../src/settings/settings-cache';
import { startLocalDataPlane } from '../src/testing';
import type { ApiFlag, Logger } from '../src/types';

const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const ENVIRONMENT_KEY = 'Vt3mQ9pLx7RkWc2HsYbN4e';
const QUIET: Logger = { debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error };

/** Median, p99 and mean of per-call times in microseconds. */
function summarize(samplesNs: bigint[]): string {
  const us = samplesNs.map((ns) => Number(ns) / 1000).sort((a, b) => a - b);
  const at = (q: number): number => us[Math.min(us.length - 1, Math.floor(q * us.length))];
  const mean = us.reduce((sum, x) => sum + x, 0) / us.length;
  return `median ${at(0.5).toFixed(2)} µs, p99 ${at(0.99).toFixed(2)} µs, mean ${mean.toFixed(2)} µs (n=${us.length})`;
}

/** Per-call times of `n` awaited calls. */
async function timeEach(n: number, call: () => Promise<unknown>): Promise<bigint[]> {
  const samples: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await call();
    samples.push(process.hrtime.bigint() - start);
  }
  return samples;
}

/** Mean time per call of a tight synchronous loop, in rounds (too fast to time one by one). */
function timeLoop(rounds: number, perRound: number, call: () => void): bigint[] {
  const samples: bigint[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) call();
    samples.push((process.hrtime.bigint() - start) / BigInt(perRound));
  }
  return samples;
}

async function main(): Promise<void> {
  const schema = `fr_bench_${randomBytes(6).toString('hex')}`;
  const admin = new Pool({ connectionString: DATABASE_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pool = new Pool({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
  const dataPlane = await startLocalDataPlane();
  try {
    await pool.query(readFileSync(join(__dirname, '../fixtures/sql/flagsmith-rudderstack-tables.sql'), 'utf8'));
    await pool.query(`INSERT INTO environments_environment (name, api_key, project_id) VALUES ('Production', $1, 1)`, [ENVIRONMENT_KEY]);
    const source = new PostgresConfigSource(pool, { allowPrivateNetworks: true });
    await source.save(ENVIRONMENT_KEY, { api_key: 'wk_bench_0123456789', base_url: dataPlane.url });

    await timeEach(500, () => source.get(ENVIRONMENT_KEY)); // warm the pool and the server's plan cache
    console.log(`uncached: PostgresConfigSource.get, one query over a warm pg Pool on ${new URL(DATABASE_URL).host}`);
    console.log(`  ${summarize(await timeEach(5000, () => source.get(ENVIRONMENT_KEY)))}`);

    const cache = new SettingsCache({ source, ttlMs: 60_000, allowPrivateNetworks: true, logger: QUIET });
    console.log('uncached: SettingsCache.load after invalidate (query + validation)');
    console.log(
      `  ${summarize(
        await timeEach(5000, () => {
          cache.invalidate(ENVIRONMENT_KEY);
          return cache.load(ENVIRONMENT_KEY);
        }),
      )}`,
    );

    await cache.load(ENVIRONMENT_KEY);
    timeLoop(20, 100_000, () => cache.peek(ENVIRONMENT_KEY));
    console.log('cached: SettingsCache.peek with a fresh entry (mean per call over rounds of 100 000)');
    console.log(`  ${summarize(timeLoop(50, 100_000, () => cache.peek(ENVIRONMENT_KEY)))}`);

    const integration = new RudderStackIntegration({
      config: source,
      allowPrivateNetworks: true,
      flushAt: 1000,
      logger: QUIET,
    });
    const context = {
      environmentKey: ENVIRONMENT_KEY,
      identity: { identifier: 'user_123' },
      flags: Array.from({ length: 11 }, (_, i): ApiFlag => ({ feature: { name: `feature_${i}` }, enabled: true, feature_state_value: i })),
    };
    integration.postIdentityFetch(context);
    await integration.flush();
    const hookSamples: bigint[] = [];
    for (let round = 0; round < 30; round++) {
      hookSamples.push(...timeLoop(1, 2000, () => integration.postIdentityFetch(context)));
      await integration.flush();
    }
    console.log('cached: the whole hook, postIdentityFetch with warm settings (11 flags, mapping and enqueue included; mean per call over rounds of 2000)');
    console.log(`  ${summarize(hookSamples.slice(5))}`);
    await integration.close();
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
    await dataPlane.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
