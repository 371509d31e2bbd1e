/**
 * sendOnlyOnChange, measured (issue 6). Not a test: run it and read the figures.
 *
 *   npx ts-node --transpile-only bench/change-detection.ts [identities]
 *
 * Workload: each identity is fetched 10 times with unchanged flags (20 flags, bench/workload.js),
 * then once after one flag changed. Reports the events the data plane received with the option
 * off, with the in-process store (one replica, and two replicas each with its own memory), and
 * with RedisChangeStore (two replicas sharing REDIS_URL, default redis://127.0.0.1:6379; skipped
 * with a notice when Redis does not answer); the hook's cost per call (p50/p99, each call timed
 * on its own, after a warm-up, median of 5 alternating rounds); the hash alone; and the
 * in-process memory per identity.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Redis from 'ioredis';
import { MemoryChangeStore } from '../src/change-detection/memory-change-store';
import { RedisChangeStore } from '../src/change-detection/redis-change-store';
import { hashTraits } from '../src/change-detection/traits-hash';
import { RudderStackIntegration } from '../src/integration';
import { toTraits } from '../src/mapping';
import { traitListOf } from '../src/mapping/traits';
import { startLocalDataPlane } from '../src/testing';
import type { ApiFlag, RudderStackIntegrationOptions } from '../src/types';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const workload = require('./workload') as {
  DEFAULT_SEED: number;
  flagsFor(seed: number, identity: number): ApiFlag[];
  userIdOf(identity: number): string;
};

const IDENTITIES = Number(process.argv[2] ?? 2_000);
const UNCHANGED_FETCHES = 10;
const ROUNDS = 5;
const ENVIRONMENT_KEY = 'bench-environment-key-01';
const WRITE_KEY = 'bench-write-key';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
/** Calls between yields to the event loop, as a busy API would interleave requests and I/O. */
const BURST = 100;

type Mode = 'off' | 'in-process' | 'redis';

interface RunResult {
  label: string;
  calls: number;
  sent: number;
  unchanged: number;
  hookNs: number[];
}

/** Identity i's flags; after the change, slot 0 holds a value no seed draws. */
function flagsOf(identity: number, changed: boolean): ApiFlag[] {
  const flags = workload.flagsFor(workload.DEFAULT_SEED, identity);
  if (changed) flags[0] = { ...flags[0]!, enabled: true, feature_state_value: 'changed after 10 fetches' };
  return flags;
}

async function run(label: string, mode: Mode, replicas: number, firstIdentity: number, redis: Redis[] | undefined): Promise<RunResult> {
  const dataPlane = await startLocalDataPlane({ writeKeys: [WRITE_KEY] });
  const prefix = `flagsmith-rudderstack-bench:${process.pid}:${Date.now()}:`;
  const integrations = Array.from({ length: replicas }, (_, replica) => {
    const options: RudderStackIntegrationOptions = {
      config: { [ENVIRONMENT_KEY]: { api_key: WRITE_KEY, base_url: dataPlane.url } },
      allowPrivateNetworks: true,
      maxQueueSize: 1_000_000,
    };
    if (mode === 'in-process') options.sendOnlyOnChange = { ttlMs: 3_600_000, maxEntries: 1_000_000 };
    if (mode === 'redis') options.sendOnlyOnChange = { ttlMs: 3_600_000, store: new RedisChangeStore(redis![replica]!, { prefix }) };
    return new RudderStackIntegration(options);
  });
  // Settings cached before timing, as in a warm API.
  integrations.forEach((integration) => integration.postIdentityFetch({ environmentKey: ENVIRONMENT_KEY, identity: { identifier: 'warm-up' }, flags: [] }));
  await Promise.all(integrations.map((integration) => integration.flush()));
  const sentBefore = dataPlane.events.length;
  const unchangedBefore = totalUnchanged(integrations);

  const hookNs: number[] = [];
  let calls = 0;
  for (let fetch = 0; fetch <= UNCHANGED_FETCHES; fetch++) {
    for (let i = 0; i < IDENTITIES; i++) {
      const identity = firstIdentity + i;
      const context = {
        environmentKey: ENVIRONMENT_KEY,
        identity: { identifier: workload.userIdOf(identity) },
        flags: flagsOf(identity, fetch === UNCHANGED_FETCHES),
      };
      const integration = integrations[(fetch + i) % replicas]!;
      const start = process.hrtime.bigint();
      integration.postIdentityFetch(context);
      hookNs.push(Number(process.hrtime.bigint() - start));
      if (++calls % BURST === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await Promise.all(integrations.map((integration) => integration.flush()));
  const sent = dataPlane.events.length - sentBefore;
  const unchanged = totalUnchanged(integrations) - unchangedBefore;
  await Promise.all(integrations.map((integration) => integration.close()));
  await dataPlane.close();
  if (mode === 'redis' && redis) {
    const keys = await redis[0]!.keys(`${prefix}*`);
    if (keys.length > 0) await redis[0]!.del(...keys);
  }
  return { label, calls, sent, unchanged, hookNs };
}

function totalUnchanged(integrations: RudderStackIntegration[]): number {
  return integrations.reduce((sum, integration) => sum + integration.stats().unchanged, 0);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function describeRuns(results: RunResult[]): string {
  const [first] = results;
  const hook = (p: number): string =>
    (
      median(
        results.map((result) =>
          percentile(
            [...result.hookNs].sort((a, b) => a - b),
            p,
          ),
        ),
      ) / 1000
    )
      .toFixed(1)
      .padStart(6);
  const same = results.every((result) => result.sent === first!.sent && result.unchanged === first!.unchanged);
  return (
    `${first!.label.padEnd(38)} calls ${first!.calls}  sent ${String(first!.sent).padStart(6)}  unchanged ${String(first!.unchanged).padStart(6)}` +
    `${same ? '' : ' (varied by round!)'}  hook p50 ${hook(50)} µs  p99 ${hook(99)} µs`
  );
}

async function connectRedis(): Promise<Redis[] | undefined> {
  const clients = [new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 }), new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })];
  try {
    await Promise.all(
      clients.map(async (client) => {
        client.on('error', () => undefined);
        await client.connect();
        await client.ping();
      }),
    );
    return clients;
  } catch (error) {
    console.log(`NOTICE: no Redis at ${REDIS_URL} (${error instanceof Error ? error.message : String(error)}): Redis rows skipped`);
    clients.forEach((client) => client.disconnect());
    return undefined;
  }
}

