/**
 * What probes that behave like a hostile or unlucky production found in delivery: each test here
 * failed before its fix. Real loopback data planes throughout; the wall clock is stepped only
 * where the point is that durations must not follow it.
 */
import { createHook } from 'node:async_hooks';
import { createServer } from 'node:net';
import * as retryLoop from '../../src/delivery/retry-loop';
import * as wire from '../../src/delivery/wire';
import type { BatchResult, ConfigSource, RudderStackSettings } from '../../src/types';
import { apiFlags, identityContext, waitFor } from '../helpers/harness';
import { accountedFor, checkSecretsAfterEachTest, faultDataPlane, faultIntegration, settingsFor, sleep, WRITE_KEY, faultSetup } from './support';

checkSecretsAfterEachTest();

/** A loopback port nothing listens on: every connection is refused at once. */
async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('maxQueueSize holds whatever the split does', () => {
  it('an outage with identifies split into several events never holds more than maxQueueSize events', async () => {
    const { integration } = faultIntegration({
      config: { 'env-a': { api_key: WRITE_KEY, base_url: await refusedUrl() } },
      maxQueueSize: 1_000,
      retryBaseDelayMs: 1_000,
      retryMaxDelayMs: 1_000,
    });
    // 40 flags of 2 KB: each identify is several events of at most maxEventBytes.
    const flags = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`remote_config_${i}`, 'x'.repeat(2_000)]));
    const calls = 1_500;
    let mostHeld = 0;
    for (let i = 0; i < calls; i++) {
      integration.postIdentityFetch(identityContext('env-a', `user-${i}`, flags));
      if (i % 50 === 49) {
        await tick();
        const stats = integration.stats();
        mostHeld = Math.max(mostHeld, stats.queued + stats.inFlight);
      }
    }
    await tick();
    const stats = integration.stats();
    expect(stats.splitEvents).toBeGreaterThan(0);
    expect(mostHeld).toBeLessThanOrEqual(1_000);
    expect(stats.queued + stats.inFlight).toBeLessThanOrEqual(1_000);
    expect(stats.dropped.queue_full).toBeGreaterThan(0);
    expect(accountedFor(stats)).toBe(calls);
  });

  it('an identify whose parts cannot all get room drops nothing older: it alone is dropped', async () => {
    const dataPlane = await faultDataPlane();
    dataPlane.fail([{ action: 'hang' }]);
    const { integration } = faultIntegration({
      config: { 'env-a': settingsFor(dataPlane) },
      maxQueueSize: 4,
      flushAt: 2,
      flushIntervalMs: 60_000,
      maxConcurrentRequests: 1,
      maxEventBytes: 1_024,
      requestTimeoutMs: 5_000,
    });
    integration.postIdentityFetch(identityContext('env-a', 'in-flight-1'));
    integration.postIdentityFetch(identityContext('env-a', 'in-flight-2'));
    await waitFor(() => integration.stats().inFlight === 2, 'two events in a hanging request');
    integration.postIdentityFetch(identityContext('env-a', 'queued'));
    // Three parts of at most 1 KB: two more than the one event the hook made room for.
    const flags = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`config_${i}`, 'x'.repeat(300)]));
    integration.postIdentityFetch(identityContext('env-a', 'split', flags));
    await tick();
    expect(integration.stats()).toMatchObject({ queued: 1, inFlight: 2, dropped: expect.objectContaining({ queue_full: 1 }) });
  });

  it('events waiting for a slow settings lookup are the oldest, so a full queue drops them first', async () => {
    const dataPlane = await faultDataPlane();
    let releaseSlow: (settings: RudderStackSettings | null) => void = () => undefined;
    const source: ConfigSource = {
      get: (environmentKey) => (environmentKey === 'env-slow' ? new Promise((resolve) => (releaseSlow = resolve)) : settingsFor(dataPlane)),
    };
    const { integration } = faultIntegration({ config: source, maxQueueSize: 10, flushAt: 100, flushIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) integration.postIdentityFetch(identityContext('env-slow', `slow-${i}`));
    integration.postIdentityFetch(identityContext('env-a', 'fast-0'));
    await tick();
    for (let i = 1; i < 10; i++) integration.postIdentityFetch(identityContext('env-a', `fast-${i}`));
    expect(integration.stats().dropped.queue_full).toBe(5);

    releaseSlow(settingsFor(dataPlane));
    await integration.flush();
    expect(dataPlane.events.map((event) => event.userId).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `fast-${i}`).sort());
    expect(accountedFor(integration.stats())).toBe(15);
  });
});

