import Denque from 'denque';
import { monotonicMs } from '../clock';
import { RateLimitedLog } from '../log';
import { displayDataPlaneUrl } from '../settings/messages';
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

/** An identify as the hook accepted it: captured, not yet mapped or serialized. */
export interface AcceptedIdentify {
  /** The settlement ledger's number for the hook call. */
  seq: number;
  environmentKey: string;
  capture: IdentifyCapture;
  /** On the monotonic clock (see clock.ts): the flush interval counts from here. */
  acceptedAt: number;
  /** Its sendOnlyOnChange claim: released if the event ends before delivery. */
  change?: ChangeClaim;
}

/** An accepted identify whose destination is known. */
interface IntakeItem extends AcceptedIdentify {
  settings: ValidatedSettings;
}

/** An event anywhere before a request: parked, in the intake or in a destination's queue. */
type HeldEvent = Pick<QueuedEvent, 'seq' | 'change'>;

/** Told what became of each event that carries a sendOnlyOnChange claim. */
export type ClaimSettled = (claim: ChangeClaim, delivered: boolean) => void;

/** How a batch's attempts ended: settled, or (for a half of a split) refused as its parent was. */
type BatchEnd = 'settled' | { refusedAlike: AttemptOutcome };

const LOG_INTERVAL_MS = 60_000;
/** Environments a message names at most; a destination can serve thousands. */
const ENVIRONMENTS_NAMED_AT_MOST = 5;

/**
 * Everything after the hook: serializing, batching per destination, sending, retrying, and
 * accounting every event until it is delivered or dropped. Errors become log lines and counts,
 * never rejections.
 */
export class Delivery {
  private readonly destinations = new Map<string, Destination>();
  /** Each settings object's destination key, made once: settings stay cached across many events. */
  private readonly destinationKeys = new WeakMap<ValidatedSettings, string>();
  /** Events waiting for their environment's settings, by environment, oldest first. */
  private readonly parked = new Map<string, AcceptedIdentify[]>();
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
  enqueue(event: AcceptedIdentify, settings: ValidatedSettings): void {
    this.intake.push({ ...event, settings });
    if (!this.intakeScheduled) {
      this.intakeScheduled = true;
      setImmediate(this.processIntake);
    }
  }

  /** True while events of this environment wait for its settings: later ones must queue behind them. */
  isParked(environmentKey: string): boolean {
    return this.parked.has(environmentKey);
  }

  /** Holds an event until its environment's settings are known; true for the first, which must start the lookup. */
  park(event: AcceptedIdentify): boolean {
    const waiting = this.parked.get(event.environmentKey);
    if (waiting) {
      waiting.push(event);
      return false;
    }
    this.parked.set(event.environmentKey, [event]);
    return true;
  }

