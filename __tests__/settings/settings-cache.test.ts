import { SettingsCache, type SettingsCacheOptions } from '../../src/settings/settings-cache';
import type { ConfigSource, Logger, RudderStackSettings } from '../../src/types';

const TTL = 60_000;
const KEY = 'WrItEkEy-2Xk9QvB7mN4pL8rT1sW6';
const ACME: RudderStackSettings = { api_key: KEY, base_url: 'https://acme.example/v1/batch' };
const ACME_ENTRY = { kind: 'valid', settings: { writeKey: KEY, dataPlaneUrl: 'https://acme.example' } };

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets settled promises run their callbacks. */
function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function fakeLogger(): jest.Mocked<Logger> {
  return { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
}

type Answer = RudderStackSettings | null | undefined | Promise<RudderStackSettings | null>;

function setUp(answer: (environmentKey: string) => Answer, options: Partial<SettingsCacheOptions> = {}) {
  let time = 1_000_000;
  const get = jest.fn(answer);
  const logger = fakeLogger();
  const onLookupError = jest.fn();
  const cache = new SettingsCache({
    source: { get } as ConfigSource,
    ttlMs: TTL,
    allowPrivateNetworks: false,
    logger,
    onLookupError,
    now: () => time,
    ...options,
  });
  const advance = (ms: number): void => {
    time += ms;
  };
  return { cache, get, logger, onLookupError, advance };
}

describe('SettingsCache: lookups and TTL', () => {
  it('validates what the source returns and serves it from the cache until the TTL ends', async () => {
    const { cache, get, advance } = setUp(() => ACME);
    expect(cache.peek('env')).toBeUndefined();
    await expect(cache.load('env')).resolves.toEqual(ACME_ENTRY);
    expect(cache.peek('env')).toEqual(ACME_ENTRY);
    advance(TTL - 1);
    await expect(cache.load('env')).resolves.toEqual(ACME_ENTRY);
    expect(get).toHaveBeenCalledTimes(1);
    expect(get).toHaveBeenCalledWith('env');
  });

  it.each([null, undefined])('caches "disabled" for %s, and looks up again after the TTL', async (answer) => {
    const { cache, get, advance } = setUp(() => answer);
    await expect(cache.load('env')).resolves.toEqual({ kind: 'disabled' });
    advance(TTL - 1);
    expect(cache.peek('env')).toEqual({ kind: 'disabled' });
    advance(1);
    expect(cache.peek('env')).toBeUndefined();
    await expect(cache.load('env')).resolves.toEqual({ kind: 'disabled' });
    expect(get).toHaveBeenCalledTimes(2);
  });

  it('validates with allowPrivateNetworks as configured', async () => {
    const privateSettings = { api_key: KEY, base_url: 'http://10.0.0.5:8080' };
    const refused = setUp(() => privateSettings);
    await expect(refused.cache.load('env')).resolves.toMatchObject({ kind: 'invalid' });
    const allowed = setUp(() => privateSettings, { allowPrivateNetworks: true });
    await expect(allowed.cache.load('env')).resolves.toEqual({
      kind: 'valid',
      settings: { writeKey: KEY, dataPlaneUrl: 'http://10.0.0.5:8080' },
    });
  });

  it('keeps environments apart', async () => {
    const { cache, get } = setUp((environmentKey) => (environmentKey === 'on' ? ACME : null));
    await expect(cache.load('on')).resolves.toEqual(ACME_ENTRY);
    await expect(cache.load('off')).resolves.toEqual({ kind: 'disabled' });
    expect(get.mock.calls).toEqual([['on'], ['off']]);
  });

  it('resolves a synchronous source through the promise', async () => {
    const { cache } = setUp(() => ACME);
    const loading = cache.load('env');
    expect(loading).toBeInstanceOf(Promise);
    await expect(loading).resolves.toEqual(ACME_ENTRY);
  });
});

describe('SettingsCache: coalescing', () => {
  it('shares one asynchronous source call among 50 concurrent loads', async () => {
    const answer = deferred<RudderStackSettings | null>();
    const { cache, get } = setUp(() => answer.promise);
    const loads = Array.from({ length: 50 }, () => cache.load('env'));
    answer.resolve(ACME);
    const entries = await Promise.all(loads);
    expect(get).toHaveBeenCalledTimes(1);
    expect(entries).toEqual(Array.from({ length: 50 }, () => ACME_ENTRY));
  });

  it('shares one synchronous source call among 50 concurrent loads', async () => {
    const { cache, get } = setUp(() => ACME);
    const entries = await Promise.all(Array.from({ length: 50 }, () => cache.load('env')));
    expect(get).toHaveBeenCalledTimes(1);
    expect(new Set(entries.map((entry) => entry.kind))).toEqual(new Set(['valid']));
  });

  it('does not share a lookup between environments', async () => {
    const { cache, get } = setUp(() => ACME);
    await Promise.all([cache.load('a'), cache.load('b'), cache.load('a')]);
    expect(get.mock.calls).toEqual([['a'], ['b']]);
  });
});

describe('SettingsCache: invalid settings', () => {
  it('caches the validation errors for the TTL and warns once, without the write key', async () => {
    const pastedKey = { api_key: KEY, base_url: `https://${KEY}@acme.example` };
    const { cache, get, logger, advance } = setUp(() => pastedKey);
    const entry = await cache.load('env');
    expect(entry).toEqual({
      kind: 'invalid',
      errors: [
        'base_url: "https://acme.example/" has a user name or password before the host ("...@"); ' +
          'remove it: the write key belongs in api_key, not in the URL',
      ],
    });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    const [message] = logger.warn.mock.calls[0];
    expect(message).toBe(`RudderStack settings for environment env are invalid: ${(entry as { errors: string[] }).errors[0]}`);
    expect(JSON.stringify(logger.warn.mock.calls)).not.toContain(KEY);
    advance(TTL - 1);
    expect(cache.peek('env')).toEqual(entry);
    advance(1);
    await cache.load('env');
    expect(get).toHaveBeenCalledTimes(2);
    expect(logger.warn).toHaveBeenCalledTimes(2);
  });
});

describe('SettingsCache: failed lookups', () => {
  const failures: Array<[string, () => Answer]> = [
    [
      'throws synchronously',
      () => {
        throw new Error('connection refused');
      },
    ],
    ['rejects', () => Promise.reject(new Error('connection refused'))],
  ];

  it.each(failures)('a source that %s gives an "error" entry, counted and logged', async (_, answer) => {
    const { cache, logger, onLookupError } = setUp(answer);
    await expect(cache.load('env')).resolves.toEqual({ kind: 'error' });
    expect(onLookupError.mock.calls).toEqual([['env']]);
    expect(logger.warn.mock.calls).toEqual([
      ['RudderStack settings lookup failed for environment env: connection refused', { environmentKey: 'env', reason: 'config_error' }],
    ]);
  });

  it('caches the error for errorRetryMs (default min(ttlMs, 5000)), then looks up again', async () => {
    const { cache, get, advance } = setUp(() => Promise.reject(new Error('down')));
    await cache.load('env');
    advance(4_999);
    expect(cache.peek('env')).toEqual({ kind: 'error' });
    advance(1);
    expect(cache.peek('env')).toBeUndefined();
    await cache.load('env');
    expect(get).toHaveBeenCalledTimes(2);
  });

  it('uses ttlMs as the error retry when it is shorter than 5000', async () => {
    const { cache, advance } = setUp(() => Promise.reject(new Error('down')), { ttlMs: 1_000 });
    await cache.load('env');
    advance(999);
    expect(cache.peek('env')).toEqual({ kind: 'error' });
    advance(1);
    expect(cache.peek('env')).toBeUndefined();
  });

  it('counts every failure but warns once per environment per TTL', async () => {
    const { cache, logger, onLookupError, advance } = setUp(() => Promise.reject(new Error('down')), {
      errorRetryMs: 10_000,
    });
    for (let attempt = 0; attempt < 6; attempt += 1) {
      await cache.load('env');
      await cache.load('other');
      advance(10_000);
    }
    expect(onLookupError).toHaveBeenCalledTimes(12);
    expect(logger.warn.mock.calls).toEqual([
      ['RudderStack settings lookup failed for environment env: down', { environmentKey: 'env', reason: 'config_error' }],
      ['RudderStack settings lookup failed for environment other: down', { environmentKey: 'other', reason: 'config_error' }],
    ]);
    await cache.load('env');
    expect(logger.warn).toHaveBeenCalledTimes(3);
  });

  it('logs what a source threw that is not an Error', async () => {
    const { cache, logger } = setUp(() => Promise.reject('socket hang up'));
    await cache.load('env');
    expect(logger.warn.mock.calls).toEqual([
      ['RudderStack settings lookup failed for environment env: socket hang up', { environmentKey: 'env', reason: 'config_error' }],
    ]);
  });

  it('never rejects, even when the logger and the counter throw', async () => {
    const throwing = (): never => {
      throw new Error('broke');
    };
    const { cache } = setUp(() => Promise.reject(new Error('down')), {
      logger: { ...fakeLogger(), warn: throwing },
      onLookupError: throwing,
    });
    await expect(cache.load('env')).resolves.toEqual({ kind: 'error' });
    expect(cache.peek('env')).toEqual({ kind: 'error' });
  });

  describe('a source that never answers', () => {
    afterEach(() => {
      jest.useRealTimers();
    });

    it('times out after lookupTimeoutMs (default 5000) and counts as an error', async () => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
      const { cache, logger, onLookupError } = setUp(() => new Promise(() => undefined));
      let settled: unknown;
      void cache.load('env').then((entry) => (settled = entry));
      await jest.advanceTimersByTimeAsync(4_999);
      expect(settled).toBeUndefined();
      await jest.advanceTimersByTimeAsync(1);
      expect(settled).toEqual({ kind: 'error' });
      expect(onLookupError).toHaveBeenCalledTimes(1);
      expect(logger.warn.mock.calls).toEqual([
        ['RudderStack settings lookup failed for environment env: no answer within 5000 ms', { environmentKey: 'env', reason: 'config_error' }],
      ]);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('uses a timer that does not hold the process open', async () => {
      const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
      try {
        const { cache } = setUp(() => new Promise(() => undefined), { lookupTimeoutMs: 1 });
        await expect(cache.load('env')).resolves.toEqual({ kind: 'error' });
        const timer = setTimeoutSpy.mock.results[0].value as NodeJS.Timeout;
        expect(timer.hasRef()).toBe(false);
      } finally {
        setTimeoutSpy.mockRestore();
      }
    });
  });

  it('clears the timeout timer when the source answers', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    try {
      const { cache } = setUp(() => Promise.resolve(ACME));
      await cache.load('env');
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('SettingsCache: stale grace', () => {
  function flakySource() {
    let failing = false;
    let settings = ACME;
    return {
      answer: () => (failing ? Promise.reject(new Error('database unavailable')) : Promise.resolve(settings)),
      fail: () => {
        failing = true;
      },
      recover: (next: RudderStackSettings) => {
        failing = false;
        settings = next;
      },
    };
  }

  it('serves an expired valid entry at once and refreshes it in the background', async () => {
    const refreshed = deferred<RudderStackSettings | null>();
    let calls = 0;
    const { cache, get, advance } = setUp(() => (++calls === 1 ? ACME : refreshed.promise));
    await cache.load('env');
    advance(TTL);
    expect(cache.peek('env')).toEqual(ACME_ENTRY);
    await expect(cache.load('env')).resolves.toEqual(ACME_ENTRY);
    expect(get).toHaveBeenCalledTimes(2);
    refreshed.resolve({ api_key: 'new-key' });
    await flushPromises();
    expect(cache.peek('env')).toEqual({
      kind: 'valid',
      settings: { writeKey: 'new-key', dataPlaneUrl: 'https://hosted.rudderlabs.com' },
    });
  });

  it('keeps the last valid entry while refreshes fail, for staleGraceMs past expiry', async () => {
    const source = flakySource();
    const { cache, get, onLookupError, advance } = setUp(source.answer, { staleGraceMs: 100_000 });
    await cache.load('env');
    source.fail();
    advance(TTL);
    expect(cache.peek('env')).toEqual(ACME_ENTRY);
    await flushPromises();
    expect(onLookupError).toHaveBeenCalledTimes(1);
    // The failed refresh is not retried before errorRetryMs.
    advance(4_999);
    expect(cache.peek('env')).toEqual(ACME_ENTRY);
    expect(get).toHaveBeenCalledTimes(2);
    advance(100_000 - 4_999 - 1);
    await expect(cache.load('env')).resolves.toEqual(ACME_ENTRY);
    await flushPromises();
    advance(1);
    expect(cache.peek('env')).toBeUndefined();
    await expect(cache.load('env')).resolves.toEqual({ kind: 'error' });
  });

  it('replaces the stale entry once a refresh succeeds', async () => {
    const source = flakySource();
    const { cache, advance } = setUp(source.answer);
    await cache.load('env');
    source.fail();
    advance(TTL);
    cache.peek('env');
    await flushPromises();
    source.recover({ api_key: 'rotated-key', base_url: 'https://other.example' });
    advance(5_000);
    expect(cache.peek('env')).toEqual(ACME_ENTRY);
    await flushPromises();
    expect(cache.peek('env')).toEqual({
      kind: 'valid',
      settings: { writeKey: 'rotated-key', dataPlaneUrl: 'https://other.example' },
    });
  });

  it('does not fall back to a valid entry once settings were found invalid', async () => {
    let answer: () => Answer = () => ACME;
    const { cache, advance } = setUp(() => answer());
    await cache.load('env');
    advance(TTL + 1);
    answer = () => ({ api_key: ' ' });
    cache.peek('env');
    await flushPromises();
    advance(TTL);
    answer = () => Promise.reject(new Error('down'));
    await expect(cache.load('env')).resolves.toEqual({ kind: 'error' });
  });
});

describe('SettingsCache: invalidate', () => {
  it('drops one environment', async () => {
    const { cache, get } = setUp(() => ACME);
    await cache.load('a');
    await cache.load('b');
    cache.invalidate('a');
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')).toEqual(ACME_ENTRY);
    await cache.load('a');
    expect(get).toHaveBeenCalledTimes(3);
  });

  it('drops every environment', async () => {
    const { cache } = setUp(() => ACME);
    await cache.load('a');
    await cache.load('b');
    cache.invalidate();
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it.each([
    ['one', 'env'],
    ['all', undefined],
  ])('keeps a lookup running during invalidate (%s) from storing its stale result', async (_, invalidated) => {
    const before = deferred<RudderStackSettings | null>();
    const after = deferred<RudderStackSettings | null>();
    const answers = [before.promise, after.promise];
    const { cache, get } = setUp(() => answers.shift() ?? null);
    const stale = cache.load('env');
    cache.invalidate(invalidated);
    const fresh = cache.load('env');
    expect(get).toHaveBeenCalledTimes(2);
    after.resolve({ api_key: 'new-key' });
    await expect(fresh).resolves.toMatchObject({ kind: 'valid', settings: { writeKey: 'new-key' } });
    before.resolve(ACME);
    await expect(stale).resolves.toEqual(ACME_ENTRY);
    expect(cache.peek('env')).toMatchObject({ kind: 'valid', settings: { writeKey: 'new-key' } });
  });

  it('does not store a lookup that finishes after invalidate when no new lookup started', async () => {
    const answer = deferred<RudderStackSettings | null>();
    const { cache } = setUp(() => answer.promise);
    const loading = cache.load('env');
    cache.invalidate('env');
    answer.resolve(ACME);
    await expect(loading).resolves.toEqual(ACME_ENTRY);
    expect(cache.peek('env')).toBeUndefined();
  });
});

describe('SettingsCache: memory', () => {
  it('forgets environments with nothing left to serve, lazily', async () => {
    const { cache, advance } = setUp(() => null, { staleGraceMs: 0 });
    for (let i = 0; i < 100; i += 1) await cache.load(`garbage-${i}`);
    expect(cache.size).toBe(100);
    advance(TTL);
    await cache.load('real');
    expect(cache.size).toBe(1);
    expect(cache.peek('real')).toEqual({ kind: 'disabled' });
  });

  it('keeps a valid entry that is still within its stale grace', async () => {
    const { cache, advance } = setUp(() => ACME);
    await cache.load('env');
    advance(TTL);
    await cache.load('other');
    expect(cache.size).toBe(2);
  });
});
