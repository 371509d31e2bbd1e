import Denque from 'denque';
import { RateLimitedLog } from '../log';
import type { Counters } from '../stats';
import type { IdentifyCapture } from '../mapping/identify';
import type { BatchResult, ChangeClaim, DropReason, Logger, ValidatedSettings } from '../types';
import { Destination, type QueuedEvent } from './destination';
import { endpointFor, type HttpSender } from './http-sender';
import { backoffDelayMs, verdictOf, type AttemptOutcome } from './retry-policy';
import type { SettlementLedger } from './settlement-ledger';
import { sleep } from './sleep';
import { batchBody, serializeIdentify } from './wire';

export interface DeliveryOptions {
  onBatchResult?: (result: BatchResult) => void;
  flushAt: number;
  maxQueueSize: number;
  flushIntervalMs: number;
  maxBatchBytes: number;
  maxEventBytes: number;
  maxRetries: number;
  maxRetryDurationMs: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  maxRetryAfterMs: number;
  maxConcurrentRequests: number;
  pauseMs: number;
  maxPauseMs: number;
}

/** An identify as the hook hands it over: captured, not yet mapped or serialized. */
interface IntakeItem {
  seq: number;
  environmentKey: string;
  settings: ValidatedSettings;
  capture: IdentifyCapture;
  acceptedAt: number;
  change?: ChangeClaim;
}

/** An event anywhere before a request: in the intake or a destination's queue. */
type HeldEvent = Pick<QueuedEvent, 'seq' | 'change'>;

/** Told what became of each event that carries a sendOnlyOnChange claim. */
export type ClaimSettled = (claim: ChangeClaim, delivered: boolean) => void;

const LOG_INTERVAL_MS = 60_000;

/**
 * Everything after the hook: serializing, batching per destination, sending, retrying, and
 * accounting every event until it is delivered or dropped. Errors become log lines and counts,
 * never rejections.
 */
export class Delivery {
  private readonly destinations = new Map<string, Destination>();
  /** Each settings object's destination key, made once: settings stay cached across many events. */
  private readonly destinationKeys = new WeakMap<ValidatedSettings, string>();
  /** Events the hook handed over since the last intake pass; serialized off the hook's call. */
  private readonly intake = new Denque<IntakeItem>();
  private intakeScheduled = false;
  private readonly shutdown = new AbortController();
  private readonly log: RateLimitedLog;

  constructor(
    private readonly options: DeliveryOptions,
    private readonly sender: HttpSender,
    private readonly ledger: SettlementLedger,
    private readonly counters: Counters,
    private readonly logger: Logger,
    private readonly onClaimSettled?: ClaimSettled,
  ) {
    this.log = new RateLimitedLog(logger, LOG_INTERVAL_MS);
  }

  /** The hook's part: O(1), no mapping, no serialization, no I/O. */
  enqueue(
    seq: number,
    environmentKey: string,
    settings: ValidatedSettings,
    capture: IdentifyCapture,
    acceptedAt: number,
    change?: ChangeClaim,
  ): void {
    this.intake.push({ seq, environmentKey, settings, capture, acceptedAt, change });
    if (!this.intakeScheduled) {
      this.intakeScheduled = true;
      setImmediate(this.processIntake);
    }
  }

  /** Sends everything held now, full batches or not. */
  flushNow(): void {
    this.processIntake();
    for (const destination of this.destinations.values()) {
      destination.markAllDue();
      this.pump(destination);
    }
  }

  /**
   * Makes room for one event by dropping the oldest event not yet in a request. False when every
   * held event is in a request already.
   */
  evictOldest(): boolean {
    let oldest: { event: HeldEvent; from: Destination | undefined } | undefined;
    const intakeHead = this.intake.peekFront();
    if (intakeHead) oldest = { event: intakeHead, from: undefined };
    for (const destination of this.destinations.values()) {
      const head = destination.pending.peekFront();
      if (head && (!oldest || head.seq < oldest.event.seq)) oldest = { event: head, from: destination };
    }
    if (!oldest) return false;
    if (oldest.from) oldest.from.removeHead();
    else this.intake.shift();
    this.dropHeld(oldest.event, 'queue_full');
    this.log.warn('queue_full', 'the event queue is full (maxQueueSize): dropping the oldest events; is the data plane reachable?');
    return true;
  }

