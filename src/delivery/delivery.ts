import { setMaxListeners } from 'node:events';
import Denque from 'denque';
import { monotonicMs, sleep } from '../timers';
import type { Log, RateLimitedLog } from '../log';
import type { BatchResult, DestinationStatus, DropReason, ValidatedSettings } from '../types';
import type { Accountable, Accounts, Outcome } from './accounts';
import { Destination } from './destination';
import { DestinationHealth } from './destination-health';
import type { AcceptedIdentify, QueuedEvent } from './event-record';
import { ParkedEvents } from './parked';
import { endpointFor, type HttpSender } from './http-sender';
import * as say from './messages';
import { DurablePath, type DurableOptions } from './durable-path';
import { deliverBatch, type Clock, type DeliveryStep, type RetryLoop, type RetryPolicy } from './retry-loop';
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

/** How events that were in a request end: delivered, handed back to the outbox, or dropped. */
type RequestOutcome = Exclude<Outcome, 'skipped' | 'unchanged'>;

/** An accepted identify whose destination is known. */
interface IntakeItem extends AcceptedIdentify {
  settings: ValidatedSettings;
}

/**
 * Everything after the hook: serializing, batching per destination, sending, retrying, and
 * accounting every event until it is delivered or dropped. Errors become log lines and counts,
 * never rejections.
 */
export class Delivery {
  readonly #destinations = new Map<string, Destination>();
  /** What each destination has been doing; outlives the destinations this map forgets. */
  readonly health = new DestinationHealth();
  /** Each settings object's destination key, made once: settings stay cached across many events. */
  readonly #destinationKeys = new WeakMap<ValidatedSettings, string>();
  readonly #parked = new ParkedEvents();
  /** Events the hook handed over since the last intake pass; serialized off the hook's call. */
  readonly #intake = new Denque<IntakeItem>();
  #intakeScheduled = false;
  readonly #shutdown = new AbortController();
  readonly #clock: Clock = {
    now: monotonicMs,
    sleep: (ms) => sleep(ms, this.#shutdown.signal).then(() => !this.#shutdown.signal.aborted),
  };

  readonly #options: DeliveryOptions;
  /** Outbox rows are tried once per claim: a retryable failure hands them back, to wait in the table, not in memory. */
  readonly #outboxPolicy: RetryPolicy;
  readonly #sender: HttpSender;
  readonly #accounts: Accounts;
  readonly #log: RateLimitedLog;
  readonly #logger: Log;
  readonly #durable: DurablePath | undefined;

