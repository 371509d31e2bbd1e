import Denque from 'denque';
import type { QueuedEvent } from './event-record';
import type { Endpoint } from './http-sender';
import { batchBytesOf, EMPTY_BATCH_BYTES } from './wire';

export interface DestinationLimits {
  flushAt: number;
  flushIntervalMs: number;
  maxBatchBytes: number;
  maxConcurrentRequests: number;
  pauseMs: number;
  maxPauseMs: number;
}

/**
 * One data plane URL and write key: the only unit that shares batches. It owns the events waiting
 * for a batch, its request slots, its pause and its flush timer; what to send and how belongs to
 * the caller.
 */
export class Destination {
  readonly #pending = new Denque<QueuedEvent>();
  /** Batch-body bytes of everything pending. */
  #pendingBytes = 0;
  /** Events at the head of `pending` that must go now, full batch or not (interval passed, or flushed). */
  #dueCount = 0;
  #requestsInFlight = 0;
  /** A ready batch waited for a free request slot: the next request takes all that fit. */
  #backlogged = false;
  /** Environments seen routing here: `invalidate(environmentKey)` lifts a pause of the destinations that serve it. */
  readonly #environments = new Set<string>();
  /** Until when (monotonic clock) the data plane has refused this destination's key or source. */
  #pausedUntil = 0;
  /** Consecutive pauses, for a growing cool-down; reset by a delivery. */
  #pauses = 0;
  /** Durable outbox: until when (monotonic) its rows wait after a retryable failure, and how many failures in a row. */
  #retryAt = 0;
  #failures = 0;
  #flushTimer: NodeJS.Timeout | undefined;

  readonly #limits: DestinationLimits;

  constructor(
    readonly key: string,
    readonly endpoint: Endpoint,
    /** Data plane URL, for messages (never the write key). */
    readonly dataPlaneUrl: string,
    /** Its host (and port), likewise redacted. */
    readonly dataPlaneHost: string,
    limits: DestinationLimits,
  ) {
    this.#limits = limits;
  }

  /** Notes that an environment routes here, whether or not its events get through. */
  serve(environmentKey: string): void {
    this.#environments.add(environmentKey);
  }

  push(event: QueuedEvent, due: boolean): void {
    this.#pending.push(event);
    this.#pendingBytes += batchBytesOf(event.json.length);
    if (due) this.#dueCount = this.#pending.length;
  }

  /** Everything pending now must go without waiting for a full batch. */
  markAllDue(): void {
    this.#dueCount = this.#pending.length;
  }

  /** Events waiting for a batch. */
  pendingCount(): number {
    return this.#pending.length;
  }

  /** The oldest pending event, if any. */
  oldest(): QueuedEvent | undefined {
    return this.#pending.peekFront();
  }

