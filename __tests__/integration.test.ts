import { RudderStackIntegration } from '../src/integration';
import type { ConfigSource, FetchLike, IdentityFetchContext, IntegrationStats, Logger, RudderStackIntegrationOptions, RudderStackSettings } from '../src/types';
import { captureLogger, closeHarnesses, createIntegration, identityContext, startDataPlane, startHarness, waitFor } from './helpers/harness';

afterEach(closeHarnesses);

/** Every hook call is accounted for exactly once (a split event adds events of its own). */
function accountedFor(stats: IntegrationStats): number {
  const dropped = Object.values(stats.dropped).reduce((sum, count) => sum + count, 0);
  return stats.skipped + dropped + stats.delivered + stats.queued + stats.inFlight - stats.splitEvents;
}

describe('the hook', () => {
  it('returns before any I/O: nothing is sent until the event loop turns', async () => {
    const { dataPlane, integration } = await startHarness({ flushAt: 1 });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    expect(dataPlane.requests).toHaveLength(0);
    await dataPlane.waitForEvents(1);
  });

  it('never throws, whatever it is given, and counts every call it could not use', () => {
    const integration = createIntegration({ config: { 'env-a': { api_key: 'k', base_url: 'http://127.0.0.1:9' } } });
    const hostile: unknown[] = [
      undefined,
      null,
      42,
      'text',
      {},
      { environmentKey: 'env-a' },
      { environmentKey: 'env-a', identity: null, flags: [] },
      { environmentKey: 'env-a', identity: { identifier: '   ' }, flags: [] },
      { environmentKey: 'env-a', identity: { identifier: 7 }, flags: [] },
      { environmentKey: 'env-a', identity: { identifier: 'u' }, flags: 'nope' },
      {
        environmentKey: 'env-a',
        identity: { identifier: 'u' },
        flags: {
          allFlags: () => {
            throw new Error('boom');
          },
        },
      },
      {
        get environmentKey(): string {
          throw new Error('getter');
        },
      },
      { environmentKey: 17, identity: { identifier: 'u' }, flags: [] },
    ];
    for (const context of hostile) {
      expect(() => integration.postIdentityFetch(context as IdentityFetchContext)).not.toThrow();
    }
    const stats = integration.stats();
    expect(stats.received).toBe(hostile.length);
    expect(stats.dropped.no_user_id).toBe(2);
    expect(stats.dropped.invalid_input).toBe(hostile.length - 2);
    expect(accountedFor(stats)).toBe(hostile.length);
  });

  it('logs bad input at most once a minute per reason, saying what was wrong', () => {
    const logger = captureLogger();
    const integration = createIntegration({ config: {}, logger });
    for (let i = 0; i < 50; i++) integration.postIdentityFetch(null as unknown as IdentityFetchContext);
    const lines = logger.lines.filter((line) => line.text.includes('invalid_input'));
    expect(lines).toHaveLength(1);
  });

  it('skips environments without settings, without mapping their flags', async () => {
    const integration = createIntegration({ config: { 'env-a': { api_key: 'k', base_url: 'https://hosted.rudderlabs.com' } } });
    let flagsRead = 0;
    const context = {
      environmentKey: 'env-off',
      identity: { identifier: 'u' },
      flags: {
        allFlags: () => {
          flagsRead++;
          return [];
        },
      },
    };
    integration.postIdentityFetch(context);
    await integration.flush();
    integration.postIdentityFetch(context);
    expect(integration.stats().skipped).toBe(2);
    // The first call maps while the lookup runs; once the cache says "off", flags are not touched.
    expect(flagsRead).toBe(1);
  });

  it('drops events of an environment whose settings are invalid, and says why once, without the key', async () => {
    const logger = captureLogger();
    const integration = createIntegration({
      config: { 'env-bad': { api_key: 'sekret-key-123', base_url: 'ftp://sekret-key-123@example.com' } },
      logger,
    });
    for (let i = 0; i < 3; i++) {
      integration.postIdentityFetch(identityContext('env-bad', `u${i}`));
      await integration.flush();
    }
    expect(integration.stats().dropped.invalid_settings).toBe(3);
    const warnings = logger.lines.filter((line) => line.text.includes('env-bad'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.text).toMatch(/base_url/);
    expect(logger.text()).not.toContain('sekret-key-123');
  });

  it('waits for an asynchronous settings lookup, one lookup for many concurrent events', async () => {
    const dataPlane = await startDataPlane();
    let lookups = 0;
    const source: ConfigSource = {
      get: async (environmentKey): Promise<RudderStackSettings | null> => {
        lookups++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return environmentKey === 'env-a' ? { api_key: 'k', base_url: dataPlane.url } : null;
      },
    };
    const integration = createIntegration({ config: source });
    for (let i = 0; i < 25; i++) integration.postIdentityFetch(identityContext('env-a', `u${i}`));
    await integration.flush();
    expect(lookups).toBe(1);
    expect(dataPlane.events).toHaveLength(25);
  });

  it('counts a settings lookup that fails, never throws it, and looks up again later', async () => {
    const dataPlane = await startDataPlane();
    let calls = 0;
    const source: ConfigSource = {
      get: () => {
        calls++;
        if (calls === 1) throw new Error('database is down');
        return { api_key: 'k', base_url: dataPlane.url };
      },
    };
    const logger = captureLogger();
    const integration = createIntegration({ config: source, configTtlMs: 0, logger });
    integration.postIdentityFetch(identityContext('env-a', 'lost'));
    await integration.flush();
    expect(integration.stats()).toMatchObject({ configErrors: 1, dropped: expect.objectContaining({ config_error: 1 }) });
    expect(logger.text()).toMatch(/env-a.*database is down/);
    integration.postIdentityFetch(identityContext('env-a', 'found'));
    await integration.flush();
    expect(dataPlane.events.map((event) => event.userId)).toEqual(['found']);
  });

  it('uses new settings after invalidate()', async () => {
    const first = await startDataPlane();
    const second = await startDataPlane();
    const settings: Record<string, RudderStackSettings> = { 'env-a': { api_key: 'k', base_url: first.url } };
    const integration = createIntegration({ config: { get: (key) => settings[key] ?? null }, configTtlMs: 3_600_000 });
    integration.postIdentityFetch(identityContext('env-a', 'before'));
    await integration.flush();
    settings['env-a'] = { api_key: 'k', base_url: second.url };
    integration.postIdentityFetch(identityContext('env-a', 'cached'));
    await integration.flush();
    integration.invalidate('env-a');
    integration.postIdentityFetch(identityContext('env-a', 'after'));
    await integration.flush();
    expect(first.events.map((event) => event.userId)).toEqual(['before', 'cached']);
    expect(second.events.map((event) => event.userId)).toEqual(['after']);
  });
});

describe('bounded memory', () => {
  it('drops the oldest queued events when maxQueueSize is reached, and counts them', async () => {
    const dataPlane = await startDataPlane();
    dataPlane.fail({ action: 'hang' });
    const integration = createIntegration({
      config: { 'env-a': { api_key: 'k', base_url: dataPlane.url } },
      flushAt: 2,
      maxConcurrentRequests: 1,
      maxQueueSize: 5,
      requestTimeoutMs: 300,
      retryBaseDelayMs: 0,
    });
    integration.postIdentityFetch(identityContext('env-a', 'in-flight-1'));
    integration.postIdentityFetch(identityContext('env-a', 'in-flight-2'));
    await waitFor(() => integration.stats().inFlight === 2, 'the first batch to be sent');
    for (let i = 0; i < 10; i++) integration.postIdentityFetch(identityContext('env-a', `queued-${i}`));
    const stats = integration.stats();
    expect(stats.dropped.queue_full).toBe(7);
    expect(stats.queued + stats.inFlight).toBe(5);
    expect(accountedFor(stats)).toBe(12);
    // The hung attempt times out and is retried; what survived is the batch in flight and the newest three.
    await integration.flush();
    expect(dataPlane.events.map((event) => event.userId).sort()).toEqual(['in-flight-1', 'in-flight-2', 'queued-7', 'queued-8', 'queued-9']);
  });
});

describe('flush and close', () => {
  it('flush() waits for retries of what was accepted before it', async () => {
    const { dataPlane, integration } = await startHarness();
    dataPlane.fail([{ status: 503 }, { status: 503 }]);
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.events).toHaveLength(1);
    expect(integration.stats()).toMatchObject({ delivered: 1, retried: 2, queued: 0, inFlight: 0 });
  });

  it('close() delivers everything, then counts later events as closed; it runs once', async () => {
    const { dataPlane, integration } = await startHarness({ flushIntervalMs: 60_000 });
    for (let i = 0; i < 250; i++) integration.postIdentityFetch(identityContext('env-a', `u${i}`));
    const closing = integration.close();
    expect(integration.close()).toBe(closing);
    integration.postIdentityFetch(identityContext('env-a', 'too-late'));
    await closing;
    expect(dataPlane.events).toHaveLength(250);
    expect(integration.stats()).toMatchObject({ received: 251, delivered: 250, queued: 0, inFlight: 0 });
    expect(integration.stats().dropped.closed).toBe(1);
  });

  it('close({ timeoutMs }) gives up on a hanging data plane, counts what it abandoned and says so', async () => {
    const { dataPlane, integration, logger } = await startHarness({ requestTimeoutMs: 60_000 });
    dataPlane.fail({ action: 'hang' });
    for (let i = 0; i < 3; i++) integration.postIdentityFetch(identityContext('env-a', `u${i}`));
    await integration.close({ timeoutMs: 100 });
    expect(integration.stats()).toMatchObject({ queued: 0, inFlight: 0, delivered: 0 });
    expect(integration.stats().dropped.close_timeout).toBe(3);
    expect(logger.text()).toMatch(/closed after 100 ms with 3 event\(s\) undelivered/);
  });

  it('`await using` closes the integration at the end of its block, delivering what it held', async () => {
    const writeKey = 'wk_dispose_0123456789';
    const dataPlane = await startDataPlane({ writeKeys: [writeKey] });
    let used: RudderStackIntegration | undefined;
    {
      await using integration = createIntegration({ config: { 'env-a': { api_key: writeKey, base_url: dataPlane.url } }, flushIntervalMs: 60_000 });
      used = integration;
      integration.postIdentityFetch(identityContext('env-a', 'u1'));
    }
    expect(dataPlane.events).toHaveLength(1);
    used.postIdentityFetch(identityContext('env-a', 'too-late'));
    expect(used.stats()).toMatchObject({ delivered: 1, queued: 0, inFlight: 0 });
    expect(used.stats().dropped.closed).toBe(1);
  });

  it('never puts the write key into stats or logs', async () => {
    const { dataPlane, integration, logger, writeKey } = await startHarness();
    dataPlane.fail([{ status: 500 }, { status: 401 }]);
    integration.postIdentityFetch(identityContext('env-a', 'u1'));
    await integration.close();
    expect(JSON.stringify(integration.stats())).not.toContain(writeKey);
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(logger.text()).not.toContain(writeKey);
    expect(logger.text()).not.toContain(Buffer.from(`${writeKey}:`).toString('base64'));
  });
});

