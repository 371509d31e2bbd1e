/**
 * Real traffic for the metrics adapters' tests: one integration, three destinations on local data
 * planes (one delivering, one paused on a 401, one retrying after a 503), a failing settings
 * lookup and an environment without the integration. Every figure the metrics should show is
 * known, and taken from what the data planes received.
 */
import type { RudderStackIntegration } from '../../src/integration';
import type { LocalDataPlane } from '../../src/testing';
import type { ConfigSource, RudderStackSettings } from '../../src/types';
import { createIntegration, identityContext, startDataPlane, waitFor } from '../helpers/harness';

export const GOOD_KEY = 'wk_METRICS_good_9c1e7a2b5d';
export const WRONG_KEY = 'wk_METRICS_wrong_4f8d2c6a1e';
export const RETRY_KEY = 'wk_METRICS_retry_7b3a9e5c2f';
/** A key a self-hoster pasted into the data plane URL too (see `sendWithKeyInUrl`). */
export const PASTED_KEY = 'wk_METRICS_pasted_3d6b8f1a4c';
/** Every write key of the traffic, and the Basic form each travels in. */
export const SECRETS = [GOOD_KEY, WRONG_KEY, RETRY_KEY, PASTED_KEY].flatMap((key) => [key, Buffer.from(`${key}:`).toString('base64')]);

export interface Traffic {
  integration: RudderStackIntegration;
  /** Answers GOOD_KEY; WRONG_KEY gets 401. */
  dataPlane: LocalDataPlane;
  /** Answers 503 once, then never answers (the batch stays in its retry). */
  retryingDataPlane: LocalDataPlane;
  /** Body bytes on the wire of every request that was answered or is hanging, in the order sent. */
  wireBytes(): number[];
  /**
   * One more environment, env-pasted, whose write key is also in its data plane URL's path: not a
   * data plane's path, so it is answered 404 and paused. For the tests that no key is ever shown.
   */
  sendWithKeyInUrl(): Promise<void>;
}

/**
 * env-ok: 3 identifies delivered in one request. env-paused: one refused (401, the destination
 * paused), one dropped while paused. env-retrying: one identify answered 503, now retrying (its
 * second attempt hangs). env-broken: its settings lookup fails (config_error). env-off: not
 * enabled (skipped). So: 8 received, 3 delivered, 1 skipped, 2 rejected, 1 config_error, 1 in flight.
 */
export async function startTraffic(attach: (integration: RudderStackIntegration) => void): Promise<Traffic> {
  const dataPlane = await startDataPlane({ writeKeys: [GOOD_KEY] });
  const retryingDataPlane = await startDataPlane({ writeKeys: [RETRY_KEY] });
  const settings: Record<string, RudderStackSettings> = {
    'env-ok': { api_key: GOOD_KEY, base_url: dataPlane.url },
    'env-paused': { api_key: WRONG_KEY, base_url: dataPlane.url },
    'env-retrying': { api_key: RETRY_KEY, base_url: retryingDataPlane.url },
  };
  const config: ConfigSource = {
    get: (environmentKey) => {
      if (environmentKey === 'env-broken') throw new Error('the settings database is down');
      return settings[environmentKey] ?? null;
    },
  };
  const integration = createIntegration({ config, flushIntervalMs: 10, maxRetries: 5, retryBaseDelayMs: 5, retryMaxDelayMs: 5, requestTimeoutMs: 30_000 });
  attach(integration);

  for (let i = 0; i < 3; i++) integration.postIdentityFetch(identityContext('env-ok', `user-${i}`));
  integration.postIdentityFetch(identityContext('env-paused', 'refused'));
  integration.postIdentityFetch(identityContext('env-broken', 'lookup-failed'));
  integration.postIdentityFetch(identityContext('env-off', 'skipped'));
  await integration.flush();
  integration.postIdentityFetch(identityContext('env-paused', 'while-paused'));
  await integration.flush();

  retryingDataPlane.fail([{ status: 503 }, { action: 'hang' }]);
  integration.postIdentityFetch(identityContext('env-retrying', 'retried'));
  await waitFor(() => retryingDataPlane.requests.length === 2 && integration.stats().retried === 1, 'the retry to be under way');

  return {
    integration,
    dataPlane,
    retryingDataPlane,
    wireBytes: () => [...dataPlane.requests, ...retryingDataPlane.requests].map((request) => Number(request.headers['content-length'])),
    async sendWithKeyInUrl() {
      settings['env-pasted'] = { api_key: PASTED_KEY, base_url: `${dataPlane.url}/${PASTED_KEY}` };
      integration.postIdentityFetch(identityContext('env-pasted', 'pasted'));
      await waitFor(() => integration.destinations().some((destination) => destination.lastFailure?.reason === 'not_found'), 'the 404');
    },
  };
}
