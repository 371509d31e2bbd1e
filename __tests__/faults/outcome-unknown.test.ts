/**
 * Outcome unknown: the data plane may or may not have stored the batch. The batch is sent again
 * with the same messageIds (the data plane and warehouses dedupe on them), and each such fault
 * costs at most one extra copy of an event.
 */
import type { FailureSpec, RequestOutcome } from '../../src/testing';
import { identityContext } from '../helpers/harness';
import { accountedFor, checkSecretsAfterEachTest, copiesByMessageId, faultDataPlane, faultIntegration, messageIdsOf, settingsFor, faultSetup } from './support';

checkSecretsAfterEachTest();

const FAULTS: Array<{ name: string; spec: FailureSpec; outcome: RequestOutcome; mayHaveStored: boolean }> = [
  { name: 'the connection is reset before an answer', spec: { action: 'reset' }, outcome: 'reset', mayHaveStored: false },
  { name: 'no answer comes before requestTimeoutMs', spec: { action: 'hang' }, outcome: 'hang', mayHaveStored: false },
  { name: 'the body is accepted and the connection dropped', spec: { action: 'accept-then-drop' }, outcome: 'dropped-after-body', mayHaveStored: true },
];

describe.each(FAULTS)('when $name', ({ spec, outcome, mayHaveStored }) => {
  it('sends the same messageIds again and delivers every event, with at most one extra copy', async () => {
    const { dataPlane, integration } = await faultSetup({
      fail: spec,
      flushAt: 5,
      flushIntervalMs: 60_000,
      maxConcurrentRequests: 1,
      requestTimeoutMs: 300,
    });
    for (let i = 0; i < 5; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.flush();

    const [faulty, retry] = dataPlane.requests;
    expect(faulty!.outcome).toBe(outcome);
    expect(retry!.status).toBe(200);
    expect(messageIdsOf(retry!.body)).toEqual(messageIdsOf(faulty!.body));
    expect(dataPlane.requests).toHaveLength(2);

    const copies = copiesByMessageId(dataPlane.events);
    expect([...copies.keys()].sort()).toEqual([...messageIdsOf(faulty!.body)].sort());
    for (const count of copies.values()) expect(count).toBeLessThanOrEqual(mayHaveStored ? 2 : 1);
    expect(new Set(dataPlane.events.map((event) => event.userId))).toEqual(new Set([0, 1, 2, 3, 4].map((i) => `user-${i}`)));

    const stats = integration.stats();
    expect(stats).toMatchObject({ received: 5, delivered: 5, retried: 1, queued: 0, inFlight: 0 });
    expect(accountedFor(stats)).toBe(5);
  });
});

it('survives the three faults in a row on one batch: delivered, one extra copy per accept-then-drop at most', async () => {
  const dataPlane = await faultDataPlane();
  const script: FailureSpec[] = [{ action: 'reset' }, { action: 'accept-then-drop' }, { action: 'hang' }, { action: 'accept-then-drop' }, { action: 'reset' }];
  dataPlane.fail(script);
  const { integration } = faultIntegration({
    config: { 'env-a': settingsFor(dataPlane) },
    flushAt: 3,
    flushIntervalMs: 60_000,
    maxConcurrentRequests: 1,
    requestTimeoutMs: 300,
  });
  for (let i = 0; i < 3; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
  await integration.flush();

  expect(dataPlane.requests.map((request) => request.outcome)).toEqual(['reset', 'dropped-after-body', 'hang', 'dropped-after-body', 'reset', 'answered']);
  const ids = dataPlane.requests.map((request) => messageIdsOf(request.body));
  for (const attempt of ids) expect(attempt).toEqual(ids[0]);
  const copies = copiesByMessageId(dataPlane.events);
  expect(copies.size).toBe(3);
  // Two accept-then-drop faults stored the batch twice; the last attempt stored it once more.
  for (const count of copies.values()) expect(count).toBeLessThanOrEqual(1 + 2);
  expect(integration.stats()).toMatchObject({ delivered: 3, retried: 5, queued: 0, inFlight: 0 });
});

it('retries events whose attempt timed out while other batches of the destination go on', async () => {
  const { dataPlane, integration } = await faultSetup({
    fail: { action: 'hang' },
    flushAt: 1,
    maxConcurrentRequests: 2,
    requestTimeoutMs: 400,
  });
  integration.postIdentityFetch(identityContext('env-a', 'hung'));
  for (let i = 0; i < 4; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
  await integration.flush();
  const copies = copiesByMessageId(dataPlane.events);
  expect(copies.size).toBe(5);
  expect([...copies.values()].every((count) => count === 1)).toBe(true);
  // The hung request was the first to arrive; the others were delivered while it hung.
  const hungId = messageIdsOf(dataPlane.requests.find((request) => request.outcome === 'hang')!.body)[0];
  expect(dataPlane.events.at(-1)!.messageId).toBe(hungId);
  expect(integration.stats()).toMatchObject({ delivered: 5, retried: 1 });
});
