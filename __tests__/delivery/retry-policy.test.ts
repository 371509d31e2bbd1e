import { backoffDelayMs, parseRetryAfter, verdictOf } from '../../src/delivery/retry-policy';

describe('verdictOf', () => {
  const response = (status: number) => ({ kind: 'response' as const, status });

  it.each([200, 201, 204])('%i is delivered', (status) => {
    expect(verdictOf(response(status), 10)).toBe('delivered');
  });

  it.each([408, 429, 500, 502, 503, 504])('%i is retried (outcome unknown or temporary)', (status) => {
    expect(verdictOf(response(status), 10)).toBe('retry');
  });

  it('retries network errors and timeouts', () => {
    expect(verdictOf({ kind: 'network-error', message: 'ECONNRESET', timedOut: false }, 1)).toBe('retry');
    expect(verdictOf({ kind: 'network-error', message: 'timeout', timedOut: true }, 1)).toBe('retry');
  });

  it.each([501, 505, 511])('%i is refused for good', (status) => {
    expect(verdictOf(response(status), 10)).toBe('reject');
  });

  it.each([400, 413, 403])('%i splits a multi-event batch and refuses a single event', (status) => {
    expect(verdictOf(response(status), 2)).toBe('split');
    expect(verdictOf(response(status), 1)).toBe('reject');
  });

  it.each([401, 404])('%i pauses the destination', (status) => {
    expect(verdictOf(response(status), 5)).toBe('pause');
  });

  it.each([405, 409, 422])('other 4xx (%i) are refused for good', (status) => {
    expect(verdictOf(response(status), 5)).toBe('reject');
  });

  it('a redirect is refused: redirects are never followed', () => {
    expect(verdictOf(response(307), 5)).toBe('reject');
  });
});

describe('backoffDelayMs', () => {
  const options = { baseDelayMs: 500, maxDelayMs: 30_000 };

  it('is full jitter under an exponential ceiling', () => {
    expect(backoffDelayMs(0, options, () => 0.999)).toBe(499);
    expect(backoffDelayMs(3, options, () => 0.5)).toBe(2_000);
    expect(backoffDelayMs(0, options, () => 0)).toBe(0);
  });

  it('never exceeds the ceiling', () => {
    expect(backoffDelayMs(20, options, () => 0.999)).toBe(29_970);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-28T10:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date, never negative', () => {
    expect(parseRetryAfter('Sat, 28 Nov 2026 10:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Sat, 28 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});