  constructor(options: DeliveryOptions, sender: HttpSender, accounts: Accounts, log: RateLimitedLog, logger: Log, durable?: DurableOptions) {
    this.#options = options;
    this.#outboxPolicy = { ...options, maxRetries: 0 };
    this.#sender = sender;
    this.#accounts = accounts;
    this.#log = log;
    this.#logger = logger;
    // Every retry wait and host-fetch attempt listens on it; a long outage has many at once.
    setMaxListeners(Number.POSITIVE_INFINITY, this.#shutdown.signal);
    this.#durable =
      durable &&
      new DurablePath(durable, {
        accounts,
        log,
        policy: options,
        maxQueueSize: options.maxQueueSize,
        aborted: () => this.#shutdown.signal.aborted,
        destinationFor: (settings) => this.#destinationFor(settings),
        pump: (destination) => this.#pump(destination),
        report: (destination, step, events, result) => this.#report(destination, step, events, result),
        settleRequest: (destination, events, result) => this.#settleRequest(destination, events, result),
        serve: (destination, environmentKey) => this.#serve(destination, environmentKey),
      });
  }

  /** The hook's part: O(1), no mapping, no serialization, no I/O. */
  enqueue(event: AcceptedIdentify, settings: ValidatedSettings): void {
    event.settings = settings;
    this.#intake.push(event as IntakeItem);
    if (!this.#intakeScheduled) {
      this.#intakeScheduled = true;
      setImmediate(this.#processIntake);
    }
  }

  /** True while events of this environment wait for its settings: later ones must queue behind them. */
  isParked(environmentKey: string): boolean {
    return this.#parked.has(environmentKey);
  }

  /** Holds an event until its environment's settings are known; true for the first, which must start the lookup. */
  park(event: AcceptedIdentify): boolean {
    return this.#parked.park(event);
  }

  /**
   * The environment's settings are known: its parked events go on, in order, to delivery. Without
   * usable settings they are handed back, for the caller to settle with its reason.
   */
  unpark(environmentKey: string, settings: ValidatedSettings | undefined): AcceptedIdentify[] {
    const waiting = this.#parked.take(environmentKey);
    if (!settings) return waiting;
    for (const event of waiting) this.enqueue(event, settings);
    return [];
  }

  /** Writes to the outbox now what is serialized and waiting for its group commit. */
  persistNow(): void {
    this.#processIntake();
    this.#durable?.persistNow();
  }

  /** Sends everything held now, full batches or not. */
  flushNow(): void {
    this.persistNow();
    for (const destination of this.#destinations.values()) {
      destination.markAllDue();
      this.#pump(destination);
    }
  }

  /**
   * Makes room for `count` more events under `maxQueueSize` by dropping the oldest events not yet
   * in a request. False when that is not possible (the rest are in requests already).
   */
  makeRoom(count: number): boolean {
    const needed = this.#accounts.held + count - this.#options.maxQueueSize;
    if (needed <= 0) return true;
    // Nothing is dropped unless enough can be: otherwise old events would go, and the new one too.
    if (this.#evictable() < needed) return false;
    for (let i = 0; i < needed; i++) this.#evictOldest();
    return true;
  }

  /** Lifts the cool-down of destinations that serve this environment (all when none is named). */
  resume(environmentKey?: string): void {
    for (const destination of this.#destinations.values()) {
      if (environmentKey === undefined || destination.serves(environmentKey)) destination.resume();
    }
  }

  /** Closing: rows are no longer taken from the outbox (what this process holds is still sent, or handed back). */
  beginClose(): void {
    this.#durable?.beginClose();
  }

  /** Gives up on everything: requests and retry waits end at once; held events are dropped, outbox rows handed back. */
  abandon(): void {
    this.#shutdown.abort();
    this.#durable?.abandon();
    for (const event of this.#parked.takeAll()) this.#accounts.settle(event, 'close_timeout');
    this.#processIntake();
    for (const destination of this.#destinations.values()) {
      this.#dropPending(destination, 'close_timeout');
      destination.clearFlushTimer();
    }
  }

  /** Each destination's state and counts, for `integration.destinations()`. */
  destinations(): DestinationStatus[] {
    return this.health.report(monotonicMs());
  }

  /** Releases timers and sockets once nothing is held; resolves when every outbox statement has been answered. */
  async stop(): Promise<void> {
    for (const destination of this.#destinations.values()) destination.clearFlushTimer();
    this.#sender.close();
    await this.#durable?.stop();
  }

  /** Events not in a request, which eviction can reach. */
  #evictable(): number {
    let count = this.#intake.length;
    for (const destination of this.#destinations.values()) count += destination.pendingCount();
    return count + this.#parked.count;
  }

  /** Drops the oldest event that is not in a request: parked, in the intake, or queued. */
  #evictOldest(): void {
    let oldest: { event: Accountable; remove: () => void; destination?: Destination } | undefined;
    const consider = (event: Accountable | undefined, remove: () => void, destination?: Destination): void => {
      if (event && (!oldest || event.seq < oldest.event.seq)) oldest = { event, remove, destination };
    };
    consider(this.#intake.peekFront(), () => this.#intake.shift());
    for (const destination of this.#destinations.values()) consider(destination.oldest(), () => destination.removeOldest(), destination);
    for (const [event, remove] of this.#parked.oldest()) consider(event, remove);
    if (!oldest) return;
    oldest.remove();
    // An outbox row loses nothing: it goes back to the table.
    if (oldest.event.row !== undefined) return this.#durable!.handBack([oldest.event as QueuedEvent]);
    this.#accounts.settle(oldest.event, 'queue_full');
    if (oldest.destination) this.health.dropped(oldest.destination, 1);
    this.#log.warn('queue_full', say.QUEUE_FULL_OLDEST, { reason: 'queue_full' });
  }

  readonly #processIntake = (): void => {
    this.#intakeScheduled = false;
    const touched = new Set<Destination>();
    for (let item = this.#intake.shift(); item; item = this.#intake.shift()) {
      const destination = this.#placeContained(item);
      if (destination) touched.add(destination);
    }
    for (const destination of touched) this.#pump(destination);
  };

  /**
   * Places one event; whatever it throws (input odd enough to break mapping or serializing) costs
   * that event alone, counted and logged, and never reaches the host's process.
   */
  #placeContained(item: IntakeItem): Destination | undefined {
    try {
      return this.#place(item);
    } catch (error) {
      this.#log.error(`unmappable:${item.environmentKey}`, say.unmappableText(item.environmentKey, error), {
        environmentKey: item.environmentKey,
        reason: 'invalid_input',
      });
      this.#accounts.settle(item, 'invalid_input');
      return undefined;
    }
  }

  /** Maps and serializes one identify into its destination's queue; returns the destination, or none if dropped. */
  #place(item: IntakeItem): Destination | undefined {
    if (this.#shutdown.signal.aborted) return this.#settleUnsent(item, 'close_timeout');
    const destination = this.#destinationFor(item.settings);
    this.#serve(destination, item.environmentKey);
    const writer = this.#durable?.writer();
    // A paused destination's events wait in the outbox for the pause to end; in memory they are dropped.
    if (!writer && destination.isPaused(monotonicMs())) return this.#settleUnsent(item, 'rejected', destination);

    const { events, oversizedTraits } = serializeIdentify(item.capture, this.#options.maxEventBytes);
    if (oversizedTraits.length > 0) {
      this.#accounts.traitsDropped(oversizedTraits.length);
      this.#log.warn(
        `trait_too_large:${item.environmentKey}`,
        say.traitsLeftOutText(item.environmentKey, oversizedTraits, item.capture.userId, this.#options.maxEventBytes),
        { environmentKey: item.environmentKey, reason: 'trait_too_large' },
      );
    }
    if (events.length === 0) {
      this.#log.warn(`event_too_large:${item.environmentKey}`, say.eventTooLargeText(item.environmentKey, item.capture.userId, this.#options.maxEventBytes), {
        environmentKey: item.environmentKey,
        reason: 'event_too_large',
      });
      return this.#settleUnsent(item, 'event_too_large', destination);
    }
    let change = item.change;
    if (events.length > 1) {
      // The hook made room for one event; the parts must fit under maxQueueSize too.
      if (!this.makeRoom(events.length - 1)) {
        this.#log.warn('queue_full', say.QUEUE_FULL_NEWEST, { reason: 'queue_full' });
        return this.#settleUnsent(item, 'queue_full', destination);
      }
      this.#accounts.split(item, events.length);
      change = undefined;
    }
    const due = this.#accounts.isAwaited(item.seq);
    this.#accounts.queued(events.length);
    for (const { json } of events) {
      const event: QueuedEvent = { seq: item.seq, environmentKey: item.environmentKey, json, acceptedAt: item.acceptedAt, change };
      if (writer) writer.write(event, item.settings);
      else destination.push(event, due);
    }
    return destination;
  }

  /** Notes that an environment routes to the destination, there and in its health. */
  #serve(destination: Destination, environmentKey: string): void {
    if (!destination.serves(environmentKey)) this.health.serve(destination, environmentKey);
    destination.serve(environmentKey);
  }

  #settleUnsent(item: IntakeItem, reason: DropReason, destination?: Destination): undefined {
    this.#accounts.settle(item, reason);
    if (destination) this.health.dropped(destination, 1);
    return undefined;
  }

