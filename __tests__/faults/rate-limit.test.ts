/**
 * Rate limited: 429 with Retry-After in seconds, as an HTTP date, and without it. Waits are
 * honoured, cut to maxRetryAfterMs, and a waiting destination holds up no other destination.
 * Gaps are read from `sentAt`, which is stamped per attempt; only lower bounds are asserted.
 */
import { identityContext, waitFor } from '../helpers/harness';
import { checkSecretsAfterEachTest, faultDataPlane, faultIntegration, messageIdsOf, sentAtOf, settingsFor, OTHER_KEY, faultSetup } from './support';

checkSecretsAfterEachTest();

/** Backoff is zero in these tests, so only Retry-After can explain a gap between attempts. */
const NO_BACKOFF = { retryBaseDelayMs: 0, retryMaxDelayMs: 0 };

async function limitedOnce(headers: Record<string, string> | undefined, options: { maxRetryAfterMs?: number } = {}) {
  const dataPlane = await faultDataPlane();
  dataPlane.fail({ status: 429, ...(headers ? { headers } : {}) });
  const { integration } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, ...NO_BACKOFF, ...options });
  integration.postIdentityFetch(identityContext('env-a', 'user-1'));
  await integration.flush();
  const [limited, accepted] = dataPlane.requests;
  expect([limited!.status, accepted!.status]).toEqual([429, 200]);
  expect(dataPlane.requests).toHaveLength(2);
  expect(messageIdsOf(accepted!.body)).toEqual(messageIdsOf(limited!.body));
  expect(dataPlane.events).toHaveLength(1);
  expect(integration.stats()).toMatchObject({ delivered: 1, retried: 1, queued: 0, inFlight: 0 });
  return { gapMs: sentAtOf(accepted!.body) - sentAtOf(limited!.body) };
}

it('waits as many seconds as Retry-After says', async () => {
  const { gapMs } = await limitedOnce({ 'Retry-After': '1' });
  expect(gapMs).toBeGreaterThanOrEqual(950);
});

it('waits until the HTTP date Retry-After names', async () => {
  // An HTTP date has whole seconds: two seconds from now, cut down, is more than one second away.
  const { gapMs } = await limitedOnce({ 'Retry-After': new Date(Date.now() + 2_000).toUTCString() });
  expect(gapMs).toBeGreaterThanOrEqual(900);
});

it('retries with its own backoff when there is no Retry-After', async () => {
  await limitedOnce(undefined);
});

it('cuts a Retry-After longer than maxRetryAfterMs down to maxRetryAfterMs', async () => {
  // An hour, cut to 300 ms: the test would time out if the hour were honoured.
  const { gapMs } = await limitedOnce({ 'Retry-After': '3600' }, { maxRetryAfterMs: 300 });
  expect(gapMs).toBeGreaterThanOrEqual(290);
});

it('lets other destinations deliver while one waits out a Retry-After', async () => {
  const limited = await faultDataPlane();
  const free = await faultDataPlane();
  limited.fail({ status: 429, headers: { 'Retry-After': '2' } });
  const { integration } = faultIntegration({
    config: { slow: settingsFor(limited), fast: settingsFor(free, OTHER_KEY) },
    ...NO_BACKOFF,
    maxRetryAfterMs: 10_000,
  });
  integration.postIdentityFetch(identityContext('slow', 'waits'));
  await waitFor(() => limited.requests.length === 1, 'the 429');
  for (let i = 0; i < 5; i++) integration.postIdentityFetch(identityContext('fast', `goes-${i}`));
  await waitFor(() => integration.stats().delivered === 5, 'the other destination to deliver', 5_000);
  expect(free.events).toHaveLength(5);
  // The first destination is still waiting: its event is held, not delivered, not dropped.
  expect(limited.events).toHaveLength(0);
  expect(limited.requests).toHaveLength(1);
  expect(integration.stats()).toMatchObject({ delivered: 5, inFlight: 1 });
  await integration.flush();
  expect(limited.events.map((event) => event.userId)).toEqual(['waits']);
  expect(integration.stats()).toMatchObject({ delivered: 6, retried: 1, inFlight: 0 });
});

it('honours Retry-After on a 503 too, and gives up when the wait would pass maxRetryDurationMs', async () => {
  const { dataPlane, integration, logger } = await faultSetup({
    fail: [{ status: 503, headers: { 'Retry-After': '1' } }],
    ...NO_BACKOFF,
    maxRetryDurationMs: 500,
  });
  integration.postIdentityFetch(identityContext('env-a', 'user-1'));
  await integration.flush();
  // Waiting one second would pass the half-second budget: dropped at once, not retried.
  expect(dataPlane.requests).toHaveLength(1);
  expect(integration.stats().dropped.retries_exhausted).toBe(1);
  expect(logger.text()).toMatch(/dropped after 1 attempt\(s\), last HTTP 503/);
});
