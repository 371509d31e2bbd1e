/**
 * The retry loop driven by a fake sender and a fake clock: no network, no real time. Each row of
 * the README's failure table, as the loop sees it. The loopback fault suite (`__tests__/faults/`)
 * proves the same end to end.
 */
import type { QueuedEvent } from '../../src/delivery/event-record';
import { deliverBatch, type Clock, type DeliveryStep, type RetryPolicy } from '../../src/delivery/retry-loop';
import { parseRetryAfter, type AttemptOutcome } from '../../src/delivery/retry-policy';

const POLICY: RetryPolicy = { maxRetries: 8, maxRetryDurationMs: 300_000, retryBaseDelayMs: 500, retryMaxDelayMs: 30_000, maxRetryAfterMs: 60_000 };

const status = (code: number, retryAfterMs?: number): AttemptOutcome => ({
  kind: 'response',
  status: code,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});
const networkError: AttemptOutcome = { kind: 'network-error', message: 'connect ECONNREFUSED 127.0.0.1:9', timedOut: false };

function events(n: number, bad: readonly number[] = []): QueuedEvent[] {
  return Array.from({ length: n }, (_, i) => ({ seq: i + 1, environmentKey: bad.includes(i) ? 'bad' : 'env', json: Buffer.from('{}'), acceptedAt: 0 }));
}

interface Run {
  steps: DeliveryStep[];
  /** Every request: how many events it carried and whether it was a retry. */
  requests: Array<{ size: number; retry: boolean }>;
  /** Every wait the loop asked the clock for. */
  waits: number[];
  /** The fake clock's time at the end. */
  now: number;
}

/**
 * Runs the loop to its end. `answer` gives each request's outcome; `closeAfterWaits` makes the
 * clock report shutdown on that wait; `paused` answers the loop's question after each step.
 */
async function run(
  batch: QueuedEvent[],
  answer: (events: readonly QueuedEvent[], request: number) => AttemptOutcome,
  options: { policy?: Partial<RetryPolicy>; random?: () => number; closeOnWait?: number; pausedAfterPauseStep?: boolean } = {},
): Promise<Run> {
  const requests: Run['requests'] = [];
  const waits: number[] = [];
  let now = 0;
  let paused = false;
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
      return waits.length !== options.closeOnWait;
    },
  };
  const steps: DeliveryStep[] = [];
  const loop = {
    target: {
      send: async (sent: readonly QueuedEvent[], retry: boolean) => {
        requests.push({ size: sent.length, retry });
        return answer(sent, requests.length);
      },
      isPaused: () => paused,
    },
    policy: { ...POLICY, ...options.policy },
    clock,
    random: options.random ?? (() => 0.5),
  };
  for await (const step of deliverBatch(batch, loop)) {
    steps.push(step);
    if (step.kind === 'pause' && options.pausedAfterPauseStep !== false) paused = true;
  }
  return { steps, requests, waits, now };
}

/** Every event of the batch settles exactly once, whatever the path. */
function settledSeqs(steps: readonly DeliveryStep[]): number[] {
  return steps.flatMap((step) => (step.kind === 'settled' ? step.events.map((event) => event.seq) : [])).sort((a, b) => a - b);
}

function results(steps: readonly DeliveryStep[]): Array<string> {
  return steps.map((step) => (step.kind === 'pause' ? 'pause' : `${step.result}x${step.events.length}`));
}

describe('outcomes of one attempt', () => {
  it('a 2xx delivers the batch in one request', async () => {
    const { steps, requests } = await run(events(10), () => status(200));
    expect(results(steps)).toEqual(['deliveredx10']);
    expect(requests).toEqual([{ size: 10, retry: false }]);
  });

  it.each([
    ['a network error', networkError],
    ['a timeout', { kind: 'network-error', message: 'no answer within 10000 ms', timedOut: true } as AttemptOutcome],
    ['503', status(503)],
    ['500', status(500)],
    ['408', status(408)],
    ['429', status(429)],
  ])('%s is retried with the same events, then delivered', async (_, failure) => {
    const { steps, requests } = await run(events(5), (_sent, request) => (request === 1 ? failure : status(200)));
    expect(results(steps)).toEqual(['deliveredx5']);
    expect(steps[0]).toMatchObject({ attempts: 2 });
    expect(requests).toEqual([
      { size: 5, retry: false },
      { size: 5, retry: true },
    ]);
  });

  it.each([501, 505, 511, 405, 422, 307])('%i is refused for good, without a retry', async (code) => {
    const { steps, requests } = await run(events(3), () => status(code));
    expect(steps).toEqual([expect.objectContaining({ kind: 'settled', result: 'rejected', because: 'refused', attempts: 1 })]);
    expect(requests).toHaveLength(1);
  });

  it('an attempt cut short by shutdown settles as close_timeout, without a warning', async () => {
    const { steps } = await run(events(2), () => ({ kind: 'aborted' }));
    expect(steps).toEqual([expect.objectContaining({ result: 'close_timeout', attempts: 1 })]);
    expect(steps[0]).not.toHaveProperty('because');
  });

  it('a retry wait cut short by shutdown settles as close_timeout', async () => {
    const { steps, requests } = await run(events(2), () => status(503), { closeOnWait: 1 });
    expect(steps).toEqual([expect.objectContaining({ result: 'close_timeout', attempts: 1 })]);
    expect(requests).toHaveLength(1);
  });
});