  /**
   * The environment's settings are known: its parked events go on, in order, to delivery. Without
   * usable settings they are handed back, for the caller to count why.
   */
  unpark(environmentKey: string, settings: ValidatedSettings | undefined): AcceptedIdentify[] {
    const waiting = this.parked.get(environmentKey) ?? [];
    this.parked.delete(environmentKey);
    if (!settings) return waiting;
    for (const event of waiting) this.enqueue(event, settings);
    return [];
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
   * Makes room for `count` more events under `maxQueueSize` by dropping the oldest events not yet
   * in a request. False when that is not possible (the rest are in requests already).
   */
  makeRoom(count: number): boolean {
    while (this.ledger.held + count > this.options.maxQueueSize) {
      if (!this.evictOldest()) return false;
    }
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
    for (const waiting of this.parked.values()) for (const event of waiting) this.dropHeld(event, 'close_timeout');
    this.parked.clear();
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

  /** Drops the oldest event that is not in a request: parked, in the intake, or queued. */
  private evictOldest(): boolean {
    const oldest = this.oldestHeld();
    if (!oldest) return false;
    oldest.remove();
    this.dropHeld(oldest.event, 'queue_full');
    this.log.warn('queue_full', 'the event queue is full (maxQueueSize): dropping the oldest events; is the data plane reachable?');
    return true;
  }

  private oldestHeld(): { event: HeldEvent; remove: () => void } | undefined {
    let oldest: { event: HeldEvent; remove: () => void } | undefined;
    const consider = (event: HeldEvent | undefined, remove: () => void): void => {
      if (event && (!oldest || event.seq < oldest.event.seq)) oldest = { event, remove };
    };
    consider(this.intake.peekFront(), () => this.intake.shift());
    for (const destination of this.destinations.values()) consider(destination.pending.peekFront(), () => destination.removeHead());
    for (const waiting of this.parked.values()) {
      // The lookup still runs: an emptied list stays, and later events still queue behind it.
      consider(waiting[0], () => waiting.shift());
    }
    return oldest;
  }

  private readonly processIntake = (): void => {
    this.intakeScheduled = false;
    const touched = new Set<Destination>();
    for (let item = this.intake.shift(); item; item = this.intake.shift()) {
      const destination = this.placeContained(item);
      if (destination) touched.add(destination);
    }
    for (const destination of touched) this.pump(destination);
  };

  /**
   * Places one event; whatever it throws (input odd enough to break mapping or serializing) costs
   * that event alone, counted and logged, and never reaches the host's process.
   */
  private placeContained(item: IntakeItem): Destination | undefined {
    try {
      return this.place(item);
    } catch (error) {
      this.log.error(
        `unmappable:${item.environmentKey}`,
        `environment ${item.environmentKey}: dropped an identify that could not be mapped or serialized (${errorText(error)})`,
      );
      return this.dropHeld(item, 'invalid_input');
    }
  }

  /** Maps and serializes one identify into its destination's queue; returns the destination, or none if dropped. */
  private place(item: IntakeItem): Destination | undefined {
    if (this.shutdown.signal.aborted) return this.dropHeld(item, 'close_timeout');
    const destination = this.destinationFor(item.settings);
    destination.environments.add(item.environmentKey);
    if (destination.isPaused(monotonicMs())) return this.dropHeld(item, 'rejected');

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
      // The hook made room for one event; the parts must fit under maxQueueSize too.
      if (!this.makeRoom(events.length - 1)) {
        this.log.warn('queue_full', 'the event queue is full (maxQueueSize): dropping the newest events; is the data plane reachable?');
        return this.dropHeld(item, 'queue_full');
      }
      this.ledger.acceptMore(item.seq, events.length - 1);
      this.counters.splitEvents += events.length - 1;
      // Its parts may fare differently; rather than remember half a state, it is not remembered.
      if (change) this.onClaimSettled?.(change, false);
      change = undefined;
    }
    const due = this.ledger.isAwaited(item.seq);
    for (const event of events) {
      this.counters.enqueued++;
      destination.push({ seq: item.seq, environmentKey: item.environmentKey, json: event.json, acceptedAt: item.acceptedAt, change }, due);
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
      destination = new Destination(key, endpoint, displayDataPlaneUrl(settings.dataPlaneUrl, settings.writeKey), this.options);
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
    // With every slot busy a timer could start nothing; the next request to end pumps again.
    if (destination.requestsInFlight >= this.options.maxConcurrentRequests) this.clearTimer(destination);
    else this.armTimer(destination);
    // An idle destination is forgotten unless it remembers a pause; the next event makes it anew.
    if (destination.isIdle() && destination.pauses === 0) this.destinations.delete(destination.key);
  }

  private armTimer(destination: Destination): void {
    const head = destination.pending.peekFront();
    if (!head) return this.clearTimer(destination);
    if (destination.intervalTimer) return;
    const delay = Math.max(0, head.acceptedAt + this.options.flushIntervalMs - monotonicMs());
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
    this.attemptUntilSettled(destination, batch)
      .catch((error: unknown) => this.log.error('internal', `unexpected delivery error: ${errorText(error)}`))
      .finally(() => {
        destination.requestsInFlight--;
        this.pump(destination);
      });
  }

  /**
   * Attempts one batch until every event in it is delivered or dropped. A half of a split (given
   * the refusal of the whole) whose first answer is that refusal again comes back unsettled, so
   * that the split can tell one bad event from a data plane that refuses everything.
   */
  private async attemptUntilSettled(destination: Destination, batch: QueuedEvent[], wholeRefused?: AttemptOutcome): Promise<BatchEnd> {
    const firstAttemptAt = monotonicMs();
    let outcome: AttemptOutcome | undefined;
    let attempts = 0;
    const settle = (result: 'delivered' | DropReason): BatchEnd => {
      this.finish(destination, batch, result, outcome, attempts);
      return 'settled';
    };
    for (let retry = 0; ; retry++) {
      // Paused while this batch waited (a retry, a split half, a batch cut before the pause).
      if (destination.isPaused(monotonicMs())) return settle('rejected');
      if (retry > 0) this.counters.retried++;
      const body = batchBody(batch, new Date().toISOString());
      outcome = await this.sender.send(destination.endpoint, body, this.shutdown.signal);
      attempts++;
      if (attempts === 1 && wholeRefused && sameRefusal(outcome, wholeRefused)) return { refusedAlike: outcome };
      switch (verdictOf(outcome, batch.length)) {
        case 'delivered':
          destination.pauses = 0;
          return settle('delivered');
        case 'split':
          if ((await this.settleHalves(destination, batch, outcome, true)) === 'settled') return 'settled';
          this.pause(destination, outcome, batch);
          return settle('rejected');
        case 'pause':
          this.pause(destination, outcome, batch);
          return settle('rejected');
        case 'reject':
          if (outcome.kind === 'aborted') return settle('close_timeout');
          this.warnRefused(destination, batch, outcome);
          return settle('rejected');
        case 'retry': {
          const delay = this.retryDelay(outcome, retry);
          const budgetLeft = firstAttemptAt + this.options.maxRetryDurationMs - monotonicMs();
          if (retry >= this.options.maxRetries || delay > budgetLeft) {
            this.log.warn(
              `retries_exhausted:${destination.dataPlaneUrl}`,
              `${this.describe(destination, batch)}: ${batch.length} event(s) dropped after ${attempts} attempt(s), last ${describeOutcome(outcome)}`,
            );
            return settle('retries_exhausted');
          }
          await sleep(delay, this.shutdown.signal);
          if (this.shutdown.signal.aborted) return settle('close_timeout');
        }
      }
    }
  }

  /**
   * A refused request is halved to find the events that pass: one bad event is in one half only.
   * While both halves are refused as the whole was, the first is halved again; when that reaches
   * single events with nothing passed, the refusal is about every request, not its events, and
   * the caller (which then holds the whole batch unsettled) treats the destination as refusing.
   */
  private async settleHalves(
    destination: Destination,
    batch: QueuedEvent[],
    refusal: AttemptOutcome,
    nothingPassed: boolean,
  ): Promise<'settled' | 'refused-everything'> {
    const middle = Math.ceil(batch.length / 2);
    const halves = [batch.slice(0, middle), batch.slice(middle)];
    const ends: BatchEnd[] = [];
    for (const half of halves) ends.push(await this.attemptUntilSettled(destination, half, refusal));
    let suspect = nothingPassed && ends.every((end) => end !== 'settled');
    if (suspect && halves.every((half) => half.length === 1)) return 'refused-everything';
    for (let i = 0; i < halves.length; i++) {
      const end = ends[i]!;
      const half = halves[i]!;
      if (end === 'settled') continue;
      if (half.length === 1) {
        this.warnRefused(destination, half, end.refusedAlike);
        this.finish(destination, half, 'rejected', end.refusedAlike, 1);
        continue;
      }
      if ((await this.settleHalves(destination, half, end.refusedAlike, suspect)) === 'refused-everything') return 'refused-everything';
      suspect = false;
    }
    return 'settled';
  }

  private retryDelay(outcome: AttemptOutcome, retry: number): number {
    if (outcome.kind === 'response' && outcome.retryAfterMs !== undefined) {
      return Math.min(outcome.retryAfterMs, this.options.maxRetryAfterMs);
    }
    return backoffDelayMs(retry, { baseDelayMs: this.options.retryBaseDelayMs, maxDelayMs: this.options.retryMaxDelayMs });
  }

  /** The destination itself is refused (its settings are wrong, or it refuses every request): stop sending to it for a growing while. */
  private pause(destination: Destination, outcome: AttemptOutcome, batch: QueuedEvent[]): void {
    // Requests in flight together are refused together: that is one pause, with one warning.
    if (destination.isPaused(monotonicMs())) return;
    const coolDownMs = Math.min(this.options.maxPauseMs, this.options.pauseMs * 2 ** destination.pauses);
    destination.pauses++;
    destination.pausedUntil = monotonicMs() + coolDownMs;
    this.dropPending(destination, 'rejected');
    this.logger.warn(
      `${this.describe(destination, batch)}: ${pauseReason(outcome)}. ` +
        `Events for it are dropped for ${Math.round(coolDownMs / 1000)} s, or until its settings change.`,
    );
  }

  private warnRefused(destination: Destination, batch: QueuedEvent[], outcome: AttemptOutcome): void {
    this.log.warn(
      `rejected:${destination.dataPlaneUrl}`,
      `${this.describe(destination, batch)} refused ${batch.length} event(s) for good (${describeOutcome(outcome)}): dropped`,
    );
  }

  /** The data plane, and the environments whose events this batch carried (not every one it ever served). */
  private describe(destination: Destination, batch: QueuedEvent[]): string {
    const keys = environmentsOf(batch);
    const named = keys.slice(0, ENVIRONMENTS_NAMED_AT_MOST).join(', ');
    const more = keys.length > ENVIRONMENTS_NAMED_AT_MOST ? ` and ${keys.length - ENVIRONMENTS_NAMED_AT_MOST} more` : '';
    return `RudderStack data plane ${destination.dataPlaneUrl} (environment ${named}${more})`;
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
      environmentKeys: environmentsOf(batch),
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
      this.log.error('onBatchResult', `onBatchResult threw, and was ignored: ${errorText(error)}`);
    }
  }
}

/** The environments of a batch's events, in order of first appearance. */
function environmentsOf(batch: readonly QueuedEvent[]): string[] {
  return [...new Set(batch.map((event) => event.environmentKey))];
}

/** Two answers that refuse a request the same way (the same status). */
function sameRefusal(outcome: AttemptOutcome, refusal: AttemptOutcome): boolean {
  return outcome.kind === 'response' && refusal.kind === 'response' && outcome.status === refusal.status;
}

/** A thrown value as text, without throwing in turn (what was thrown may come from hostile input). */
function errorText(error: unknown): string {
  try {
    return String(error).slice(0, 200);
  } catch {
    return 'unreadable error';
  }
}

/** A name or identifier for a log line: quoted, and cut short, since it comes from requests. */
function quoteShort(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** What a self-hoster must fix when a destination is paused. */
function pauseReason(outcome: AttemptOutcome): string {
  if (outcome.kind !== 'response') return `was not contacted: ${describeOutcome(outcome)}`;
  if (outcome.status === 401) {
    return 'answered HTTP 401: the data plane does not know this write key; copy the Write Key of an HTTP API source into the API Key of the RudderStack integration';
  }
  if (outcome.status === 404) {
    return 'answered HTTP 404: the source is disabled or the URL is not a data plane; enable the source in RudderStack, or correct the Base URL';
  }
  return (
    `answered HTTP ${outcome.status} to every request, whatever events it carried: something refuses them all ` +
    '(a proxy or firewall in front of the data plane, or a body size limit under maxBatchBytes); check what answers at the Base URL'
  );
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