describe('nothing thrown in the background reaches the host process', () => {
  it('a value too long to escape within the string limit of V8 is left out unencoded, and the identity sent', async () => {
    const dataPlane = await faultDataPlane();
    const { integration, logger } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) } });
    // Every control character is escaped as six: the escaped string would be longer than V8 allows.
    integration.postIdentityFetch(identityContext('env-a', 'huge', { banner: '\u0001'.repeat(90_000_000), plan: 'pro' }));
    integration.postIdentityFetch(identityContext('env-a', 'ordinary'));
    await integration.flush();
    expect(dataPlane.events.map((event) => [event.userId, event.traits])).toEqual([
      ['huge', { plan: 'pro' }],
      ['ordinary', { checkout_v2: 'blue' }],
    ]);
    expect(integration.stats()).toMatchObject({ delivered: 2, traitsDropped: 1 });
    expect(logger.warnings().join('\n')).toMatch(/left out trait\(s\) "banner" of identity "huge"/);
  });

  it('whatever mapping or serializing throws costs that one event, counted and logged, and delivery goes on', async () => {
    const dataPlane = await faultDataPlane();
    const { integration, logger } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) } });
    // The one stand-in in this file: no input is known to make serializing throw any more.
    const serialize = jest.spyOn(wire, 'serializeIdentify').mockImplementationOnce(() => {
      throw new RangeError('Invalid string length');
    });
    try {
      integration.postIdentityFetch(identityContext('env-a', 'unlucky'));
      integration.postIdentityFetch(identityContext('env-a', 'ordinary'));
      await integration.flush();
    } finally {
      serialize.mockRestore();
    }
    expect(dataPlane.events.map((event) => event.userId)).toEqual(['ordinary']);
    expect(integration.stats()).toMatchObject({ delivered: 1, dropped: expect.objectContaining({ invalid_input: 1 }) });
    expect(logger.warnings().join('\n')).toMatch(
      /environment env-a: dropped an identify that could not be mapped or serialized \(RangeError: Invalid string length\)/,
    );
  });

  it('a fault inside the retry loop still settles its batch: flush() ends, the events are counted', async () => {
    const dataPlane = await faultDataPlane();
    const { integration, logger } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) } });
    // The one stand-in: no answer of a data plane is known to make the loop throw.
    const loop = jest.spyOn(retryLoop, 'deliverBatch').mockImplementationOnce(async function* () {
      await Promise.resolve();
      yield* [];
      throw new Error('a bug in the loop');
    });
    try {
      integration.postIdentityFetch(identityContext('env-a', 'unlucky'));
      await integration.flush();
    } finally {
      loop.mockRestore();
    }
    expect(integration.stats()).toMatchObject({ inFlight: 0, queued: 0, dropped: expect.objectContaining({ rejected: 1 }) });
    expect(logger.warnings().join('\n')).toMatch(/unexpected delivery error: Error: a bug in the loop/);
  });

  it('a settings object whose api_key is a string on its first read only does not take the host down', async () => {
    const dataPlane = await faultDataPlane();
    let reads = 0;
    const treacherous = {
      base_url: dataPlane.url,
      get api_key(): unknown {
        return reads++ === 0 ? WRITE_KEY : undefined;
      },
    } as unknown as RudderStackSettings;
    const { integration } = faultIntegration({ config: { get: (key) => (key === 'env-odd' ? treacherous : settingsFor(dataPlane)) } });
    integration.postIdentityFetch(identityContext('env-odd', 'odd'));
    await integration.flush();
    integration.postIdentityFetch(identityContext('env-a', 'ordinary'));
    await integration.flush();
    expect(dataPlane.events.map((event) => event.userId)).toContain('ordinary');
    expect(accountedFor(integration.stats())).toBe(2);
  });
});

describe('request slots all busy', () => {
  it('the flush timer does not spin while every request slot is taken', async () => {
    const { dataPlane, integration } = await faultSetup({
      fail: [{ action: 'hang' }, { action: 'hang' }],
      flushAt: 1,
      flushIntervalMs: 0,
      maxConcurrentRequests: 2,
      requestTimeoutMs: 5_000,
    });
    for (let i = 0; i < 3; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await waitFor(() => dataPlane.requests.length + integration.stats().inFlight >= 2, 'two requests in flight');
    let timeouts = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'Timeout') timeouts++;
      },
    }).enable();
    await sleep(300);
    hook.disable();
    // The test's own sleep is one; a spinning timer made one per wake-up, hundreds in this window.
    expect(timeouts).toBeLessThan(10);
    expect(integration.stats().queued).toBe(1);
  });
});