function measureHash(): string {
  const traits = traitListOf(toTraits(flagsOf(1, false)));
  for (let i = 0; i < 50_000; i++) hashTraits(traits);
  const rounds = 200_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) hashTraits(traits);
  return `${(Number(process.hrtime.bigint() - start) / rounds / 1000).toFixed(2)} µs`;
}

function measureMemoryPerIdentity(entries: number): string {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // lru-cache keeps part of its index in typed arrays: count their buffers too.
  const used = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  gc();
  const before = used();
  const store = new MemoryChangeStore({ maxEntries: entries, ttlMs: 3_600_000 });
  for (let i = 0; i < entries; i++) {
    const claim = {
      key: `${ENVIRONMENT_KEY.length}:${ENVIRONMENT_KEY}:${workload.userIdOf(i)}`,
      hash: hashTraits({ names: ['n'], values: [i] }),
      token: String(i),
    };
    store.claim(claim);
    store.confirm(claim);
  }
  gc();
  const perEntry = (used() - before) / store.size;
  const keyLength = `${ENVIRONMENT_KEY.length}:${ENVIRONMENT_KEY}:${workload.userIdOf(entries - 1)}`.length;
  return `${Math.round(perEntry)} bytes per identity (${entries} identities, keys of ${keyLength} characters)`;
}

async function main(): Promise<void> {
  console.log(`sendOnlyOnChange: ${IDENTITIES} identities x (${UNCHANGED_FETCHES} unchanged fetches + 1 after a flag change), 20 flags each`);
  const redis = await connectRedis();
  // Warm-up: JIT and sockets, on identities the measured runs do not use.
  for (const mode of ['off', 'in-process'] as const) await run('warm-up', mode, 1, 1_000_000, undefined);
  if (redis) await run('warm-up', 'redis', 2, 1_000_000, redis);

  // Rounds alternate the configurations, so that a noisy neighbour does not favour one; the hook
  // figures are the median over rounds of each round's percentile.
  const configurations: Array<[string, Mode, number]> = [
    ['off (default)', 'off', 1],
    ['in-process, 1 replica', 'in-process', 1],
    ['in-process, 2 replicas (own memories)', 'in-process', 2],
  ];
  if (redis) configurations.push(['RedisChangeStore, 2 replicas', 'redis', 2]);
  const rounds: RunResult[][] = configurations.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, [label, mode, replicas]] of configurations.entries()) {
      rounds[index]!.push(await run(label, mode, replicas, round * IDENTITIES, redis));
    }
  }
  for (const results of rounds) console.log(describeRuns(results));
  console.log(`hashTraits alone (20 traits): ${measureHash()}`);
  console.log(`in-process memory: ${measureMemoryPerIdentity(200_000)}`);
  redis?.forEach((client) => client.disconnect());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