  #destinationFor(settings: ValidatedSettings): Destination {
    let key = this.#destinationKeys.get(settings);
    if (key === undefined) {
      key = `${settings.dataPlaneUrl}\n${settings.writeKey}`;
      this.#destinationKeys.set(settings, key);
    }
    let destination = this.#destinations.get(key);
    if (!destination) {
      const endpoint = endpointFor(settings.dataPlaneUrl, settings.writeKey);
      const shownHost = endpoint.redact(new URL(settings.dataPlaneUrl).host);
      destination = new Destination(key, endpoint, endpoint.redact(settings.dataPlaneUrl), shownHost, this.#options);
      this.#destinations.set(key, destination);
    }
    return destination;
  }

  /** Starts every batch the destination has ready and room for, then re-arms its flush timer. */
  #pump(destination: Destination): void {
    for (let batch = destination.startRequest(); batch; batch = destination.startRequest()) void this.#send(destination, batch);
    destination.armFlushTimer(monotonicMs(), () => this.#pump(destination));
    // An idle destination is forgotten unless it remembers a pause; the next event makes it anew.
    if (destination.isForgettable()) this.#destinations.delete(destination.key);
  }

  /** One request's batch, through the retry loop; each step is counted and said as it happens. */
  async #send(destination: Destination, batch: QueuedEvent[]): Promise<void> {
    this.#accounts.toRequest(batch.length);
    this.health.toRequest(destination, batch.length);
    const unsettled = new Set(batch);
    const policy = batch.every((event) => event.row !== undefined) ? this.#outboxPolicy : this.#options;
    try {
      for await (const step of deliverBatch(batch, this.#retryLoopFor(destination, policy))) {
        if (step.kind === 'settled') for (const event of step.events) unsettled.delete(event);
        this.#apply(destination, step);
      }
    } catch (error) {
      // A fault of ours: what the loop left unsettled is dropped and counted, so flush() still ends.
      this.#log.error('internal', say.unexpectedText(error), { reason: 'internal' });
      if (unsettled.size > 0) this.#settleRequest(destination, [...unsettled], 'rejected');
    } finally {
      destination.endRequest();
      this.#pump(destination);
      this.#durable?.roomMade();
    }
  }

