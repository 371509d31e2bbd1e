import type { DropReason } from '../types';
import type { QueuedEvent } from './event-record';
import { backoffDelayMs, verdictOf, type AttemptOutcome } from './retry-policy';

/** Time as the retry loop sees it: the real clock in production, a fake one in unit tests. */
export interface Clock {
  /** Milliseconds on a clock that only moves forward. */
  now(): number;
  /** Waits `ms`; resolves false when the wait was cut short because the integration is closing. */
  sleep(ms: number): Promise<boolean>;
}

/** What the loop needs of one destination. */
export interface AttemptTarget {
  /** Sends these events once; `retry` is true for every attempt after a batch's first. */
  send(events: readonly QueuedEvent[], retry: boolean): Promise<AttemptOutcome>;
  /** True while the destination is paused: what is not sent yet is refused without a request. */
  isPaused(): boolean;
}

export interface RetryPolicy {
  maxRetries: number;
  maxRetryDurationMs: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  maxRetryAfterMs: number;
}

/** One thing that happened to a batch, in the order it happened; the caller counts and says it. */
export type DeliveryStep =
  | {
      kind: 'settled';
      events: QueuedEvent[];
      result: 'delivered' | DropReason;
      attempts: number;
      last?: AttemptOutcome;
      /** Worth a warning: refused for good, or retries ran out. */
      because?: 'refused' | 'exhausted';
    }
  /** The destination itself is refused: pause it. Its events settle in the step that follows. */
  | { kind: 'pause'; outcome: AttemptOutcome; events: QueuedEvent[] };

/** Where a batch's attempts led. */
type Decision =
  | { kind: 'settled'; result: 'delivered' | DropReason; attempts: number; last?: AttemptOutcome; because?: 'refused' | 'exhausted' }
  | { kind: 'split'; refusal: AttemptOutcome; attempts: number }
  | { kind: 'pause'; outcome: AttemptOutcome; attempts: number };

/** A half of a split whose first answer was the refusal of the whole again: left unsettled. */
type RefusedAlike = { kind: 'refused-alike'; outcome: AttemptOutcome };

export interface RetryLoop {
  target: AttemptTarget;
  policy: RetryPolicy;
  clock: Clock;
  /** Numbers from 0 (inclusive) to 1 (exclusive), for backoff jitter. */
  random: () => number;
}

/**
 * Delivers one batch: attempts, retries with backoff or `Retry-After`, halving on a refusal, and
 * pausing when the destination itself is refused. Yields each step as it happens, so that a
 * pause takes effect before the next half is sent.
 */
export async function* deliverBatch(events: QueuedEvent[], loop: RetryLoop): AsyncGenerator<DeliveryStep, void> {
  yield* conclude(events, await attemptUntilDecided(events, loop), loop);
}

async function* conclude(events: QueuedEvent[], decision: Decision, loop: RetryLoop): AsyncGenerator<DeliveryStep, void> {
  switch (decision.kind) {
    case 'settled':
      yield { ...decision, kind: 'settled', events };
      return;
    case 'pause':
      yield { kind: 'pause', outcome: decision.outcome, events };
      yield { kind: 'settled', events, result: 'rejected', attempts: decision.attempts, last: decision.outcome };
      return;
    case 'split':
      if ((yield* settleHalves(events, decision.refusal, true, loop)) === 'settled') return;
      yield { kind: 'pause', outcome: decision.refusal, events };
      yield { kind: 'settled', events, result: 'rejected', attempts: decision.attempts, last: decision.refusal };
  }
}

/**
 * A refused request is halved to find the events that pass: one bad event is in one half only.
 * While both halves are refused as the whole was, the first is halved again; when that reaches
 * single events with nothing passed, the refusal is about every request, not its events, and the
 * whole batch is still unsettled for the caller to refuse at once.
 */