  /** Lifts the cool-down of destinations that serve this environment (all when none is named). */
  resume(environmentKey?: string): void {
    for (const destination of this.destinations.values()) {
      if (environmentKey === undefined || destination.environments.has(environmentKey)) {
        destination.pausedUntil = 0;
        destination.pauses = 0;
      }
    }
  }

  /** Gives up on everything: requests and retry waits end at once, every held event is dropped. */
  abandon(): void {
    this.shutdown.abort();
    this.processIntake();
    for (const destination of this.destinations.values()) {
      this.dropPending(destination, 'close_timeout');
      this.clearTimer(destination);
    }
  }

  /** Releases timers and sockets once nothing is held. */
  stop(): void {
    for (const destination of this.destinations.values()) this.clearTimer(destination);
    this.sender.close();
  }

  private readonly processIntake = (): void => {
    this.intakeScheduled = false;
    const touched = new Set<Destination>();
    for (let item = this.intake.shift(); item; item = this.intake.shift()) {
      const destination = this.place(item);
      if (destination) touched.add(destination);
    }
    for (const destination of touched) this.pump(destination);
  };

  /** Maps and serializes one identify into its destination's queue; returns the destination, or none if dropped. */
  private place(item: IntakeItem): Destination | undefined {
    const destination = this.destinationFor(item.settings);
    destination.environments.add(item.environmentKey);
    if (this.shutdown.signal.aborted) return this.dropHeld(item, 'close_timeout');
    if (destination.isPaused(Date.now())) return this.dropHeld(item, 'rejected');

    const { events, oversizedTraits } = serializeIdentify(item.capture, this.options.maxEventBytes);
    if (oversizedTraits.length > 0) {
      this.counters.traitsDropped += oversizedTraits.length;
      this.log.warn(
        `trait_too_large:${item.environmentKey}`,
        `environment ${item.environmentKey}: left out trait(s) ${oversizedTraits.map(quoteShort).join(', ')} ` +
          `of identity ${quoteShort(item.capture.userId)}: a value alone is larger than maxEventBytes (${this.options.maxEventBytes} bytes)`,
      );
    }
    if (events.length === 0) {
      this.log.warn(
        `event_too_large:${item.environmentKey}`,
        `environment ${item.environmentKey}: dropped the identify of ${quoteShort(item.capture.userId)}: ` +
          `it does not fit in maxEventBytes (${this.options.maxEventBytes} bytes) even without traits`,
      );
      return this.dropHeld(item, 'event_too_large');
    }
    let change = item.change;
    if (events.length > 1) {
      this.ledger.acceptMore(item.seq, events.length - 1);
      this.counters.splitEvents += events.length - 1;
      // Its parts may fare differently; rather than remember half a state, it is not remembered.
      if (change) this.onClaimSettled?.(change, false);
      change = undefined;
    }
    const due = this.ledger.isAwaited(item.seq);
    for (const event of events) {
      this.counters.enqueued++;
      destination.push({ seq: item.seq, json: event.json, acceptedAt: item.acceptedAt, change }, due);
    }
    return destination;
  }

  private destinationFor(settings: ValidatedSettings): Destination {
    let key = this.destinationKeys.get(settings);
    if (key === undefined) {
      key = `${settings.dataPlaneUrl}\n${settings.writeKey}`;
      this.destinationKeys.set(settings, key);
    }
    let destination = this.destinations.get(key);
    if (!destination) {
      const endpoint = endpointFor(settings.dataPlaneUrl, settings.writeKey);
      destination = new Destination(key, endpoint, endpoint.redact(settings.dataPlaneUrl), this.options);
      this.destinations.set(key, destination);
    }
    return destination;
  }

