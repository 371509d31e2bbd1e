/**
 * The real Redis for tests, at REDIS_URL (default redis://127.0.0.1:6379). CI requires it; elsewhere
 * the Redis tests are skipped, with a notice, when none answers.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { isCi } from './postgres';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function redisUrl(): string {
  return process.env.REDIS_URL || DEFAULT_REDIS_URL;
}

/**
 * Null when Redis answers PING, else why not. Synchronous (a child process), so that a test file
 * can choose between `describe` and `describe.skip` when it is loaded.
 */
function probe(url: string): string | null {
  const script = `
    const Redis = require('ioredis');
    const client = new Redis(process.argv[1], { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    let cause = '';
    client.on('error', (error) => { cause = error.message; });
    client.connect().then(() => client.ping()).then(
      () => { client.disconnect(); },
      (error) => { process.stdout.write(cause || String(error && error.message || error)); client.disconnect(); process.exitCode = 1; },
    );`;
  try {
    execFileSync(process.execPath, ['-e', script, url], { cwd: __dirname, timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return null;
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString().trim();
    return output || (error instanceof Error ? error.message : String(error));
  }
}

/** `describe` when Redis answers; in CI a failure when it does not; elsewhere `describe.skip`, with a notice. */
export function describeWithRedis(): jest.Describe {
  const url = redisUrl();
  const unreachable = probe(url);
  if (unreachable === null) return describe;
  if (isCi()) {
    throw new Error(`Redis tests: CI requires Redis at ${url} (set REDIS_URL to change it), but PING failed: ${unreachable}`);
  }
  console.info(`Redis tests SKIPPED: no Redis at ${url} (${unreachable}). CI runs them; start redis-server or set REDIS_URL.`);
  return describe.skip;
}

/** A key prefix no other test run uses. */
export function uniquePrefix(): string {
  return `flagsmith-rudderstack-test:${randomBytes(6).toString('hex')}:`;
}

/** A client to the test Redis that fails fast instead of queueing commands forever. */
export function connectRedis(): Redis {
  const client = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return client;
}

/** Deletes every key under the prefix. */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
}