describe('retries', () => {
  it('stop after maxRetries: 1 + maxRetries attempts, then retries_exhausted', async () => {
    const { steps, requests } = await run(events(4), () => status(503), { policy: { maxRetries: 3 } });
    expect(requests).toHaveLength(4);
    expect(steps).toEqual([expect.objectContaining({ result: 'retries_exhausted', because: 'exhausted', attempts: 4 })]);
  });

  it('maxRetries 0 means one attempt', async () => {
    const { requests, steps } = await run(events(1), () => networkError, { policy: { maxRetries: 0 } });
    expect(requests).toHaveLength(1);
    expect(steps[0]).toMatchObject({ result: 'retries_exhausted' });
  });

  it('back off with full jitter: each wait is uniform in [0, min(max, base * 2^retry))', async () => {
    const draws = [0, 0.999_999, 0.5, 0.25, 0.999_999, 0.999_999, 0.999_999, 0.999_999];
    let draw = 0;
    const { waits } = await run(events(1), () => status(503), { random: () => draws[draw++]! });
    expect(waits).toEqual([0, 999, 1_000, 1_000, 7_999, 15_999, 29_999, 29_999]);
    for (const [retry, wait] of waits.entries()) expect(wait).toBeLessThan(Math.min(30_000, 500 * 2 ** retry));
  });

  it('stop when the next wait would pass maxRetryDurationMs from the first attempt', async () => {
    const { requests, steps, now } = await run(events(2), () => status(503), {
      policy: { maxRetries: 100, maxRetryDurationMs: 10_000, retryBaseDelayMs: 4_000, retryMaxDelayMs: 4_000 },
      random: () => 0.999_999,
    });
    // Waits of ~4 s: two fit in 10 s, the third would not.
    expect(requests).toHaveLength(3);
    expect(now).toBeLessThanOrEqual(10_000);
    expect(steps[0]).toMatchObject({ result: 'retries_exhausted', attempts: 3 });
  });
});

describe('Retry-After', () => {
  it('in seconds: the loop waits exactly as long as asked', async () => {
    const { waits, steps } = await run(events(1), (_s, request) => (request === 1 ? status(429, parseRetryAfter('7')) : status(200)));
    expect(waits).toEqual([7_000]);
    expect(steps[0]).toMatchObject({ result: 'delivered' });
  });

  it('as an HTTP date: the loop waits until that date', async () => {
    const now = Date.parse('Tue, 01 Dec 2026 12:00:00 GMT');
    const retryAfterMs = parseRetryAfter('Tue, 01 Dec 2026 12:00:30 GMT', now);
    const { waits } = await run(events(1), (_s, request) => (request === 1 ? status(503, retryAfterMs) : status(200)));
    expect(waits).toEqual([30_000]);
  });

  it('is capped at maxRetryAfterMs', async () => {
    const { waits } = await run(events(1), (_s, request) => (request === 1 ? status(429, 3_600_000) : status(200)));
    expect(waits).toEqual([60_000]);
  });

  it('a wait past the retry budget drops the batch at once', async () => {
    const { requests, waits, steps } = await run(events(1), () => status(429, 50_000), { policy: { maxRetryDurationMs: 40_000 } });
    expect(requests).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(steps[0]).toMatchObject({ result: 'retries_exhausted' });
  });

  it('without the header, the loop uses its own backoff', async () => {
    const { waits } = await run(events(1), (_s, request) => (request === 1 ? status(429) : status(200)), { random: () => 0.5 });
    expect(waits).toEqual([250]);
  });
});