  /** Removes and returns the oldest pending event. */
  removeOldest(): QueuedEvent | undefined {
    const head = this.#pending.shift();
    if (head) {
      this.#pendingBytes -= batchBytesOf(head.json.length);
      if (this.#dueCount > 0) this.#dueCount--;
    }
    return head;
  }

  /** Removes and returns the pending outbox rows, keeping the other events in order. */
  takeRows(): QueuedEvent[] {
    const rows: QueuedEvent[] = [];
    const kept: QueuedEvent[] = [];
    for (let event = this.removeOldest(); event; event = this.removeOldest()) (event.row === undefined ? kept : rows).push(event);
    for (const event of kept) this.push(event, true);
    return rows;
  }

  /**
   * The next batch, taking a request slot, when one is ready and a slot is free. A batch is
   * `flushAt` events, unless a ready batch had to wait for a slot: then the next request carries
   * every waiting event that fits in `maxBatchBytes`, so that a backlog drains in fewer, larger
   * requests, which costs both ends less per event.
   */
  startRequest(): QueuedEvent[] | undefined {
    if (!this.#hasBatchReady()) return undefined;
    if (this.slotsBusy()) {
      this.#backlogged = true;
      return undefined;
    }
    const maxEvents = this.#backlogged ? Number.POSITIVE_INFINITY : this.#limits.flushAt;
    this.#backlogged = false;
    const batch: QueuedEvent[] = [];
    let bytes = EMPTY_BATCH_BYTES;
    while (batch.length < maxEvents) {
      const next = this.#pending.peekFront();
      if (!next || (batch.length > 0 && bytes + batchBytesOf(next.json.length) > this.#limits.maxBatchBytes)) break;
      this.removeOldest();
      batch.push(next);
      bytes += batchBytesOf(next.json.length);
    }
    this.#requestsInFlight++;
    return batch;
  }

  endRequest(): void {
    this.#requestsInFlight--;
  }

  /** Every request slot is taken: nothing more can start until a request ends. */
  slotsBusy(): boolean {
    return this.#requestsInFlight >= this.#limits.maxConcurrentRequests;
  }

  /**
   * Pauses the destination for `pauseMs`, doubling on each consecutive pause up to `maxPauseMs`.
   * Returns the cool-down, or undefined when it was paused already (requests in flight together
   * are refused together: that is one pause).
   */
  pause(now: number): number | undefined {
    if (this.isPaused(now)) return undefined;
    const coolDownMs = Math.min(this.#limits.maxPauseMs, this.#limits.pauseMs * 2 ** this.#pauses);
    this.#pauses++;
    this.#pausedUntil = now + coolDownMs;
    return coolDownMs;
  }

  /** A delivery went through: the next pause (and outbox back-off) starts from the beginning again. */
  delivered(): void {
    this.#pauses = 0;
    this.#failures = 0;
  }

  /**
   * Durable outbox: a retryable failure. Its rows wait in the outbox, not in memory, until
   * `now + delayMs`; and one more failure in a row counts toward the backoff.
   */
  backOff(now: number, delayMs: number): void {
    this.#retryAt = Math.max(this.#retryAt, now + delayMs);
    this.#failures++;
  }

  /** Failures in a row since the last delivery (durable outbox). */
  get failures(): number {
    return this.#failures;
  }

  /** Milliseconds until the destination takes outbox rows again: paused or backing off (0: now). */
  outboxWaitMs(now: number): number {
    return Math.max(0, this.#pausedUntil - now, this.#retryAt - now);
  }

  /** Lifts a pause and forgets earlier ones (its settings changed). */
  resume(): void {
    this.#pausedUntil = 0;
    this.#pauses = 0;
    this.#retryAt = 0;
  }

  isPaused(now: number): boolean {
    return this.#pausedUntil > now;
  }

  serves(environmentKey: string): boolean {
    return this.#environments.has(environmentKey);
  }

  /**
   * Arms the flush timer for the oldest pending event (when none is armed and a slot is free: with
   * every slot busy the next request to end comes back here anyway). Unref'd: a host with nothing
   * else to do may exit.
   */
  armFlushTimer(now: number, onDue: () => void): void {
    const head = this.#pending.peekFront();
    if (!head || this.slotsBusy()) return this.clearFlushTimer();
    if (this.#flushTimer) return;
    const delay = Math.max(0, head.acceptedAt + this.#limits.flushIntervalMs - now);
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.markAllDue();
      onDue();
    }, delay);
    this.#flushTimer.unref();
  }

  clearFlushTimer(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
  }

  /** Nothing pending, in flight or timed, and no pause to remember: it can be forgotten. */
  isForgettable(): boolean {
    return this.#pending.isEmpty() && this.#requestsInFlight === 0 && this.#flushTimer === undefined && this.#pauses === 0 && this.#failures === 0;
  }

  /** A batch can be cut: something is due, or a full batch (by count or bytes) is waiting. */
  #hasBatchReady(): boolean {
    if (this.#pending.isEmpty()) return false;
    return this.#dueCount > 0 || this.#pending.length >= this.#limits.flushAt || this.#pendingBytes + EMPTY_BATCH_BYTES >= this.#limits.maxBatchBytes;
  }
}