  /**
   * Starts as many due batches as the destination's request limit allows, then re-arms its timer.
   *
   * A batch is `flushAt` events, unless events had to wait because every request slot was busy:
   * then the next request carries all waiting events that fit in `maxBatchBytes`. Events arriving
   * faster than requests of `flushAt` carry them go in fewer, larger requests, which costs both
   * ends less per event and drains the backlog before the queue overflows.
   */
  private pump(destination: Destination): void {
    while (destination.hasBatchReady()) {
      if (destination.requestsInFlight >= this.options.maxConcurrentRequests) {
        destination.backlogged = true;
        break;
      }
      const maxEvents = destination.backlogged ? Number.POSITIVE_INFINITY : this.options.flushAt;
      destination.backlogged = false;
      this.send(destination, destination.takeBatch(maxEvents));
    }
    this.armTimer(destination);
    // An idle destination is forgotten unless it remembers a pause; the next event makes it anew.
    if (destination.isIdle() && destination.pauses === 0) this.destinations.delete(destination.key);
  }

  private armTimer(destination: Destination): void {
    const head = destination.pending.peekFront();
    if (!head) return this.clearTimer(destination);
    if (destination.intervalTimer) return;
    const delay = Math.max(0, head.acceptedAt + this.options.flushIntervalMs - Date.now());
    destination.intervalTimer = setTimeout(() => {
      destination.intervalTimer = undefined;
      destination.markAllDue();
      this.pump(destination);
    }, delay);
    destination.intervalTimer.unref();
  }

  private clearTimer(destination: Destination): void {
    if (destination.intervalTimer) clearTimeout(destination.intervalTimer);
    destination.intervalTimer = undefined;
  }

  private send(destination: Destination, batch: QueuedEvent[]): void {
    destination.requestsInFlight++;
    this.counters.inFlight += batch.length;
    this.sendUntilSettled(destination, batch, Date.now())
      .catch((error: unknown) => this.log.error('internal', `unexpected delivery error: ${String(error)}`))
      .finally(() => {
        destination.requestsInFlight--;
        this.pump(destination);
      });
  }

  /** Attempts one batch until every event in it is delivered or dropped. */
  private async sendUntilSettled(destination: Destination, batch: QueuedEvent[], firstAttemptAt: number): Promise<void> {
    let outcome: AttemptOutcome | undefined;
    let attempts = 0;
    const settle = (result: 'delivered' | DropReason): void => this.finish(destination, batch, result, outcome, attempts);
    for (let retry = 0; ; retry++) {
      // Paused while this batch waited (a retry, a split half, a batch cut before the pause).
      if (destination.isPaused(Date.now())) return settle('rejected');
      if (retry > 0) this.counters.retried++;
      const body = batchBody(batch, new Date().toISOString());
      outcome = await this.sender.send(destination.endpoint, body, this.shutdown.signal);
      attempts++;
      switch (verdictOf(outcome, batch.length)) {
        case 'delivered':
          destination.pauses = 0;
          return settle('delivered');
        case 'split': {
          const half = Math.ceil(batch.length / 2);
          await this.sendUntilSettled(destination, batch.slice(0, half), Date.now());
          return this.sendUntilSettled(destination, batch.slice(half), Date.now());
        }
        case 'pause':
          this.pause(destination, outcome);
          return settle('rejected');
        case 'reject':
          if (outcome.kind === 'aborted') return settle('close_timeout');
          this.log.warn(
            `rejected:${destination.dataPlaneUrl}`,
            `${this.describe(destination)} refused ${batch.length} event(s) for good (${describeOutcome(outcome)}): dropped`,
          );
          return settle('rejected');
        case 'retry': {
          const delay = this.retryDelay(outcome, retry);
          const budgetLeft = firstAttemptAt + this.options.maxRetryDurationMs - Date.now();
          if (retry >= this.options.maxRetries || delay > budgetLeft) {
            this.log.warn(
              `retries_exhausted:${destination.dataPlaneUrl}`,
              `${this.describe(destination)}: ${batch.length} event(s) dropped after ${attempts} attempt(s), last ${describeOutcome(outcome)}`,
            );
            return settle('retries_exhausted');
          }
          await sleep(delay, this.shutdown.signal);
          if (this.shutdown.signal.aborted) return settle('close_timeout');
        }
      }
    }
  }