describe('options', () => {
  it('refuses wrong options at construction, naming each one', () => {
    expect(() => new RudderStackIntegration({ config: {}, flushAt: 0, maxRetries: -1, valueMode: 'python' as never, gzip: 'yes' as never })).toThrow(
      /flushAt must be a whole number of at least 1.*maxRetries.*valueMode.*gzip/,
    );
  });

  it.each([[[]], [[null]], [['flushAt: 10']]])('refuses construction with arguments %j with a TypeError that says what it takes', (args) => {
    expect(() => Reflect.construct(RudderStackIntegration, args)).toThrow(
      new TypeError(`flagsmith-rudderstack: invalid options: options must be an object with at least config (got ${describeArg(args[0])})`),
    );
  });

  it('refuses an unknown option, suggesting the closest known name', () => {
    const misspelt = { config: {}, flushAT: 10, maxRetrys: 2, colour: 'blue' } as RudderStackIntegrationOptions;
    expect(() => new RudderStackIntegration(misspelt)).toThrow(
      new TypeError(
        'flagsmith-rudderstack: invalid options: unknown option flushAT (did you mean flushAt?); ' +
          'unknown option maxRetrys (did you mean maxRetries?); unknown option colour',
      ),
    );
  });

  it('refuses a logger without every level, and console.log passed for console', () => {
    const noWarn = { debug() {}, info() {}, error() {} } as unknown as Logger;
    expect(() => new RudderStackIntegration({ config: {}, logger: noWarn })).toThrow(
      /^flagsmith-rudderstack: invalid options: logger must be an object with debug, info, warn and error methods, such as console or a pino logger \(warn is missing\)$/,
    );
    expect(() => new RudderStackIntegration({ config: {}, logger: console.log as unknown as Logger })).toThrow(
      /logger must be an object with debug, info, warn and error methods, such as console or a pino logger \(got a function: pass console, not console.log\)/,
    );
  });

  it('refuses a fetch that is not a function', () => {
    expect(() => new RudderStackIntegration({ config: {}, fetch: { fetch } as unknown as FetchLike })).toThrow(
      /^flagsmith-rudderstack: invalid options: fetch must be a function \(url, init\) => Promise<Response> such as globalThis.fetch \(got an object\)$/,
    );
  });

  it('names every problem at once, in one TypeError', () => {
    const options = { config: {}, flushAT: 1, logger: console.log, fetch: 'fetch', maxRetries: -1 } as unknown as RudderStackIntegrationOptions;
    let thrown: unknown;
    try {
      new RudderStackIntegration(options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    const problems = (thrown as Error).message.replace('flagsmith-rudderstack: invalid options: ', '').split('; ');
    expect(problems).toEqual([
      expect.stringMatching(/^unknown option flushAT/),
      expect.stringMatching(/^maxRetries must be/),
      expect.stringMatching(/^logger must be/),
      expect.stringMatching(/^fetch must be/),
    ]);
  });
});

function describeArg(value: unknown): string {
  return value === undefined ? 'undefined' : value === null ? 'null' : `a ${typeof value}`;
}
