import { createServer, type Server, type Socket } from 'node:net';
import Redis from 'ioredis';
import { RedisChangeStore, type NodeRedisClientLike } from '../../src/change-detection/redis-change-store';
import type { RudderStackIntegration } from '../../src/integration';
import type { LocalDataPlane } from '../../src/testing';
import type { IntegrationStats, SharedChangeStore } from '../../src/types';
import { captureLogger, closeHarnesses, createIntegration, identityContext, onCleanup, startDataPlane, type CapturedLogger } from '../helpers/harness';
import { connectRedis, deleteKeys, describeWithRedis, uniquePrefix } from '../helpers/redis';

afterEach(closeHarnesses);

/** node-redis v4+ call style, over an ioredis connection: what a node-redis host passes. */
function nodeRedisStyle(client: Redis): NodeRedisClientLike {
  return {
    eval: (script, { keys, arguments: args }) => client.eval(script, keys.length, ...keys, ...args),
  };
}

function accountedFor(stats: IntegrationStats): number {
  const dropped = Object.values(stats.dropped).reduce((sum, count) => sum + count, 0);
  return stats.skipped + dropped + stats.delivered + stats.unchanged + stats.queued + stats.inFlight - stats.splitEvents;
}

describeWithRedis()('sendOnlyOnChange with RedisChangeStore (real Redis)', () => {
  let admin: Redis;
  let prefix: string;
  let dataPlane: LocalDataPlane;

  beforeAll(() => {
    admin = connectRedis();
  });
  afterAll(async () => {
    await admin.quit();
  });
  beforeEach(async () => {
    prefix = uniquePrefix();
    dataPlane = await startDataPlane();
  });
  afterEach(async () => {
    await deleteKeys(admin, prefix);
  });

  /** One API replica: its own integration and its own Redis connection, sharing the data plane and the prefix. */
  function replica(store: SharedChangeStore, logger: CapturedLogger = captureLogger()): RudderStackIntegration {
    return createIntegration({
      config: { 'env-a': { api_key: 'k', base_url: dataPlane.url } },
      flushIntervalMs: 20,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 20,
      maxRetries: 1,
      logger,
      sendOnlyOnChange: { ttlMs: 60_000, store },
    });
  }

  function ownClient(): Redis {
    const client = connectRedis();
    onCleanup(async () => {
      // A second disconnect() of a client a test cut off leaves a timer running.
      if (client.status !== 'end') await client.quit();
    });
    return client;
  }

  it('sends each change once across two replicas, ioredis and node-redis call styles alike', async () => {
    const a = replica(new RedisChangeStore(ownClient(), { prefix }));
    const b = replica(new RedisChangeStore(nodeRedisStyle(ownClient()), { prefix }));
    const flush = (): Promise<unknown> => Promise.all([a.flush(), b.flush()]);

    a.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'dark' }));
    await flush();
    b.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'dark' }));
    a.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'dark' }));
    await flush();
    expect(dataPlane.events).toHaveLength(1);

    // A change reaching both replicas at the same moment: one claims it, the other skips it.
    for (let i = 0; i < 3; i++) {
      a.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'light' }));
      b.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'light' }));
    }
    await flush();
    expect(dataPlane.events.map((event) => (event.traits as Record<string, unknown>).theme)).toEqual(['dark', 'light']);

    b.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'dark' }));
    await flush();
    expect(dataPlane.events).toHaveLength(3);
    const stats = [a.stats(), b.stats()];
    expect(stats[0]!.unchanged + stats[1]!.unchanged).toBe(7);
    expect(stats.map(accountedFor)).toEqual([stats[0]!.received, stats[1]!.received]);
    expect(await admin.get(`${prefix}5:env-a:user-1`)).toMatch(/^s\|[0-9a-f]{16}$/);
  });

  it('does not remember a refused identify: the next call, on any replica, sends it', async () => {
    const a = replica(new RedisChangeStore(ownClient(), { prefix }));
    const b = replica(new RedisChangeStore(ownClient(), { prefix }));
    dataPlane.fail({ status: 400 });
    a.postIdentityFetch(identityContext('env-a', 'user-1'));
    await a.flush();
    expect(a.stats().dropped.rejected).toBe(1);
    expect(await admin.exists(`${prefix}5:env-a:user-1`)).toBe(0);
    b.postIdentityFetch(identityContext('env-a', 'user-1'));
    await b.flush();
    expect(dataPlane.events).toHaveLength(1);
    expect(b.stats().unchanged).toBe(0);
  });

  it('sends an identify when Redis goes away mid-run, and logs that once per interval', async () => {
    const logger = captureLogger();
    const client = ownClient();
    const integration = replica(new RedisChangeStore(client, { prefix }), logger);
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(integration.stats()).toMatchObject({ delivered: 1, unchanged: 1 });

    client.disconnect();
    for (let i = 0; i < 5; i++) integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.events).toHaveLength(6);
    expect(integration.stats()).toMatchObject({ received: 7, delivered: 6, unchanged: 1 });
    const failures = logger.lines.filter((line) => line.text.includes('change store failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]!.text).toMatch(/Connection is closed/);
  });

  it('sends an identify when Redis does not answer (a server that never replies)', async () => {
    const silent = await startSilentServer();
    const client = new Redis({ host: '127.0.0.1', port: silent.port, maxRetriesPerRequest: null, lazyConnect: true });
    client.on('error', () => undefined);
    void client.connect().catch(() => undefined);
    onCleanup(async () => {
      client.disconnect();
      await silent.close();
    });
    const logger = captureLogger();
    const integration = replica(new RedisChangeStore(client, { prefix }), logger);
    for (let i = 0; i < 3; i++) integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.events).toHaveLength(3);
    expect(logger.lines.filter((line) => line.text.includes('change store failed'))).toHaveLength(1);
    expect(logger.text()).toMatch(/no answer within 250 ms/);
  });

  it('a replica dying between claim and delivery holds the state back only until the claim expires', async () => {
    const claimTtlMs = 300;
    const dyingClient = ownClient();
    const dying = replica(new RedisChangeStore(dyingClient, { prefix, claimTtlMs }));
    const survivor = replica(new RedisChangeStore(ownClient(), { prefix, claimTtlMs }));
    const key = `${prefix}5:env-a:user-1`;

    dataPlane.fail({ action: 'hang' });
    dying.postIdentityFetch(identityContext('env-a', 'user-1'));
    await waitUntil(async () => (await admin.get(key))?.startsWith('c|') === true, 'the claim');
    dyingClient.disconnect(); // its release never arrives: as if the process died

    survivor.postIdentityFetch(identityContext('env-a', 'user-1'));
    await survivor.flush();
    expect(survivor.stats().unchanged).toBe(1); // claimed elsewhere: being sent

    await waitUntil(async () => (await admin.exists(key)) === 0, 'the claim to expire');
    survivor.postIdentityFetch(identityContext('env-a', 'user-1'));
    await survivor.flush();
    expect(survivor.stats()).toMatchObject({ delivered: 1, unchanged: 1 });
    expect(await admin.get(key)).toMatch(/^s\|/);
  });

  it('remembers a delivered state for ttlMs, in Redis', async () => {
    const integration = createIntegration({
      config: { 'env-a': { api_key: 'k', base_url: dataPlane.url } },
      flushIntervalMs: 20,
      sendOnlyOnChange: { ttlMs: 45_000, store: new RedisChangeStore(ownClient(), { prefix }) },
    });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    const ttl = await admin.pttl(`${prefix}5:env-a:user-1`);
    expect(ttl).toBeGreaterThan(30_000);
    expect(ttl).toBeLessThanOrEqual(45_000);
  });

  it('refuses a client without eval, and a bad claimTtlMs', () => {
    expect(() => new RedisChangeStore({} as never)).toThrow(/ioredis or node-redis/);
    expect(() => new RedisChangeStore(admin, { claimTtlMs: 0 })).toThrow(/claimTtlMs must be a whole number of at least 1/);
  });
});

/** Polls an asynchronous condition; fails with `what` after 10 s. No timing is asserted. */
async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A TCP server on 127.0.0.1 that accepts connections and never writes a byte. */
async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
