import * as traitsHash from '../../src/change-detection/traits-hash';
import { RudderStackIntegration } from '../../src/integration';
import type { IntegrationStats, SharedChangeStore } from '../../src/types';
import { apiFlags, closeHarnesses, createIntegration, identityContext, startDataPlane, startHarness } from '../helpers/harness';

afterEach(closeHarnesses);
afterEach(() => jest.restoreAllMocks());

const ON = { sendOnlyOnChange: { ttlMs: 60_000, maxEntries: 1_000 } };

/** Every hook call is accounted for exactly once; unchanged identifies are settled, not sent. */
function accountedFor(stats: IntegrationStats): number {
  const dropped = Object.values(stats.dropped).reduce((sum, count) => sum + count, 0);
  return stats.skipped + dropped + stats.delivered + stats.unchanged + stats.queued + stats.inFlight - stats.splitEvents;
}

describe('sendOnlyOnChange, in-process', () => {
  it('skips an identity whose flags were already delivered, and counts it', async () => {
    const hash = jest.spyOn(traitsHash, 'hashTraits');
    const { dataPlane, integration } = await startHarness(ON);
    for (let i = 0; i < 3; i++) {
      integration.postIdentityFetch(identityContext('env-a', 'user-1', { checkout_v2: 'blue', max: 3 }));
      await integration.flush();
    }
    expect(dataPlane.events).toHaveLength(1);
    const stats = integration.stats();
    expect(stats).toMatchObject({ received: 3, delivered: 1, unchanged: 2 });
    expect(accountedFor(stats)).toBe(3);
    expect(hash).toHaveBeenCalledTimes(3);
  });

  it('sends the same flags once while they are being sent, however many calls arrive meanwhile', async () => {
    const { dataPlane, integration } = await startHarness(ON);
    for (let i = 0; i < 5; i++) integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    expect(integration.stats().unchanged).toBe(4);
    await integration.flush();
    expect(dataPlane.events).toHaveLength(1);
  });

  it('sends a change at once, and tells identities and environments apart', async () => {
    const dataPlane = await startDataPlane();
    const settings = { api_key: 'k', base_url: dataPlane.url };
    const integration = createIntegration({ ...ON, config: { 'env-a': settings, 'env-b': settings }, flushIntervalMs: 20 });
    const themes = (): unknown[][] => dataPlane.events.map((event) => [event.userId, (event.traits as Record<string, unknown>).theme]);
    integration.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'dark' }));
    await integration.flush();
    integration.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'light' }));
    await integration.flush();
    expect(themes()).toEqual([
      ['user-1', 'dark'],
      ['user-1', 'light'],
    ]);
    integration.postIdentityFetch(identityContext('env-a', 'user-2', { theme: 'light' }));
    integration.postIdentityFetch(identityContext('env-b', 'user-1', { theme: 'light' }));
    await integration.flush();
    expect(themes()).toHaveLength(4);
    expect(integration.stats().unchanged).toBe(0);
  });

  it('does not care about flag order', async () => {
    const { dataPlane, integration } = await startHarness(ON);
    const flags = { a: 1, b: 'two', c: true, d: false };
    integration.postIdentityFetch({ environmentKey: 'env-a', identity: { identifier: 'u' }, flags: apiFlags(flags) });
    await integration.flush();
    integration.postIdentityFetch({ environmentKey: 'env-a', identity: { identifier: 'u' }, flags: apiFlags(flags).reverse() });
    await integration.flush();
    expect(dataPlane.events).toHaveLength(1);
    expect(integration.stats().unchanged).toBe(1);
  });

  it('does not remember an identify the data plane refused (400): the next call sends it', async () => {
    const { dataPlane, integration } = await startHarness(ON);
    dataPlane.fail({ status: 400 });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(integration.stats().dropped.rejected).toBe(1);
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.events).toHaveLength(1);
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.events).toHaveLength(1);
    expect(accountedFor(integration.stats())).toBe(3);
  });

  it('does not remember an identify whose retries ran out: the next call sends it', async () => {
    const { dataPlane, integration } = await startHarness({ ...ON, maxRetries: 1 });
    dataPlane.fail([{ status: 503 }, { status: 503 }]);
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(integration.stats().dropped.retries_exhausted).toBe(1);
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.events).toHaveLength(1);
    expect(integration.stats().unchanged).toBe(0);
  });

  it('does not remember an identify dropped before any request (queue full)', async () => {
    const { dataPlane, integration } = await startHarness({ ...ON, maxQueueSize: 1, flushIntervalMs: 60_000 });
    // Settings cached first, so that the next events wait in delivery's queue, where they can be evicted.
    integration.postIdentityFetch(identityContext('env-a', 'warm-up'));
    await integration.flush();
    integration.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'dark' }));
    integration.postIdentityFetch(identityContext('env-a', 'user-2', { theme: 'dark' })); // evicts user-1's
    expect(integration.stats().dropped.queue_full).toBe(1);
    await integration.flush();
    integration.postIdentityFetch(identityContext('env-a', 'user-1', { theme: 'dark' }));
    await integration.flush();
    expect(dataPlane.events.map((event) => event.userId)).toEqual(['warm-up', 'user-2', 'user-1']);
  });

  it('sends a remembered state again once ttlMs has passed since its delivery', async () => {
    const { dataPlane, integration } = await startHarness({ sendOnlyOnChange: { ttlMs: 1, maxEntries: 10 } });
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
    integration.postIdentityFetch(identityContext('env-a', 'user-1'));
    await integration.flush();
    expect(dataPlane.events).toHaveLength(2);
  });

  it('always sends an identify split over maxEventBytes: its parts are not remembered', async () => {
    const { dataPlane, integration } = await startHarness({ ...ON, maxEventBytes: 600 });
    const flags = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`flag_${i}`, 'v'.repeat(40)]));
    for (let i = 0; i < 2; i++) {
      integration.postIdentityFetch(identityContext('env-a', 'user-1', flags));
      await integration.flush();
    }
    const stats = integration.stats();
    expect(stats.splitEvents).toBeGreaterThan(0);
    expect(stats.unchanged).toBe(0);
    expect(dataPlane.events).toHaveLength(2 + stats.splitEvents);
    expect(accountedFor(stats)).toBe(2);
  });

  it('is off by default: every call is sent and nothing is hashed', async () => {
    const hash = jest.spyOn(traitsHash, 'hashTraits');
    const { dataPlane, integration } = await startHarness();
    for (let i = 0; i < 3; i++) {
      integration.postIdentityFetch(identityContext('env-a', 'user-1'));
      await integration.flush();
    }
    expect(dataPlane.events).toHaveLength(3);
    expect(integration.stats().unchanged).toBe(0);
    expect(hash).not.toHaveBeenCalled();
  });
});