  private retryDelay(outcome: AttemptOutcome, retry: number): number {
    if (outcome.kind === 'response' && outcome.retryAfterMs !== undefined) {
      return Math.min(outcome.retryAfterMs, this.options.maxRetryAfterMs);
    }
    return backoffDelayMs(retry, { baseDelayMs: this.options.retryBaseDelayMs, maxDelayMs: this.options.retryMaxDelayMs });
  }

  /** 401 or 404: the destination's settings are wrong; stop sending to it for a growing while. */
  private pause(destination: Destination, outcome: AttemptOutcome): void {
    // Requests in flight together are refused together: that is one pause, with one warning.
    if (destination.isPaused(Date.now())) return;
    const coolDownMs = Math.min(this.options.maxPauseMs, this.options.pauseMs * 2 ** destination.pauses);
    destination.pauses++;
    destination.pausedUntil = Date.now() + coolDownMs;
    this.dropPending(destination, 'rejected');
    this.logger.warn(
      `${this.describe(destination)}: ${pauseReason(outcome)}. ` +
        `Events for it are dropped for ${Math.round(coolDownMs / 1000)} s, or until its settings change.`,
    );
  }

  private describe(destination: Destination): string {
    return `RudderStack data plane ${destination.dataPlaneUrl} (environment ${[...destination.environments].join(', ')})`;
  }

  private dropPending(destination: Destination, reason: DropReason): void {
    for (let event = destination.removeHead(); event; event = destination.removeHead()) this.dropHeld(event, reason);
  }

  /** An event that never reached a request. */
  private dropHeld(event: HeldEvent, reason: DropReason): undefined {
    this.counters.dropped[reason]++;
    this.ledger.settle(event.seq);
    if (event.change) this.onClaimSettled?.(event.change, false);
    return undefined;
  }

  /** Events that were in a request: counted, settled, and reported to the host's `onBatchResult`. */
  private finish(
    destination: Destination,
    batch: QueuedEvent[],
    result: 'delivered' | DropReason,
    lastOutcome: AttemptOutcome | undefined,
    attempts: number,
  ): void {
    this.counters.inFlight -= batch.length;
    if (result === 'delivered') this.counters.delivered += batch.length;
    else this.counters.dropped[result] += batch.length;
    for (const event of batch) {
      this.ledger.settle(event.seq);
      if (event.change) this.onClaimSettled?.(event.change, result === 'delivered');
    }
    this.reportBatch({
      environmentKeys: [...destination.environments],
      dataPlaneUrl: destination.dataPlaneUrl,
      events: batch.length,
      result,
      attempts,
      ...(lastOutcome?.kind === 'response' ? { status: lastOutcome.status } : {}),
      ...(lastOutcome?.kind === 'network-error' ? { error: lastOutcome.message, timedOut: lastOutcome.timedOut } : {}),
    });
  }

  private reportBatch(result: BatchResult): void {
    const report = this.options.onBatchResult;
    if (!report) return;
    try {
      report(result);
    } catch (error) {
      this.log.error('onBatchResult', `onBatchResult threw, and was ignored: ${String(error)}`);
    }
  }
}

/** A name or identifier for a log line: quoted, and cut short, since it comes from requests. */
function quoteShort(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** What a self-hoster must fix when a destination is paused. */
function pauseReason(outcome: AttemptOutcome): string {
  if (outcome.kind === 'response' && outcome.status === 401) {
    return 'answered HTTP 401: the data plane does not know this write key; copy the Write Key of an HTTP API source into the API Key of the RudderStack integration';
  }
  if (outcome.kind === 'response') {
    return `answered HTTP ${outcome.status}: the source is disabled or the URL is not a data plane; enable the source in RudderStack, or correct the Base URL`;
  }
  return `was not contacted: ${describeOutcome(outcome)}`;
}

function describeOutcome(outcome: AttemptOutcome): string {
  switch (outcome.kind) {
    case 'response':
      return `HTTP ${outcome.status}`;
    case 'network-error':
      return outcome.message;
    case 'aborted':
      return 'closed';
  }
}
