/**
 * integration.destinations(): each destination's state, what it holds and what became of its
 * events, against a real data plane on 127.0.0.1 that fails when told to. Its record outlives the
 * idle destination delivery forgets.
 */
import type { DestinationStatus, RudderStackSettings } from '../../src/types';
import { closeHarnesses, createIntegration, identityContext, startDataPlane, startHarness, waitFor } from '../helpers/harness';

afterEach(closeHarnesses);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function only(destinations: DestinationStatus[]): DestinationStatus {
  expect(destinations).toHaveLength(1);
  return destinations[0]!;
}

describe('integration.destinations()', () => {
  it('is empty before any event, and shows a delivering destination as idle once delivered, with its counts', async () => {
    const { dataPlane, integration, writeKey } = await startHarness();
    expect(integration.destinations()).toEqual([]);
    for (let i = 0; i < 3; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.flush();
    const destination = only(integration.destinations());
    expect(destination).toEqual({
      dataPlaneHost: new URL(dataPlane.url).host,
      environmentKeys: ['env-a'],
      state: 'idle',
      queued: 0,
      inFlight: 0,
      delivered: 3,
      dropped: 0,
      lastDeliveredAt: expect.stringMatching(ISO),
    });
    expect(JSON.stringify(integration.destinations())).not.toContain(writeKey);
  });

  it('keeps the record of a destination that delivery forgot while idle, and adds to it when it is made anew', async () => {
    const { integration } = await startHarness();
    integration.postIdentityFetch(identityContext('env-a', 'first'));
    await integration.flush();
    const before = only(integration.destinations());
    integration.postIdentityFetch(identityContext('env-a', 'second'));
    await integration.flush();
    const after = only(integration.destinations());
    expect(after.delivered).toBe(2);
    expect(after.lastDeliveredAt! >= before.lastDeliveredAt!).toBe(true);
  });

  it('shows events waiting for a batch, and events in a request, as sending', async () => {
    const { dataPlane, integration } = await startHarness({ flushIntervalMs: 60_000, requestTimeoutMs: 5_000 });
    integration.postIdentityFetch(identityContext('env-a', 'waiting'));
    await waitFor(() => integration.destinations()[0]?.queued === 1, 'the event to be queued');
    expect(only(integration.destinations())).toMatchObject({ state: 'sending', queued: 1, inFlight: 0 });

    dataPlane.fail({ action: 'hang' });
    const flushed = integration.flush();
    await waitFor(() => dataPlane.requests.length === 0 && integration.destinations()[0]?.inFlight === 1, 'the request to start');
    expect(only(integration.destinations())).toMatchObject({ state: 'sending', queued: 0, inFlight: 1 });
    await dataPlane.close();
    await flushed;
  });

  it('shows a destination answered 503 as retrying, with the failure, until it delivers', async () => {
    const { dataPlane, integration } = await startHarness({ retryBaseDelayMs: 100, retryMaxDelayMs: 100, maxRetries: 20 });
    dataPlane.fail(Array.from({ length: 3 }, () => ({ status: 503 })));
    integration.postIdentityFetch(identityContext('env-a', 'retried'));
    void integration.flush();
    await waitFor(() => integration.destinations()[0]?.state === 'retrying', 'the destination to retry');
    expect(only(integration.destinations())).toMatchObject({
      state: 'retrying',
      inFlight: 1,
      delivered: 0,
      lastFailure: { at: expect.stringMatching(ISO), reason: 'server_error', status: 503 },
    });
    await integration.flush();
    expect(only(integration.destinations())).toMatchObject({ state: 'idle', inFlight: 0, delivered: 1, lastFailure: { reason: 'server_error', status: 503 } });
  });

  it('shows a destination whose write key was refused (401) as paused until the cool-down ends, counting what it dropped', async () => {
    const dataPlane = await startDataPlane({ writeKeys: ['the-right-key'] });
    const settings: Record<string, RudderStackSettings> = { 'env-a': { api_key: 'a-wrong-key', base_url: dataPlane.url } };
    const integration = createIntegration({ config: { get: (key) => settings[key] ?? null }, pauseMs: 60_000 });
    integration.postIdentityFetch(identityContext('env-a', 'refused'));
    await integration.flush();
    for (let i = 0; i < 2; i++) integration.postIdentityFetch(identityContext('env-a', `while-paused-${i}`));
    await integration.flush();

    const paused = only(integration.destinations());
    expect(paused).toMatchObject({
      state: 'paused',
      queued: 0,
      inFlight: 0,
      delivered: 0,
      dropped: 3,
      lastFailure: { at: expect.stringMatching(ISO), reason: 'unauthorized', status: 401 },
      pausedUntil: expect.stringMatching(ISO),
    });
    // The cool-down is pauseMs from the refusal.
    const coolDownMs = Date.parse(paused.pausedUntil!) - Date.parse(paused.lastFailure!.at);
    expect(coolDownMs).toBeGreaterThan(50_000);
    expect(coolDownMs).toBeLessThanOrEqual(61_000);
    expect(paused).not.toHaveProperty('lastDeliveredAt');

    // The pause lifted (settings fixed): nothing was delivered since the refusal, so it is refused until something is.
    integration.invalidate('env-a');
    const lifted = only(integration.destinations());
    expect(lifted.state).toBe('refused');
    expect(lifted).not.toHaveProperty('pausedUntil');
  });

  it('shows a destination whose last batch was refused for good (400 on one event) as refused, until it delivers', async () => {
    const { dataPlane, integration } = await startHarness();
    dataPlane.fail({ status: 400, body: 'event is not a valid rudder event' });
    integration.postIdentityFetch(identityContext('env-a', 'poison'));
    await integration.flush();
    expect(only(integration.destinations())).toMatchObject({ state: 'refused', dropped: 1, lastFailure: { reason: 'bad_request', status: 400 } });
    integration.postIdentityFetch(identityContext('env-a', 'good'));
    await integration.flush();
    expect(only(integration.destinations())).toMatchObject({ state: 'idle', delivered: 1, dropped: 1 });
  });

  it('shows a network failure without a status, and a data plane that never answers as a timeout', async () => {
    const dataPlane = await startDataPlane();
    const integration = createIntegration({ config: { 'env-a': { api_key: 'k', base_url: dataPlane.url } }, maxRetries: 0, requestTimeoutMs: 100 });
    dataPlane.fail({ action: 'hang' });
    integration.postIdentityFetch(identityContext('env-a', 'no-answer'));
    await integration.flush();
    expect(only(integration.destinations())).toMatchObject({ state: 'refused', dropped: 1, lastFailure: { reason: 'timeout' } });
    expect(only(integration.destinations()).lastFailure).not.toHaveProperty('status');

    dataPlane.fail({ action: 'reset' });
    integration.postIdentityFetch(identityContext('env-a', 'reset'));
    await integration.flush();
    expect(only(integration.destinations()).lastFailure).toEqual({ at: expect.stringMatching(ISO), reason: 'network_error' });
  });

  it('lists each environment under the destination its settings point to now, and one destination per data plane URL and write key', async () => {
    const dataPlane = await startDataPlane();
    const settings: Record<string, RudderStackSettings> = {
      'env-a': { api_key: 'key-1', base_url: dataPlane.url },
      'env-b': { api_key: 'key-1', base_url: dataPlane.url },
      'env-c': { api_key: 'key-2', base_url: dataPlane.url },
    };
    const integration = createIntegration({ config: { get: (key) => settings[key] ?? null } });
    for (const environmentKey of ['env-a', 'env-b', 'env-c']) integration.postIdentityFetch(identityContext(environmentKey, 'u'));
    await integration.flush();
    expect(integration.destinations().map((destination) => [destination.environmentKeys, destination.delivered])).toEqual([
      [['env-a', 'env-b'], 2],
      [['env-c'], 1],
    ]);

    // env-b's settings move it to key-2's destination.
    settings['env-b'] = { api_key: 'key-2', base_url: dataPlane.url };
    integration.invalidate('env-b');
    integration.postIdentityFetch(identityContext('env-b', 'moved'));
    await integration.flush();
    expect(integration.destinations().map((destination) => [destination.environmentKeys, destination.delivered])).toEqual([
      [['env-a'], 2],
      [['env-c', 'env-b'], 2],
    ]);
    const text = JSON.stringify(integration.destinations());
    expect(text).not.toContain('key-1');
    expect(text).not.toContain('key-2');
  });
});
