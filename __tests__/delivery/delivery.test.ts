import type { BatchResult } from '../../src/types';
import { closeHarnesses, createIntegration, identityContext, startDataPlane, startHarness, waitFor } from '../helpers/harness';

afterEach(closeHarnesses);

describe('batching', () => {
  it('sends a batch when it reaches flushAt events', async () => {
    const { dataPlane, integration } = await startHarness({ flushAt: 3, flushIntervalMs: 60_000 });
    for (let i = 0; i < 7; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await dataPlane.waitForEvents(6);
    expect(dataPlane.batches.map((batch) => batch.events.length)).toEqual([3, 3]);
    await integration.flush();
    expect(dataPlane.batches.map((batch) => batch.events.length)).toEqual([3, 3, 1]);
    // Two requests may be in flight at once, so batches can arrive in either order.
    expect(dataPlane.events.map((event) => event.userId).sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `user-${i}`));
  });

  it('sends a batch before it would pass maxBatchBytes', async () => {
    const maxBatchBytes = 4_000;
    const { dataPlane, integration } = await startHarness({ flushIntervalMs: 60_000, maxBatchBytes, maxEventBytes: 2_000 });
    for (let i = 0; i < 20; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`, { banner: 'x'.repeat(300) }));
    await integration.flush();
    expect(dataPlane.events).toHaveLength(20);
    expect(dataPlane.batches.length).toBeGreaterThan(1);
    for (const batch of dataPlane.batches) expect(batch.bytes).toBeLessThanOrEqual(maxBatchBytes);
    // Full batches were sent by size before flush() was called: at most one partial batch was left.
    expect(dataPlane.batches.slice(0, -1).every((batch) => batch.bytes > maxBatchBytes - 1_000)).toBe(true);
  });

  it('sends a partial batch flushIntervalMs after its first event, with no flush()', async () => {
    const { dataPlane, integration } = await startHarness({ flushAt: 100, flushIntervalMs: 30 });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    integration.postIdentityFetch(identityContext('env-a', 'user-2'));
    const events = await dataPlane.waitForEvents(2, 5_000);
    expect(events.map((event) => event.userId)).toEqual(['user-1', 'user-2']);
    expect(dataPlane.batches).toHaveLength(1);
  });

  it('grows the batch past flushAt when events waited for a free request slot', async () => {
    const { dataPlane, integration } = await startHarness({
      flushAt: 2,
      maxConcurrentRequests: 1,
      maxQueueSize: 1_000,
      requestTimeoutMs: 200,
      retryBaseDelayMs: 0,
    });
    dataPlane.fail({ action: 'hang' });
    integration.postIdentityFetch(identityContext('env-a', 'first-1'));
    integration.postIdentityFetch(identityContext('env-a', 'first-2'));
    await waitFor(() => integration.stats().inFlight === 2, 'the first batch to be sent');
    for (let i = 0; i < 15; i++) integration.postIdentityFetch(identityContext('env-a', `backlog-${i}`));
    await integration.flush();
    // The hung batch is retried as it was; the 15 that waited behind it go in one request.
    expect(dataPlane.batches.map((batch) => batch.events.length)).toEqual([2, 15]);
    expect(integration.stats()).toMatchObject({ delivered: 17, dropped: expect.objectContaining({ queue_full: 0 }) });
  });

  it('keeps batches at flushAt when a burst finds request slots free', async () => {
    const { dataPlane, integration } = await startHarness({ flushAt: 2, maxConcurrentRequests: 4, flushIntervalMs: 60_000 });
    for (let i = 0; i < 8; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.flush();
    expect(dataPlane.batches.map((batch) => batch.events.length)).toEqual([2, 2, 2, 2]);
  });

  it('puts the wire format of the contract on every request', async () => {
    const { dataPlane, integration, writeKey } = await startHarness();
    integration.postIdentityFetch(identityContext('env-a', 'user-1', { checkout_v2: 'blue', dark_mode: false }));
    await integration.flush();
    const [request] = dataPlane.requests;
    expect(request!.path).toBe('/v1/batch');
    expect(request!.headers['authorization']).toBe('Basic ' + Buffer.from(`${writeKey}:`).toString('base64'));
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['content-encoding']).toBe('gzip');
    expect(request!.headers['user-agent']).toMatch(/^flagsmith-rudderstack\/\d+\.\d+\.\d+/);
    const body = JSON.parse(request!.body.toString());
    const [event] = body.batch;
    expect(body.sentAt).toEqual(event.sentAt);
    expect(event).toMatchObject({
      type: 'identify',
      userId: 'user-1',
      traits: { checkout_v2: 'blue', dark_mode: false },
      context: { traits: { checkout_v2: 'blue', dark_mode: false }, library: { name: 'flagsmith-rudderstack' } },
      channel: 'server',
    });
    expect(Date.parse(event.sentAt)).toBeGreaterThanOrEqual(Date.parse(event.originalTimestamp));
  });

  it('gives every event its own UUID messageId', async () => {
    const { dataPlane, integration } = await startHarness();
    for (let i = 0; i < 300; i++) integration.postIdentityFetch(identityContext('env-a', 'same-user'));
    await integration.flush();
    const ids = dataPlane.events.map((event) => event.messageId);
    expect(ids).toHaveLength(300);
    expect(new Set(ids).size).toBe(300);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sends plain JSON when gzip is off', async () => {
    const { dataPlane, integration } = await startHarness({ gzip: false });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.batches[0]!.gzip).toBe(false);
    expect(dataPlane.requests[0]!.headers['content-encoding']).toBeUndefined();
  });
});

describe('routing by destination', () => {
  it('never mixes environments with different write keys and data planes', async () => {
    const planeA = await startDataPlane({ writeKeys: ['key-a'] });
    const planeB = await startDataPlane({ writeKeys: ['key-b'] });
    const integration = createIntegration({
      config: { 'env-a': { api_key: 'key-a', base_url: planeA.url }, 'env-b': { api_key: 'key-b', base_url: planeB.url } },
    });
    for (let i = 0; i < 10; i++) {
      integration.postIdentityFetch(identityContext('env-a', `a-${i}`));
      integration.postIdentityFetch(identityContext('env-b', `b-${i}`));
    }
    await integration.close();
    expect(planeA.events.map((event) => event.userId)).toEqual([...Array(10).keys()].map((i) => `a-${i}`));
    expect(planeB.events.map((event) => event.userId)).toEqual([...Array(10).keys()].map((i) => `b-${i}`));
    expect(planeA.batches.every((batch) => batch.writeKey === 'key-a')).toBe(true);
    expect(planeB.batches.every((batch) => batch.writeKey === 'key-b')).toBe(true);
  });

  it('never mixes two write keys on one data plane, and lets environments that share both share batches', async () => {
    const plane = await startDataPlane({ writeKeys: ['key-1', 'key-2'] });
    const integration = createIntegration({
      config: {
        one: { api_key: 'key-1', base_url: plane.url },
        'one-too': { api_key: 'key-1', base_url: `${plane.url}/` },
        two: { api_key: 'key-2', base_url: plane.url },
      },
      flushIntervalMs: 60_000,
    });
    integration.postIdentityFetch(identityContext('one', 'u1'));
    integration.postIdentityFetch(identityContext('one-too', 'u2'));
    integration.postIdentityFetch(identityContext('two', 'u3'));
    await integration.close();
    const byKey = Object.fromEntries(plane.batches.map((batch) => [batch.writeKey, batch.events.map((event) => event.userId)]));
    expect(plane.batches).toHaveLength(2);
    expect(byKey).toEqual({ 'key-1': ['u1', 'u2'], 'key-2': ['u3'] });
  });

  it('bounds the requests one destination has in flight, and keeps other destinations moving', async () => {
    const slow = await startDataPlane();
    const fast = await startDataPlane();
    slow.fail([{ action: 'hang' }, { action: 'hang' }, { action: 'hang' }, { action: 'hang' }]);
    const integration = createIntegration({
      config: { slow: { api_key: 'k', base_url: slow.url }, fast: { api_key: 'k', base_url: fast.url } },
      flushAt: 1,
      maxConcurrentRequests: 2,
      requestTimeoutMs: 60_000,
    });
    for (let i = 0; i < 5; i++) integration.postIdentityFetch(identityContext('slow', `s-${i}`));
    for (let i = 0; i < 3; i++) integration.postIdentityFetch(identityContext('fast', `f-${i}`));
    await waitFor(() => integration.stats().delivered === 3, 'the fast destination to deliver');
    expect(slow.requests.length + integration.stats().inFlight).toBeGreaterThan(0);
    expect(integration.stats().inFlight).toBe(2);
    expect(integration.stats().queued).toBe(3);
    await integration.close({ timeoutMs: 100 });
    expect(integration.stats().dropped.close_timeout).toBe(5);
  });
});

describe('status handling', () => {
  it('retries a 503 and delivers once, with the same messageId', async () => {
    const { dataPlane, integration } = await startHarness();
    dataPlane.fail({ status: 503 });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.requests.map((request) => request.status)).toEqual([503, 200]);
    const sent = dataPlane.requests.map((request) => JSON.parse(request.body.toString()).batch[0].messageId);
    expect(sent[0]).toBe(sent[1]);
    expect(dataPlane.events).toHaveLength(1);
    expect(integration.stats()).toMatchObject({ delivered: 1, retried: 1, queued: 0, inFlight: 0 });
  });

  it('waits as long as Retry-After says on a 429, then delivers once', async () => {
    const { dataPlane, integration } = await startHarness({ retryBaseDelayMs: 0, retryMaxDelayMs: 0 });
    dataPlane.fail({ status: 429, headers: { 'Retry-After': '1' } });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    const [limited, accepted] = dataPlane.requests;
    expect([limited!.status, accepted!.status]).toEqual([429, 200]);
    expect(dataPlane.events).toHaveLength(1);
    expect(JSON.parse(limited!.body.toString()).batch[0].messageId).toBe(dataPlane.events[0]!.messageId);
    // Backoff is zero here, so only Retry-After can explain the gap; sentAt is per attempt.
    const gap = Date.parse(JSON.parse(accepted!.body.toString()).sentAt) - Date.parse(JSON.parse(limited!.body.toString()).sentAt);
    expect(gap).toBeGreaterThanOrEqual(900);
  });

  it('gives up after maxRetries and counts the events as retries_exhausted', async () => {
    const { dataPlane, integration, logger } = await startHarness({ maxRetries: 2 });
    dataPlane.fail([{ status: 500 }, { status: 502 }, { status: 504 }, { status: 503 }]);
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.requests).toHaveLength(3);
    expect(integration.stats()).toMatchObject({ delivered: 0, retried: 2, dropped: expect.objectContaining({ retries_exhausted: 1 }) });
    expect(logger.text()).toMatch(/1 event\(s\) dropped after 3 attempt\(s\), last HTTP 504/);
  });

  it('does not retry a 400 on a single event', async () => {
    const { dataPlane, integration } = await startHarness();
    dataPlane.fail({ status: 400, body: 'event is not a valid rudder event' });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.requests).toHaveLength(1);
    expect(integration.stats().dropped.rejected).toBe(1);
  });

  it('does not retry a 401, says which environment and what to fix, and never names the key', async () => {
    const { dataPlane, integration, logger, writeKey } = await startHarness();
    dataPlane.fail({ status: 401, body: 'invalid write key' });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.requests).toHaveLength(1);
    expect(integration.stats().dropped.rejected).toBe(1);
    expect(logger.text()).toMatch(/env-a.*HTTP 401.*Write Key of an HTTP API source/);
    expect(logger.text()).not.toContain(writeKey);
  });
});

describe('onBatchResult', () => {
  it('tells the host what became of each request, with the last status and the attempts', async () => {
    const results: BatchResult[] = [];
    const { dataPlane, integration } = await startHarness({ maxRetries: 1, onBatchResult: (result) => results.push(result) });
    dataPlane.fail({ status: 503 });
    integration.postIdentityFetch(identityContext('env-a', 'retried-then-delivered'));
    await integration.flush();
    dataPlane.fail({ status: 400 });
    integration.postIdentityFetch(identityContext('env-a', 'refused'));
    await integration.flush();
    // durationMs and bytes are the last attempt's: its own time, and its gzipped body as the data plane received it.
    const wireBytes = dataPlane.requests.map((request) => Number(request.headers['content-length']));
    expect(wireBytes).toHaveLength(3);
    expect(results).toEqual([
      {
        environmentKeys: ['env-a'],
        dataPlaneUrl: dataPlane.url,
        events: 1,
        result: 'delivered',
        attempts: 2,
        status: 200,
        durationMs: expect.any(Number),
        bytes: wireBytes[1],
      },
      {
        environmentKeys: ['env-a'],
        dataPlaneUrl: dataPlane.url,
        events: 1,
        result: 'rejected',
        attempts: 1,
        status: 400,
        durationMs: expect.any(Number),
        bytes: wireBytes[2],
      },
    ]);
    for (const result of results) expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('says which network error ended a request that had no answer', async () => {
    const results: BatchResult[] = [];
    const integration = createIntegration({
      config: { 'env-a': { api_key: 'k', base_url: 'http://127.0.0.1:1' } },
      maxRetries: 0,
      onBatchResult: (result) => results.push(result),
    });
    integration.postIdentityFetch(identityContext('env-a', 'u1'));
    await integration.flush();
    expect(results).toEqual([
      expect.objectContaining({ result: 'retries_exhausted', attempts: 1, timedOut: false, error: expect.stringMatching(/ECONNREFUSED/) }),
    ]);
    expect(results[0]).not.toHaveProperty('status');
  });

  it('logs and ignores a callback that throws', async () => {
    const { dataPlane, integration, logger } = await startHarness({
      onBatchResult: () => {
        throw new Error('host bug');
      },
    });
    integration.postIdentityFetch(identityContext('env-a', 'u1'));
    await integration.flush();
    expect(dataPlane.events).toHaveLength(1);
    expect(integration.stats().delivered).toBe(1);
    expect(logger.text()).toMatch(/onBatchResult threw, and was ignored: Error: host bug/);
  });
});
