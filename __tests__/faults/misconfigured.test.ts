/**
 * Misconfigured destination: 401 (unknown write key) or 404 (source disabled, or not a data plane
 * URL). The destination is paused with a growing cool-down; its events are dropped as `rejected`
 * while paused; one warning per pause says which environment and what to fix; other destinations
 * are untouched; invalidate() lifts the pause at once.
 */
import type { RudderStackSettings } from '../../src/types';
import { identityContext, waitFor } from '../helpers/harness';
import { accountedFor, checkSecretsAfterEachTest, faultDataPlane, faultIntegration, settingsFor, sleep, WRITE_KEY, WRONG_KEY, OTHER_KEY } from './support';

checkSecretsAfterEachTest();

function pauseWarnings(lines: string[]): string[] {
  return lines.filter((line) => /Events for it are dropped for/.test(line));
}

it('pauses a destination whose write key is refused (401), drops its events while paused, and warns once', async () => {
  const dataPlane = await faultDataPlane();
  const settings: Record<string, RudderStackSettings> = {
    'env-a': settingsFor(dataPlane, WRONG_KEY),
    'env-b': settingsFor(dataPlane, OTHER_KEY),
  };
  const { integration, logger } = faultIntegration({ config: { get: (key) => settings[key] ?? null }, configTtlMs: 3_600_000 });
  integration.postIdentityFetch(identityContext('env-a', 'refused'));
  await integration.flush();
  expect(dataPlane.requests.map((request) => request.status)).toEqual([401]);

  // While paused: nothing is sent for env-a, every event is counted as rejected.
  for (let i = 0; i < 5; i++) integration.postIdentityFetch(identityContext('env-a', `while-paused-${i}`));
  // Another destination (same data plane, other write key) is untouched.
  for (let i = 0; i < 3; i++) integration.postIdentityFetch(identityContext('env-b', `other-${i}`));
  await integration.flush();
  expect(dataPlane.requests.filter((request) => request.writeKey === WRONG_KEY)).toHaveLength(1);
  expect(dataPlane.events.map((event) => event.userId).sort()).toEqual(['other-0', 'other-1', 'other-2']);
  expect(integration.stats().dropped.rejected).toBe(6);
  expect(integration.stats().delivered).toBe(3);

  const warnings = pauseWarnings(logger.warnings());
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/environment env-a\b/);
  expect(warnings[0]).not.toMatch(/env-b/);
  expect(warnings[0]).toMatch(/HTTP 401.*Write Key of an HTTP API source into the API Key/);
  expect(warnings[0]).toMatch(/dropped for 60 s, or until its settings change/);

  // The self-hoster fixes the key; the host calls invalidate(): the pause is lifted at once.
  settings['env-a'] = settingsFor(dataPlane, WRITE_KEY);
  integration.invalidate('env-a');
  integration.postIdentityFetch(identityContext('env-a', 'fixed'));
  await integration.flush();
  expect(dataPlane.events.map((event) => event.userId)).toContain('fixed');
  expect(accountedFor(integration.stats())).toBe(10);
});

it('pauses on 404 from a URL that is not a data plane, and says to correct the Base URL', async () => {
  const dataPlane = await faultDataPlane();
  const { integration, logger } = faultIntegration({
    config: { 'env-a': { api_key: WRITE_KEY, base_url: `${dataPlane.url}/not-rudder` } },
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  integration.postIdentityFetch(identityContext('env-a', 'u2'));
  await integration.flush();
  expect(dataPlane.requests.map((request) => request.status)).toEqual([404]);
  expect(integration.stats().dropped.rejected).toBe(2);
  const warnings = pauseWarnings(logger.warnings());
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/environment env-a.*HTTP 404.*enable the source in RudderStack, or correct the Base URL/);
});

it('does not lift the pause when another environment is invalidated', async () => {
  const dataPlane = await faultDataPlane();
  const { integration } = faultIntegration({
    config: { 'env-a': settingsFor(dataPlane, WRONG_KEY), 'env-b': settingsFor(dataPlane, OTHER_KEY) },
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  integration.invalidate('env-b');
  integration.postIdentityFetch(identityContext('env-a', 'u2'));
  await integration.flush();
  expect(dataPlane.requests).toHaveLength(1);
  expect(integration.stats().dropped.rejected).toBe(2);
});

it('ends the pause by itself after pauseMs, and the cool-down grows when the key is refused again', async () => {
  const dataPlane = await faultDataPlane();
  const { integration, logger } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane, WRONG_KEY) }, pauseMs: 1_000 });
  integration.postIdentityFetch(identityContext('env-a', 'first'));
  await integration.flush();
  expect(pauseWarnings(logger.warnings())).toEqual([expect.stringMatching(/dropped for 1 s/)]);
  await sleep(1_100);
  integration.postIdentityFetch(identityContext('env-a', 'second'));
  await integration.flush();
  expect(dataPlane.requests.map((request) => request.status)).toEqual([401, 401]);
  expect(pauseWarnings(logger.warnings())).toEqual([expect.stringMatching(/dropped for 1 s/), expect.stringMatching(/dropped for 2 s/)]);
});

it('delivers again after a pause ends when the data plane accepts the key again', async () => {
  const dataPlane = await faultDataPlane();
  dataPlane.fail({ status: 401 });
  const { integration } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, pauseMs: 100 });
  integration.postIdentityFetch(identityContext('env-a', 'refused'));
  await integration.flush();
  await sleep(150);
  integration.postIdentityFetch(identityContext('env-a', 'accepted'));
  await integration.flush();
  expect(dataPlane.events.map((event) => event.userId)).toEqual(['accepted']);
});

it('makes one pause and one warning when two batches in flight are both refused', async () => {
  const dataPlane = await faultDataPlane();
  // flushAt 1 and two requests at once: both are in flight before the first 401 comes back.
  const { integration, logger } = faultIntegration({
    config: { 'env-a': settingsFor(dataPlane, WRONG_KEY) },
    flushAt: 1,
    maxConcurrentRequests: 2,
  });
  integration.postIdentityFetch(identityContext('env-a', 'one'));
  integration.postIdentityFetch(identityContext('env-a', 'two'));
  await integration.flush();
  await waitFor(() => dataPlane.requests.length === 2, 'both requests');
  expect(dataPlane.requests.map((request) => request.status)).toEqual([401, 401]);
  expect(integration.stats().dropped.rejected).toBe(2);
  const warnings = pauseWarnings(logger.warnings());
  // One pause: one warning, and the first cool-down (60 s), not a doubled one.
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/dropped for 60 s/);
});