describe('a refused request is halved to find what passes', () => {
  it.each([
    { n: 16, bad: [11] },
    { n: 2, bad: [0] },
    { n: 37, bad: [36] },
    { n: 100, bad: [0] },
    { n: 1_000, bad: [517] },
  ])('one poison event in $n: only it is dropped, in at most 2·⌈log₂ n⌉ + 1 requests', async ({ n, bad }) => {
    const batch = events(n, bad);
    const { steps, requests } = await run(batch, (sent) => (sent.some((event) => event.environmentKey === 'bad') ? status(400) : status(200)));
    expect(requests.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)) + 1);
    expect(requests.every((request) => !request.retry)).toBe(true);
    expect(settledSeqs(steps)).toEqual(batch.map((event) => event.seq));
    const rejected = steps.filter((step) => step.kind === 'settled' && step.result === 'rejected');
    expect(rejected).toEqual([expect.objectContaining({ because: 'refused', events: [batch[bad[0]!]] })]);
    expect(steps.some((step) => step.kind === 'pause')).toBe(false);
  });

  it('two poison events in different halves: both found, everything else delivered, no pause', async () => {
    const batch = events(32, [3, 20]);
    const { steps } = await run(batch, (sent) => (sent.some((event) => event.environmentKey === 'bad') ? status(400) : status(200)));
    expect(settledSeqs(steps)).toEqual(batch.map((event) => event.seq));
    const rejectedSeqs = steps.flatMap((step) => (step.kind === 'settled' && step.result === 'rejected' ? step.events.map((e) => e.seq) : []));
    expect(rejectedSeqs.sort((a, b) => a - b)).toEqual([4, 21]);
    expect(steps.some((step) => step.kind === 'pause')).toBe(false);
  });

  it.each([413, 403])('%i (too large) halves until each request fits', async (code) => {
    const batch = events(40);
    // A limit of 10 events per request.
    const { steps, requests } = await run(batch, (sent) => (sent.length > 10 ? status(code) : status(200)));
    expect(settledSeqs(steps)).toEqual(batch.map((event) => event.seq));
    expect(steps.every((step) => step.kind === 'settled' && step.result === 'delivered')).toBe(true);
    expect(requests.filter((request) => request.size <= 10)).toHaveLength(4);
  });

  it.each([400, 403, 413])('%i to every request: at most 2·⌈log₂ n⌉ + 1 requests, then one pause and everything rejected', async (code) => {
    const n = 1_000;
    const batch = events(n);
    const { steps, requests } = await run(batch, () => status(code));
    expect(requests.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)) + 1);
    expect(results(steps)).toEqual(['pause', `rejectedx${n}`]);
  });

  it('a half whose first answer differs from the refusal is settled on its own (a 503 is retried)', async () => {
    const batch = events(4, [0]);
    let second = 0;
    const { steps } = await run(batch, (sent) => {
      if (sent.length === 4) return status(400);
      if (sent.some((event) => event.environmentKey === 'bad')) return status(400);
      return ++second === 1 ? status(503) : status(200);
    });
    expect(settledSeqs(steps)).toEqual([1, 2, 3, 4]);
    expect(steps.find((step) => step.kind === 'settled' && step.result === 'delivered')).toMatchObject({ attempts: 2 });
  });
});

describe('a destination refused', () => {
  it.each([401, 404])('%i yields a pause, then the batch settles as rejected', async (code) => {
    const { steps, requests } = await run(events(6), () => status(code));
    expect(results(steps)).toEqual(['pause', 'rejectedx6']);
    expect(requests).toHaveLength(1);
  });

  it('the network guard refusing the address pauses too', async () => {
    const refused: AttemptOutcome = { kind: 'network-error', message: 'internal address', timedOut: false, code: 'ERR_INTERNAL_ADDRESS' };
    const { steps } = await run(events(1), () => refused);
    expect(results(steps)).toEqual(['pause', 'rejectedx1']);
  });

  it('a pause during a split refuses the remaining half without a request', async () => {
    const batch = events(8);
    const { steps, requests } = await run(batch, (_sent, request) => (request === 1 ? status(400) : status(401)));
    expect(requests).toHaveLength(2);
    expect(results(steps)).toEqual(['pause', 'rejectedx4', 'rejectedx4']);
    expect(settledSeqs(steps)).toEqual(batch.map((event) => event.seq));
  });
});
