/**
 * Too large: 413 (and 403, hosted RudderStack's answer to oversized payloads) on a multi-event
 * batch is split and resent; an event over maxEventBytes is split into several identifies for the
 * same user; a trait too large on its own is left out, counted and named in a warning.
 */
import { identityContext } from '../helpers/harness';
import { accountedFor, checkSecretsAfterEachTest, copiesByMessageId, faultDataPlane, faultIntegration, messageIdsOf, settingsFor, faultSetup } from './support';

checkSecretsAfterEachTest();

it.each([413, 403])('splits a multi-event batch answered %i and resends the halves', async (status) => {
  const { dataPlane, integration } = await faultSetup({
    fail: { status },
    flushAt: 8,
    flushIntervalMs: 60_000,
    maxConcurrentRequests: 1,
  });
  for (let i = 0; i < 8; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
  await integration.flush();
  const sizes = dataPlane.requests.map((request) => [request.status, messageIdsOf(request.body).length]);
  expect(sizes).toEqual([
    [status, 8],
    [200, 4],
    [200, 4],
  ]);
  expect([...copiesByMessageId(dataPlane.events).values()]).toEqual(Array(8).fill(1));
  expect(integration.stats()).toMatchObject({ delivered: 8, queued: 0, inFlight: 0 });
});

it('splits until each request fits under the limit of the real data plane (413 from its size check)', async () => {
  // Each event is about 700 bytes; the data plane takes at most 2 500 bytes a request.
  const dataPlane = await faultDataPlane({ maxRequestBytes: 2_500 });
  const { integration } = faultIntegration({
    config: { 'env-a': settingsFor(dataPlane) },
    flushAt: 10,
    flushIntervalMs: 60_000,
    maxConcurrentRequests: 1,
  });
  for (let i = 0; i < 10; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`, { banner: 'x'.repeat(400) }));
  await integration.flush();
  expect(dataPlane.requests.some((request) => request.status === 413)).toBe(true);
  expect([...copiesByMessageId(dataPlane.events).values()]).toEqual(Array(10).fill(1));
  expect(dataPlane.batches.every((batch) => batch.bytes <= 2_500)).toBe(true);
  expect(integration.stats()).toMatchObject({ delivered: 10, queued: 0, inFlight: 0 });
});

it.each([413, 403])('drops a single event answered %i as rejected without retrying it', async (status) => {
  const dataPlane = await faultDataPlane();
  dataPlane.fail({ status });
  const { integration } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) } });
  integration.postIdentityFetch(identityContext('env-a', 'user-1'));
  await integration.flush();
  expect(dataPlane.requests).toHaveLength(1);
  expect(integration.stats()).toMatchObject({ delivered: 0, retried: 0 });
  expect(integration.stats().dropped.rejected).toBe(1);
});

it('splits an identify over maxEventBytes into several identifies for the same user whose traits merge to the original', async () => {
  const maxEventBytes = 2_048;
  const dataPlane = await faultDataPlane();
  const { integration } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, maxEventBytes });
  const flags: Record<string, unknown> = {};
  for (let i = 0; i < 60; i++) flags[`feature_${i}`] = `value-${i}-${'v'.repeat(60)}`;
  integration.postIdentityFetch(identityContext('env-a', 'big-user', flags));
  await integration.flush();

  const events = dataPlane.events;
  expect(events.length).toBeGreaterThan(1);
  const merged: Record<string, unknown> = {};
  for (const event of events) {
    expect(event.userId).toBe('big-user');
    expect(event.type).toBe('identify');
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(maxEventBytes);
    const context = event.context as { traits: Record<string, unknown> };
    expect(context.traits).toEqual(event.traits);
    Object.assign(merged, event.traits);
  }
  expect(merged).toEqual(flags);
  expect(new Set(events.map((event) => event.messageId)).size).toBe(events.length);
  const stats = integration.stats();
  expect(stats).toMatchObject({ received: 1, delivered: events.length, splitEvents: events.length - 1, traitsDropped: 0 });
  expect(accountedFor(stats)).toBe(1);
});

it('leaves out a trait too large on its own, counts it and names the feature and environment', async () => {
  const dataPlane = await faultDataPlane();
  const { integration, logger } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, maxEventBytes: 2_048 });
  integration.postIdentityFetch(identityContext('env-a', 'user-1', { small: 'ok', huge_banner: 'x'.repeat(5_000), other: 3 }));
  await integration.flush();
  expect(dataPlane.events).toHaveLength(1);
  expect(dataPlane.events[0]!.traits).toEqual({ small: 'ok', other: 3 });
  expect(integration.stats()).toMatchObject({ delivered: 1, traitsDropped: 1 });
  const warnings = logger.warnings().filter((line) => line.includes('huge_banner'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/environment env-a/);
  expect(warnings[0]).toMatch(/maxEventBytes/);
});

it('drops an identify that cannot fit even without traits as event_too_large, and sends nothing', async () => {
  const dataPlane = await faultDataPlane();
  const { integration, logger } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, maxEventBytes: 1_024 });
  integration.postIdentityFetch(identityContext('env-a', 'u'.repeat(2_000)));
  integration.postIdentityFetch(identityContext('env-a', 'fits'));
  await integration.flush();
  expect(dataPlane.events.map((event) => event.userId)).toEqual(['fits']);
  expect(integration.stats().dropped.event_too_large).toBe(1);
  // No trait is to blame for an identifier that is too large.
  expect(integration.stats().traitsDropped).toBe(0);
  expect(accountedFor(integration.stats())).toBe(2);
  // One warning, saying why, and short however long the identifier from the request was.
  const [warning, ...others] = logger.warnings().filter((line) => line.includes('event_too_large') || line.includes('even without traits'));
  expect(others).toEqual([]);
  expect(warning).toMatch(/environment env-a: dropped the identify of "u{80}…": it does not fit in maxEventBytes \(1024 bytes\) even without traits/);
});

it('sends an identity whose only trait is too large without that trait, and names the trait', async () => {
  const dataPlane = await faultDataPlane();
  const { integration, logger } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, maxEventBytes: 2_048 });
  integration.postIdentityFetch(identityContext('env-a', 'user-1', { huge_banner: 'x'.repeat(5_000) }));
  await integration.flush();
  expect(dataPlane.events).toHaveLength(1);
  expect(dataPlane.events[0]).toMatchObject({ userId: 'user-1', traits: {}, context: { traits: {} } });
  const stats = integration.stats();
  expect(stats).toMatchObject({ delivered: 1, traitsDropped: 1 });
  expect(stats.dropped.event_too_large).toBe(0);
  expect(accountedFor(stats)).toBe(1);
  const warnings = logger.warnings();
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/environment env-a: left out trait\(s\) "huge_banner"/);
});