describe('a data plane or proxy that refuses everything', () => {
  it.each([400, 403, 413])('HTTP %i to every request: a few requests, then the destination is paused, not 2n - 1 requests', async (status) => {
    const dataPlane = await faultDataPlane();
    dataPlane.fail(Array.from({ length: 3_000 }, () => ({ status })));
    const n = 1_000;
    const { integration, logger } = faultIntegration({
      config: { 'env-a': settingsFor(dataPlane) },
      flushAt: n,
      flushIntervalMs: 60_000,
      maxConcurrentRequests: 1,
    });
    for (let i = 0; i < n; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.flush();
    expect(dataPlane.requests.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)) + 1);
    expect(integration.stats().dropped.rejected).toBe(n);
    expect(logger.warnings().filter((line) => line.includes('to every request'))).toHaveLength(1);

    // Paused: the next event is dropped without a request.
    const before = dataPlane.requests.length;
    integration.postIdentityFetch(identityContext('env-a', 'later'));
    await integration.flush();
    expect(dataPlane.requests.length).toBe(before);
    expect(integration.stats().dropped.rejected).toBe(n + 1);
  });
});

describe('what a request reports', () => {
  it('names the environments of the events in that request, not every one the destination served', async () => {
    const dataPlane = await faultDataPlane({ rejectEvent: (event) => String(event.userId).startsWith('poison') });
    const results: BatchResult[] = [];
    const config = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`env-${i}`, settingsFor(dataPlane)]));
    const { integration, logger } = faultIntegration({ config, onBatchResult: (result) => results.push(result) });
    for (let i = 0; i < 50; i++) integration.postIdentityFetch(identityContext(`env-${i}`, `user-${i}`));
    await integration.flush();
    results.length = 0;

    integration.postIdentityFetch(identityContext('env-7', 'poison-1'));
    await integration.flush();
    expect(results.map((result) => result.environmentKeys)).toEqual([['env-7']]);
    const refusal = logger.warnings().find((line) => line.includes('refused 1 event(s)'));
    expect(refusal).toContain('(environment env-7)');
  });
});

describe('durations run on a monotonic clock', () => {
  // Installed before each integration is made, so that a clock read by reference is stepped too.
  const realNow = Date.now;
  let offsetMs = 0;
  beforeEach(() => {
    offsetMs = 0;
    Date.now = () => realNow() - offsetMs;
  });
  afterEach(() => {
    Date.now = realNow;
  });
  const stepWallClockBack = (ms: number): void => {
    offsetMs += ms;
  };

  it('a pause of a few hundred ms ends on time when the wall clock is stepped back an hour', async () => {
    const dataPlane = await faultDataPlane();
    dataPlane.fail({ status: 401 });
    const { integration } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, pauseMs: 200 });
    integration.postIdentityFetch(identityContext('env-a', 'refused'));
    await integration.flush();
    expect(integration.stats().dropped.rejected).toBe(1);
    stepWallClockBack(3_600_000);
    await sleep(400);
    integration.postIdentityFetch(identityContext('env-a', 'after-the-pause'));
    await integration.flush();
    expect(dataPlane.events.map((event) => event.userId)).toEqual(['after-the-pause']);
  });

  it('cached settings expire on time when the wall clock is stepped back an hour', async () => {
    const first = await faultDataPlane();
    const second = await faultDataPlane();
    let current = settingsFor(first);
    const { integration } = faultIntegration({ config: { get: () => current }, configTtlMs: 100 });
    integration.postIdentityFetch(identityContext('env-a', 'before'));
    await integration.flush();
    stepWallClockBack(3_600_000);
    current = settingsFor(second);
    await sleep(300);
    integration.postIdentityFetch({ ...identityContext('env-a', 'warm-up'), flags: apiFlags({}) });
    await integration.flush();
    integration.postIdentityFetch(identityContext('env-a', 'after'));
    await integration.flush();
    expect(second.events.map((event) => event.userId)).toContain('after');
  });
});
