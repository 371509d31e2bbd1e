/**
 * What each destination has been doing, for `integration.destinations()` and the metrics
 * adapters: the one owner of that state. Delivery tells it what happens where it already counts
 * (an event routed, a request started, an attempt answered, a batch settled, a pause); nothing
 * here runs in the hook. A destination that goes idle is forgotten by delivery and made anew by its
 * next event, so its record lives here, keyed the same way, and outlives it (bounded).
 */
import type { DestinationState, DestinationStatus, DropReason } from '../types';
import { INTERNAL_ADDRESS_CODE, verdictOf, type AttemptOutcome } from './retry-policy';

/** How a request ended, as `requests_total` labels it: the status class, or what happened instead of a status. */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'other' | 'timeout' | 'network_error';

/** Every status class, in the order metrics list them. */
export const STATUS_CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx', 'other', 'timeout', 'network_error'];

/** One request that reached the network: what the metrics histograms observe. */
export interface RequestSample {
  /** Its own time, from handing the body to the network to the status or the failure. */
  durationMs: number;
  /** Its body on the wire (after gzip). */
  bytes: number;
  /** Events in it. */
  events: number;
  statusClass: StatusClass;
}

/** What a destination's record reads of the live destination: what it holds and whether it waits. */
export interface LiveDestination {
  readonly key: string;
  readonly dataPlaneHost: string;
  pendingCount(): number;
  isPaused(now: number): boolean;
  /** Milliseconds until it takes outbox rows again: paused, or backing off after a retryable failure (durable outbox). */
  outboxWaitMs(now: number): number;
}

/** Records kept at most: far above the destinations a host has (one per environment at most), so only a runaway sheds any. */
const MAX_RECORDS = 10_000;

/** A batch that was last answered with something that may get better, and is not settled yet. */
type Batch = readonly unknown[];

class DestinationRecord {
  readonly environments = new Set<string>();
  inFlight = 0;
  delivered = 0;
  dropped = 0;
  /** Wall-clock milliseconds. */
  lastDeliveredAt: number | undefined;
  lastFailure: { at: number; reason: string; status?: number } | undefined;
  /** The last batch to settle was given up on. */
  lastSettledFailed = false;
  /** Monotonic milliseconds: the end of the last pause. */
  pausedUntil = 0;
  readonly retrying = new Set<Batch>();

  /**
   * The destination object delivery used last for this key, which holds its events now: read
   * here, so that a report needs no registry (delivery's forgets idle destinations).
   */
  constructor(public live: LiveDestination) {}
}

/** The per-destination health records and the request counts by status class. */
export class DestinationHealth {
  readonly #records = new Map<string, DestinationRecord>();
  /** The destination each environment routes to now: an environment whose settings change moves. */
  readonly #environmentDestination = new Map<string, string>();
  readonly #requests = Object.fromEntries(STATUS_CLASSES.map((statusClass) => [statusClass, 0])) as Record<StatusClass, number>;
  readonly #listeners = new Set<(sample: RequestSample) => void>();

  /** An environment routes to this destination (called when the live destination first sees it). */
  serve(destination: LiveDestination, environmentKey: string): void {
    const record = this.#recordFor(destination);
    const before = this.#environmentDestination.get(environmentKey);
    if (before !== undefined && before !== destination.key) this.#records.get(before)?.environments.delete(environmentKey);
    this.#environmentDestination.set(environmentKey, destination.key);
    record.environments.add(environmentKey);
  }

  /** Events went into a request. */
  toRequest(destination: LiveDestination, count: number): void {
    this.#recordFor(destination).inFlight += count;
  }