describe('sendOnlyOnChange options', () => {
  const config = {};
  const store: SharedChangeStore = {
    claim: async () => 'changed',
    confirm: async () => undefined,
    release: async () => undefined,
  };

  it('refuses what it cannot use, saying what is wrong', () => {
    const attempt = (value: unknown) => () => new RudderStackIntegration({ config, sendOnlyOnChange: value as never });
    expect(attempt(true)).toThrow(/sendOnlyOnChange must be an object/);
    expect(attempt({ maxEntries: 10 })).toThrow(/sendOnlyOnChange\.ttlMs must be a whole number of at least 1 \(got undefined\)/);
    expect(attempt({ ttlMs: 1.5, maxEntries: 10 })).toThrow(/ttlMs must be a whole number/);
    expect(attempt({ ttlMs: 1000 })).toThrow(/sendOnlyOnChange\.maxEntries is required without a store/);
    expect(attempt({ ttlMs: 1000, maxEntries: 0 })).toThrow(/sendOnlyOnChange\.maxEntries must be a whole number of at least 1 \(got 0\)/);
    expect(attempt({ ttlMs: 1000, store: {} })).toThrow(/sendOnlyOnChange\.store must be a shared change store/);
  });

  it('accepts an in-process bound, or a shared store without one', async () => {
    const inProcess = new RudderStackIntegration({ config, sendOnlyOnChange: { ttlMs: 1000, maxEntries: 10 } });
    const shared = new RudderStackIntegration({ config, sendOnlyOnChange: { ttlMs: 1000, store } });
    await Promise.all([inProcess.close(), shared.close()]);
  });
});