  #retryLoopFor(destination: Destination, policy: RetryPolicy): RetryLoop {
    return {
      target: {
        send: async (events, retry) => {
          if (retry) this.#accounts.retried();
          const outcome = await this.#sender.send(destination.endpoint, batchBody(events, new Date().toISOString()), this.#shutdown.signal);
          this.health.attempted(destination, events, outcome);
          return outcome;
        },
        isPaused: () => destination.isPaused(monotonicMs()),
      },
      policy,
      clock: this.#clock,
      random: Math.random,
    };
  }

  #apply(destination: Destination, step: DeliveryStep): void {
    if (step.kind === 'pause') {
      const coolDownMs = destination.pause(monotonicMs());
      if (coolDownMs === undefined) return;
      this.health.paused(destination, monotonicMs() + coolDownMs);
      this.#dropPending(destination, 'rejected');
      const line = say.pausedLine(destination, step.events, step.outcome, coolDownMs, this.#durable !== undefined);
      this.#logger.warn(line.text, line.fields);
      return;
    }
    if (step.result === 'delivered') destination.delivered();
    if (step.because === 'refused' && step.last) {
      const line = say.refusedLine(destination, step.events, step.last);
      this.#log.warn(`rejected:${destination.dataPlaneUrl}`, line.text, line.fields);
    }
    const rows = step.events.filter((event) => event.row !== undefined);
    const inMemory = rows.length === 0 ? step.events : step.events.filter((event) => event.row === undefined);
    if (inMemory.length > 0) {
      if (step.because === 'exhausted') {
        const line = say.exhaustedLine(destination, inMemory, step.attempts, step.last);
        this.#log.warn(`retries_exhausted:${destination.dataPlaneUrl}`, line.text, line.fields);
      }
      this.#settleRequest(destination, inMemory, step.result);
      this.#report(destination, step, inMemory, step.result);
    }
    if (rows.length > 0) this.#durable!.settleRows(destination, step, rows);
  }

  /** Settles events that were in a request: in the accounts and in their destination's health. */
  #settleRequest(destination: Destination, events: QueuedEvent[], result: RequestOutcome): void {
    this.#accounts.settleRequest(events, result);
    this.health.settled(destination, events, result);
  }

  /** Events that were not in a request: held ones are settled with `reason`, outbox rows go back to the table until the destination takes them again. */
  #dropPending(destination: Destination, reason: DropReason): void {
    const rows: QueuedEvent[] = [];
    for (let event = destination.removeOldest(); event; event = destination.removeOldest()) {
      if (event.row !== undefined) rows.push(event);
      else {
        this.#accounts.settle(event, reason);
        this.health.dropped(destination, 1);
      }
    }
    if (rows.length > 0) this.#durable!.handBack(rows);
  }

  /** Tells the host's `onBatchResult` what became of a request's events. */
  #report(destination: Destination, step: Extract<DeliveryStep, { kind: 'settled' }>, events: readonly QueuedEvent[], result: BatchResult['result']): void {
    const report = this.#options.onBatchResult;
    if (!report) return;
    const { last } = step;
    try {
      report({
        environmentKeys: say.environmentsOf(events),
        dataPlaneUrl: destination.dataPlaneUrl,
        events: events.length,
        result,
        attempts: step.attempts,
        ...(last?.kind === 'response' ? { status: last.status } : {}),
        ...(last?.kind === 'network-error' ? { error: last.message, timedOut: last.timedOut } : {}),
        ...(last && last.kind !== 'aborted' && last.durationMs !== undefined ? { durationMs: last.durationMs, bytes: last.bytes ?? 0 } : {}),
      });
    } catch (error) {
      this.#log.error('onBatchResult', say.reportThrewText(error), { reason: 'onBatchResult' });
    }
  }
}