  /** One attempt of a batch ended. */
  attempted(destination: LiveDestination, batch: Batch, outcome: AttemptOutcome): void {
    if (outcome.kind === 'aborted' || outcome.durationMs === undefined) return;
    const statusClass = statusClassOf(outcome);
    this.#requests[statusClass]++;
    const record = this.#recordFor(destination);
    const verdict = verdictOf(outcome, batch.length);
    if (verdict === 'retry') record.retrying.add(batch);
    else record.retrying.delete(batch);
    if (verdict !== 'delivered') record.lastFailure = { at: Date.now(), ...failureOf(outcome) };
    if (this.#listeners.size === 0) return;
    const sample: RequestSample = { durationMs: outcome.durationMs, bytes: outcome.bytes ?? 0, events: batch.length, statusClass };
    for (const listener of this.#listeners) listener(sample);
  }

  /** Events that were in a request settled: delivered, dropped, or (`parked`) handed back to the durable outbox for a later try. */
  settled(destination: LiveDestination, batch: Batch, result: 'delivered' | 'parked' | DropReason): void {
    const record = this.#recordFor(destination);
    record.inFlight -= batch.length;
    // With nothing in flight nothing retries, whatever a fault left behind.
    if (record.inFlight === 0) record.retrying.clear();
    else record.retrying.delete(batch);
    // Rows handed back are neither delivered nor given up: they wait in the outbox.
    if (result === 'parked') return;
    record.lastSettledFailed = result !== 'delivered';
    if (result === 'delivered') {
      record.delivered += batch.length;
      record.lastDeliveredAt = Date.now();
    } else {
      record.dropped += batch.length;
    }
  }

  /** Events routed to the destination were dropped before a request (paused, evicted, too large, closing). */
  dropped(destination: LiveDestination, count: number): void {
    this.#recordFor(destination).dropped += count;
  }

  /** The destination was paused until `pausedUntil` (monotonic). */
  paused(destination: LiveDestination, pausedUntil: number): void {
    this.#recordFor(destination).pausedUntil = pausedUntil;
  }

  /** Requests that reached the network, by status class, since the integration started. */
  requests(): Readonly<Record<StatusClass, number>> {
    return { ...this.#requests };
  }

  /** Calls `listener` after each request that reached the network; returns what stops it. */
  onRequest(listener: (sample: RequestSample) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every destination that serves an environment or holds events, with what it holds now (`now` on the monotonic clock). */
  report(now: number): DestinationStatus[] {
    const statuses: DestinationStatus[] = [];
    const wallNow = Date.now();
    for (const record of this.#records.values()) {
      const destination = record.live;
      const queued = destination.pendingCount();
      if (record.environments.size === 0 && queued === 0 && record.inFlight === 0) continue;
      const paused = destination.isPaused(now);
      const backingOff = destination.outboxWaitMs(now) > 0;
      statuses.push({
        dataPlaneHost: destination.dataPlaneHost,
        environmentKeys: [...record.environments],
        state: stateOf(record, queued, paused, backingOff),
        queued,
        inFlight: record.inFlight,
        delivered: record.delivered,
        dropped: record.dropped,
        ...(record.lastDeliveredAt === undefined ? {} : { lastDeliveredAt: new Date(record.lastDeliveredAt).toISOString() }),
        ...(record.lastFailure === undefined ? {} : { lastFailure: { ...record.lastFailure, at: new Date(record.lastFailure.at).toISOString() } }),
        ...(paused ? { pausedUntil: new Date(wallNow + record.pausedUntil - now).toISOString() } : {}),
      });
    }
    return statuses;
  }

  #recordFor(destination: LiveDestination): DestinationRecord {
    let record = this.#records.get(destination.key);
    if (!record) {
      if (this.#records.size >= MAX_RECORDS) this.#shedOne();
      record = new DestinationRecord(destination);
      this.#records.set(destination.key, record);
    }
    record.live = destination;
    return record;
  }

  /** Forgets the oldest record with nothing in flight (its counts go; stats() keeps the totals). */
  #shedOne(): void {
    for (const [key, record] of this.#records) {
      if (record.inFlight > 0) continue;
      this.#records.delete(key);
      for (const environmentKey of record.environments) {
        if (this.#environmentDestination.get(environmentKey) === key) this.#environmentDestination.delete(environmentKey);
      }
      return;
    }
  }
}

/** The first that holds of: paused, retrying, sending, refused, idle (see `DestinationState`). */
function stateOf(record: DestinationRecord, queued: number, paused: boolean, backingOff: boolean): DestinationState {
  if (paused) return 'paused';
  // Backing off: its rows wait in the durable outbox for their next try.
  if (backingOff || (record.retrying.size > 0 && record.inFlight > 0)) return 'retrying';
  if (queued > 0 || record.inFlight > 0) return 'sending';
  return record.lastSettledFailed ? 'refused' : 'idle';
}

function statusClassOf(outcome: Exclude<AttemptOutcome, { kind: 'aborted' }>): StatusClass {
  if (outcome.kind === 'network-error') return outcome.timedOut ? 'timeout' : 'network_error';
  const hundreds = Math.floor(outcome.status / 100);
  return hundreds >= 2 && hundreds <= 5 ? (`${hundreds}xx` as StatusClass) : 'other';
}

/** Short codes for what went wrong, by status: what `lastFailure.reason` says. */
const FAILURE_REASONS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  408: 'request_timeout',
  413: 'too_large',
  429: 'rate_limited',
};

function failureOf(outcome: Exclude<AttemptOutcome, { kind: 'aborted' }>): { reason: string; status?: number } {
  if (outcome.kind === 'network-error') {
    if (outcome.timedOut) return { reason: 'timeout' };
    return { reason: outcome.code === INTERNAL_ADDRESS_CODE ? 'internal_address' : 'network_error' };
  }
  const { status } = outcome;
  const reason = FAILURE_REASONS[status] ?? (status >= 500 ? 'server_error' : status >= 300 && status < 400 ? 'redirect' : 'http_error');
  return { reason, status };
}

/** Each integration's health, for the metrics adapters (`flagsmith-rudderstack/prometheus`, `/opentelemetry`). */
const healthByOwner = new WeakMap<object, DestinationHealth>();

export function attachHealth(owner: object, health: DestinationHealth): void {
  healthByOwner.set(owner, health);
}

export function healthOf(owner: object): DestinationHealth | undefined {
  return healthByOwner.get(owner);
}
