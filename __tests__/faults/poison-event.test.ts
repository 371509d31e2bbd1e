/**
 * Poison event: the data plane refuses a whole request for one bad event (400). The batch is
 * halved, recursively, so every good event is delivered and only the bad one dropped as
 * `rejected`; a 400 is never retried as is. The local data plane's `rejectEvent` makes the
 * gateway itself answer 400 to any request holding a chosen event.
 */
import { identityContext } from '../helpers/harness';
import { accountedFor, checkSecretsAfterEachTest, copiesByMessageId, faultDataPlane, faultIntegration, messageIdsOf, settingsFor } from './support';

checkSecretsAfterEachTest();

const isPoison = (event: Record<string, unknown>): boolean => String(event.userId).startsWith('poison');

async function sendBatch(userIds: string[]) {
  const dataPlane = await faultDataPlane({ rejectEvent: isPoison });
  const { integration, logger } = faultIntegration({
    config: { 'env-a': settingsFor(dataPlane) },
    flushAt: userIds.length,
    flushIntervalMs: 60_000,
    maxConcurrentRequests: 1,
  });
  for (const userId of userIds) integration.postIdentityFetch(identityContext('env-a', userId));
  await integration.flush();
  return { dataPlane, integration, logger };
}

function expectNoRepeated400(requests: ReadonlyArray<{ status: number | null; body: Buffer }>): void {
  const refused = requests.filter((request) => request.status === 400).map((request) => messageIdsOf(request.body).sort().join(','));
  expect(new Set(refused).size).toBe(refused.length);
}

it.each([
  { n: 16, poisonAt: [11] },
  { n: 2, poisonAt: [0] },
  { n: 37, poisonAt: [36] },
  { n: 100, poisonAt: [0] },
])('delivers every good event of a batch of $n with one poison event, and drops only that one', async ({ n, poisonAt }) => {
  const userIds = Array.from({ length: n }, (_, i) => (poisonAt.includes(i) ? `poison-${i}` : `good-${i}`));
  const { dataPlane, integration, logger } = await sendBatch(userIds);

  expect(dataPlane.events.map((event) => event.userId).sort()).toEqual(userIds.filter((id) => !id.startsWith('poison')).sort());
  expect([...copiesByMessageId(dataPlane.events).values()].every((count) => count === 1)).toBe(true);
  expect(integration.stats()).toMatchObject({ delivered: n - 1, queued: 0, inFlight: 0, retried: 0 });
  expect(integration.stats().dropped.rejected).toBe(1);
  expect(accountedFor(integration.stats())).toBe(n);
  // Halving: two requests per level at most, plus the first.
  expect(dataPlane.requests.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)) + 1);
  expectNoRepeated400(dataPlane.requests);
  expect(logger.text()).toMatch(/environment env-a\) refused 1 event\(s\) for good \(HTTP 400\): dropped/);
});

it('finds two poison events in one batch and drops only them', async () => {
  const n = 32;
  const userIds = Array.from({ length: n }, (_, i) => (i === 3 || i === 20 ? `poison-${i}` : `good-${i}`));
  const { dataPlane, integration } = await sendBatch(userIds);
  expect(dataPlane.events).toHaveLength(30);
  expect(integration.stats().dropped.rejected).toBe(2);
  expect(integration.stats().delivered).toBe(30);
  expect(dataPlane.requests.length).toBeLessThanOrEqual(2 * (2 * Math.log2(n)) + 1);
  expectNoRepeated400(dataPlane.requests);
});

it('drops a lone poison event after one request: a 400 is never retried', async () => {
  const { dataPlane, integration } = await sendBatch(['poison-alone']);
  expect(dataPlane.requests.map((request) => request.status)).toEqual([400]);
  expect(integration.stats()).toMatchObject({ delivered: 0, retried: 0, queued: 0, inFlight: 0 });
  expect(integration.stats().dropped.rejected).toBe(1);
});

it('keeps going after a poison batch: later batches of the destination are delivered', async () => {
  const dataPlane = await faultDataPlane({ rejectEvent: isPoison });
  const { integration } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, flushAt: 4 });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) integration.postIdentityFetch(identityContext('env-a', i === 1 ? `poison-${round}` : `good-${round}-${i}`));
  }
  await integration.flush();
  expect(dataPlane.events).toHaveLength(9);
  expect(integration.stats().dropped.rejected).toBe(3);
  expect(integration.stats().delivered).toBe(9);
});

it('keeps an identifier the gateway reads as empty (a zero-width space) out of the batch: one request, 99 delivered', async () => {
  const userIds = Array.from({ length: 100 }, (_, i) => (i === 42 ? '\u200b' : `good-${i}`));
  const { dataPlane, integration } = await sendBatch(userIds);
  expect(dataPlane.requests.map((request) => [request.status, messageIdsOf(request.body).length])).toEqual([[200, 99]]);
  expect(dataPlane.events.map((event) => event.userId)).toEqual(userIds.filter((id) => id !== '\u200b'));
  const stats = integration.stats();
  expect(stats).toMatchObject({ delivered: 99, queued: 0, inFlight: 0 });
  expect(stats.dropped).toMatchObject({ no_user_id: 1, rejected: 0 });
  expect(accountedFor(stats)).toBe(100);
});