async function* settleHalves(
  events: QueuedEvent[],
  refusal: AttemptOutcome,
  nothingPassed: boolean,
  loop: RetryLoop,
): AsyncGenerator<DeliveryStep, 'settled' | 'refused-everything'> {
  const middle = Math.ceil(events.length / 2);
  const refusedAlike: Array<{ half: QueuedEvent[]; outcome: AttemptOutcome }> = [];
  for (const half of [events.slice(0, middle), events.slice(middle)]) {
    const decision = await attemptUntilDecided(half, loop, refusal);
    if (decision.kind === 'refused-alike') refusedAlike.push({ half, outcome: decision.outcome });
    else yield* conclude(half, decision, loop);
  }
  let suspect = nothingPassed && refusedAlike.length === 2;
  if (suspect && refusedAlike.every(({ half }) => half.length === 1)) return 'refused-everything';
  for (const { half, outcome } of refusedAlike) {
    if (half.length === 1) {
      yield { kind: 'settled', events: half, result: 'rejected', attempts: 1, last: outcome, because: 'refused' };
      continue;
    }
    if ((yield* settleHalves(half, outcome, suspect, loop)) === 'refused-everything') return 'refused-everything';
    suspect = false;
  }
  return 'settled';
}

/**
 * Attempts one batch until its answer decides what becomes of it. A half of a split (given the
 * refusal of the whole) whose first answer is that refusal again comes back unsettled.
 */
function attemptUntilDecided(events: QueuedEvent[], loop: RetryLoop): Promise<Decision>;
function attemptUntilDecided(events: QueuedEvent[], loop: RetryLoop, wholeRefused: AttemptOutcome): Promise<Decision | RefusedAlike>;
async function attemptUntilDecided(events: QueuedEvent[], loop: RetryLoop, wholeRefused?: AttemptOutcome): Promise<Decision | RefusedAlike> {
  const { target, policy, clock } = loop;
  const startedAt = clock.now();
  let last: AttemptOutcome | undefined;
  for (let retry = 0; ; retry++) {
    // Paused while this batch waited (a retry, a split half, a batch cut before the pause).
    if (target.isPaused()) return { kind: 'settled', result: 'rejected', attempts: retry, last };
    last = await target.send(events, retry > 0);
    const attempts = retry + 1;
    if (attempts === 1 && wholeRefused && sameRefusal(last, wholeRefused)) return { kind: 'refused-alike', outcome: last };
    switch (verdictOf(last, events.length)) {
      case 'delivered':
        return { kind: 'settled', result: 'delivered', attempts, last };
      case 'split':
        return { kind: 'split', refusal: last, attempts };
      case 'pause':
        return { kind: 'pause', outcome: last, attempts };
      case 'reject':
        if (last.kind === 'aborted') return { kind: 'settled', result: 'close_timeout', attempts, last };
        return { kind: 'settled', result: 'rejected', attempts, last, because: 'refused' };
      case 'retry': {
        const delay = retryDelayMs(last, retry, loop);
        const budgetLeft = startedAt + policy.maxRetryDurationMs - clock.now();
        if (retry >= policy.maxRetries || delay > budgetLeft) {
          return { kind: 'settled', result: 'retries_exhausted', attempts, last, because: 'exhausted' };
        }
        if (!(await clock.sleep(delay))) return { kind: 'settled', result: 'close_timeout', attempts, last };
      }
    }
  }
}

/** `Retry-After` when the data plane sent one (capped), else backoff with full jitter. */
export function retryDelayMs(outcome: AttemptOutcome | undefined, retry: number, loop: Pick<RetryLoop, 'policy' | 'random'>): number {
  const { policy } = loop;
  if (outcome?.kind === 'response' && outcome.retryAfterMs !== undefined) return Math.min(outcome.retryAfterMs, policy.maxRetryAfterMs);
  return backoffDelayMs(retry, { baseDelayMs: policy.retryBaseDelayMs, maxDelayMs: policy.retryMaxDelayMs }, loop.random);
}

/** Two answers that refuse a request the same way (the same status). */
function sameRefusal(outcome: AttemptOutcome, refusal: AttemptOutcome): boolean {
  return outcome.kind === 'response' && refusal.kind === 'response' && outcome.status === refusal.status;
}
