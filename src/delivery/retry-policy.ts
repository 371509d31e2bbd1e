/**
 * What to do with a batch after one attempt, from the data plane's answer (status codes only:
 * its body texts have changed case before).
 */
export type AttemptVerdict =
  | 'delivered'
  /** Outcome unknown or temporary: send the same events again later. */
  | 'retry'
  /** The request as a whole was refused; halves may pass (one bad or oversized event). */
  | 'split'
  /** Refused for good. */
  | 'reject'
  /** The destination itself is wrong (write key or source): stop sending to it for a while. */
  | 'pause';

/** What an attempt that reached the network cost: its own time and its body's bytes on the wire (set by the sender). */
export interface AttemptCost {
  durationMs?: number;
  bytes?: number;
}

export type AttemptOutcome =
  | ({ kind: 'response'; status: number; retryAfterMs?: number } & AttemptCost)
  | ({ kind: 'network-error'; message: string; timedOut: boolean; code?: string } & AttemptCost)
  /** The integration is closing and gave up on this attempt. */
  | { kind: 'aborted' };

export const INTERNAL_ADDRESS_CODE = 'ERR_INTERNAL_ADDRESS';

/** 501, 505 and 511 will not get better by asking again. */
const PERMANENT_5XX = new Set([501, 505, 511]);

export function verdictOf(outcome: AttemptOutcome, batchSize: number): AttemptVerdict {
  if (outcome.kind === 'aborted') return 'reject';
  // The network guard refused the host's address: a settings problem, not a passing fault.
  if (outcome.kind === 'network-error') return outcome.code === INTERNAL_ADDRESS_CODE ? 'pause' : 'retry';
  const { status } = outcome;
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429) return 'retry';
  if (status >= 500) return PERMANENT_5XX.has(status) ? 'reject' : 'retry';
  if (status === 401 || status === 404) return 'pause';
  // 400: one bad event refuses the whole request. 413: too large. 403: hosted RudderStack's answer
  // to oversized payloads. Halving finds the good events; a single event is refused for good.
  if ((status === 400 || status === 413 || status === 403) && batchSize > 1) return 'split';
  return 'reject';
}

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base * 2^retry)). */
export function backoffDelayMs(retry: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/**
 * `Retry-After` as delay-seconds or an HTTP date, in milliseconds from now; undefined when absent
 * or unreadable. Never negative.
 */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date always names its month; Date.parse alone would read "-5" as a year.
  const date = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
