import Denque from 'denque';
import type { ChangeClaim } from '../types';
import type { Endpoint } from './http-sender';
import { batchBytesOf, EMPTY_BATCH_BYTES } from './wire';

/** One serialized event waiting for, or travelling in, a batch. */
export interface QueuedEvent {
  /** The settlement ledger's number for the hook call it came from. */
  seq: number;
  /** Its environment: what a request's report and warnings name. */
  environmentKey: string;
  /** The event's JSON in UTF-8, without `sentAt` (see `SerializedEvent`). */
  json: Buffer;
  /** When the hook accepted it, on the monotonic clock: the flush interval counts from here. */
  acceptedAt: number;
  /** Its sendOnlyOnChange claim, confirmed on delivery and released otherwise. */
  change?: ChangeClaim;
}

export interface BatchLimits {
  flushAt: number;
  maxBatchBytes: number;
}

/**
 * One data plane URL and write key: the only unit that shares batches. It owns the events waiting
 * for a batch and knows when a batch is due; sending belongs to the caller.
 */
export class Destination {
  readonly pending = new Denque<QueuedEvent>();
  /** Batch-body bytes of everything pending. */
  pendingBytes = 0;
  /** Events at the head of `pending` that must go now, full batch or not (interval passed, or flushed). */
  private dueCount = 0;
  requestsInFlight = 0;
  /** A full batch waited for a free request slot: the next request takes all that fit. */
  backlogged = false;
  /** Environments seen routing here: `invalidate(environmentKey)` lifts a pause of the destinations that serve it. */
  readonly environments = new Set<string>();
  /** Until when (monotonic clock) the data plane has refused this destination's key or source. */
  pausedUntil = 0;
  /** Consecutive pauses, for a growing cool-down; reset by a delivery. */
  pauses = 0;
  intervalTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly key: string,
    readonly endpoint: Endpoint,
    /** Data plane URL, for messages (never the write key). */
    readonly dataPlaneUrl: string,
    private readonly limits: BatchLimits,
  ) {}

  push(event: QueuedEvent, due: boolean): void {
    this.pending.push(event);
    this.pendingBytes += batchBytesOf(event.json.length);
    if (due) this.dueCount = this.pending.length;
  }

  /** Everything pending now must go without waiting for a full batch. */
  markAllDue(): void {
    this.dueCount = this.pending.length;
  }

  isPaused(now: number): boolean {
    return this.pausedUntil > now;
  }

  /** A batch can be cut: something is due, or a full batch (by count or bytes) is waiting. */
  hasBatchReady(): boolean {
    if (this.pending.isEmpty()) return false;
    return (
      this.dueCount > 0 ||
      this.pending.length >= this.limits.flushAt ||
      this.pendingBytes + EMPTY_BATCH_BYTES >= this.limits.maxBatchBytes
    );
  }

  /** Takes the next batch from the head: at least one event, at most `maxEvents` and `maxBatchBytes` bytes. */
  takeBatch(maxEvents: number): QueuedEvent[] {
    const batch: QueuedEvent[] = [];
    let bytes = EMPTY_BATCH_BYTES;
    while (batch.length < maxEvents) {
      const next = this.pending.peekFront();
      if (!next || (batch.length > 0 && bytes + batchBytesOf(next.json.length) > this.limits.maxBatchBytes)) break;
      this.removeHead();
      batch.push(next);
      bytes += batchBytesOf(next.json.length);
    }
    return batch;
  }

  /** Removes and returns the oldest pending event. */
  removeHead(): QueuedEvent | undefined {
    const head = this.pending.shift();
    if (head) {
      this.pendingBytes -= batchBytesOf(head.json.length);
      if (this.dueCount > 0) this.dueCount--;
    }
    return head;
  }

  isIdle(): boolean {
    return this.pending.isEmpty() && this.requestsInFlight === 0 && this.intervalTimer === undefined;
  }
}
