/**
 * Down for a while: 503s or refused connections for longer than the retry budget. Events are
 * dropped as retries_exhausted and counted, memory stays bounded by maxQueueSize, and delivery
 * resumes by itself when the data plane is back.
 */
import { startLocalDataPlane } from '../../src/testing';
import { identityContext, onCleanup, waitFor } from '../helpers/harness';
import { accountedFor, checkSecretsAfterEachTest, faultDataPlane, faultIntegration, settingsFor, WRITE_KEY, faultSetup } from './support';

checkSecretsAfterEachTest();

const ALWAYS_503 = Array.from({ length: 10_000 }, () => ({ status: 503 }));

it('drops a batch as retries_exhausted after maxRetries, says so, and delivers by itself once the data plane answers', async () => {
  const { dataPlane, integration, logger } = await faultSetup({
    fail: Array.from({ length: 6 }, () => ({ status: 503 })),
    flushAt: 5,
    flushIntervalMs: 20,
    maxRetries: 2,
    maxConcurrentRequests: 1,
  });
  for (let i = 0; i < 10; i++) integration.postIdentityFetch(identityContext('env-a', `lost-${i}`));
  await integration.flush();
  expect(dataPlane.requests.map((request) => request.status)).toEqual([503, 503, 503, 503, 503, 503]);
  expect(integration.stats()).toMatchObject({ delivered: 0, retried: 4, queued: 0, inFlight: 0 });
  expect(integration.stats().dropped.retries_exhausted).toBe(10);
  expect(logger.text()).toMatch(/environment env-a.*dropped after 3 attempt\(s\), last HTTP 503/);

  // The script is used up: the data plane answers 200 again. Nothing is called but the hook.
  for (let i = 0; i < 3; i++) integration.postIdentityFetch(identityContext('env-a', `back-${i}`));
  await waitFor(() => dataPlane.events.length === 3, 'delivery to resume without help');
  expect(dataPlane.events.map((event) => event.userId).sort()).toEqual(['back-0', 'back-1', 'back-2']);
  expect(accountedFor(integration.stats())).toBe(13);
});

it('stops retrying a batch once maxRetryDurationMs has passed, however many retries are left', async () => {
  const { dataPlane, integration, logger } = await faultSetup({
    fail: ALWAYS_503,
    maxRetries: 1_000,
    maxRetryDurationMs: 300,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 40,
  });
  integration.postIdentityFetch(identityContext('env-a', 'lost'));
  await integration.flush();
  const stats = integration.stats();
  expect(stats.dropped.retries_exhausted).toBe(1);
  expect(stats.retried).toBeGreaterThan(0);
  expect(stats.retried).toBeLessThan(1_000);
  expect(dataPlane.requests.length).toBe(stats.retried + 1);
  expect(logger.text()).toMatch(/1 event\(s\) dropped after \d+ attempt\(s\), last HTTP 503/);
});

it('keeps memory bounded by maxQueueSize through an outage, counts what it drops, and recovers by itself', async () => {
  const dataPlane = await faultDataPlane();
  dataPlane.fail(ALWAYS_503);
  const maxQueueSize = 50;
  const { integration } = faultIntegration({
    config: { 'env-a': settingsFor(dataPlane) },
    flushAt: 10,
    maxQueueSize,
    maxRetries: 3,
  });
  let highWater = 0;
  for (let burst = 0; burst < 40; burst++) {
    for (let i = 0; i < 25; i++) integration.postIdentityFetch(identityContext('env-a', `u-${burst}-${i}`));
    const { queued, inFlight } = integration.stats();
    highWater = Math.max(highWater, queued + inFlight);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await integration.flush();
  let stats = integration.stats();
  expect(highWater).toBeLessThanOrEqual(maxQueueSize);
  expect(stats.delivered).toBe(0);
  expect(stats.dropped.queue_full).toBeGreaterThan(0);
  expect(stats.dropped.retries_exhausted).toBeGreaterThan(0);
  expect(stats.dropped.queue_full + stats.dropped.retries_exhausted).toBe(1_000);
  expect(accountedFor(stats)).toBe(1_000);

  dataPlane.reset(); // the data plane is back
  for (let i = 0; i < 30; i++) integration.postIdentityFetch(identityContext('env-a', `after-${i}`));
  await waitFor(() => integration.stats().delivered === 30, 'delivery to resume without help');
  stats = integration.stats();
  expect(new Set(dataPlane.events.map((event) => event.userId)).size).toBe(30);
  expect(accountedFor(stats)).toBe(1_030);
});

it('retries refused connections while the data plane is down, and delivers when it comes back on the same port', async () => {
  const first = await startLocalDataPlane({ writeKeys: [WRITE_KEY] });
  const port = Number(new URL(first.url).port);
  await first.close(); // connection refused from now on
  const { integration, logger } = faultIntegration({
    config: { 'env-a': { api_key: WRITE_KEY, base_url: first.url } },
    maxRetries: 100,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 50,
    maxRetryDurationMs: 20_000,
  });
  integration.postIdentityFetch(identityContext('env-a', 'patient'));
  await waitFor(() => integration.stats().retried >= 3, 'a few refused attempts');
  expect(integration.stats()).toMatchObject({ delivered: 0, inFlight: 1 });

  const back = await startLocalDataPlane({ writeKeys: [WRITE_KEY], port });
  onCleanup(() => back.close());
  await back.waitForEvents(1, 10_000);
  await integration.flush();
  expect(back.events.map((event) => event.userId)).toEqual(['patient']);
  expect(integration.stats()).toMatchObject({ delivered: 1, inFlight: 0, queued: 0 });
  expect(logger.warnings()).toEqual([]);
});
