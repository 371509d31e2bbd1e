import { setMaxListeners } from 'node:events';
import Denque from 'denque';
import { monotonicMs, sleep } from '../timers';
import type { Log, RateLimitedLog } from '../log';
import type { ClaimedRow, PostgresOutbox } from '../outbox/postgres-outbox';
import type { BatchResult, DropReason, ValidatedSettings } from '../types';
import type { Accountable, Accounts } from './accounts';
import { Destination } from './destination';
import type { AcceptedIdentify, QueuedEvent } from './event-record';
import { ParkedEvents } from './parked';
import { endpointFor, type HttpSender } from './http-sender';
import * as say from './messages';
import { DRAIN, OutboxDrain, type DrainRoute } from './outbox-drain';
import { OutboxWriter, type WriteItem } from './outbox-writer';
import { deliverBatch, retryDelayMs, type Clock, type DeliveryStep, type RetryLoop, type RetryPolicy } from './retry-loop';
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

/** An accepted identify whose destination is known. */
interface IntakeItem extends AcceptedIdentify {
  settings: ValidatedSettings;
}

/** What the durable outbox needs of the integration: the table, this process's name in it, and settings by environment. */
export interface DurableOptions {
  outbox: PostgresOutbox;
  /** This process's name in `claimed_by`: unique per integration. */
  owner: string;
  /** An environment's settings now, for rows written earlier: 'unavailable' when the lookup failed. */
  settingsFor(environmentKey: string): Promise<ValidatedSettings | 'skipped' | 'invalid_settings' | 'unavailable'>;
}

/** The two halves of the durable path: writing events to the outbox, and draining it. */
interface Durable {
  writer: OutboxWriter;
  drain: OutboxDrain;
}

/**
 * Everything after the hook: serializing, batching per destination, sending, retrying, and
 * accounting every event until it is delivered or dropped. Errors become log lines and counts,
 * never rejections.
 */
export class Delivery {
  readonly #destinations = new Map<string, Destination>();
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
  readonly #durable: Durable | undefined;
  #closing = false;

  constructor(options: DeliveryOptions, sender: HttpSender, accounts: Accounts, log: RateLimitedLog, logger: Log, durable?: DurableOptions) {
    this.#options = options;
    this.#outboxPolicy = { ...options, maxRetries: 0 };
    this.#sender = sender;
    this.#accounts = accounts;
    this.#log = log;
    this.#logger = logger;
    // Every retry wait and host-fetch attempt listens on it; a long outage has many at once.
    setMaxListeners(Number.POSITIVE_INFINITY, this.#shutdown.signal);
    this.#durable = durable && this.#startDurable(durable);
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
    this.#durable?.writer.commitNow();
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
    this.#closing = true;
  }

  /** Gives up on everything: requests and retry waits end at once; held events are dropped, outbox rows handed back. */
  abandon(): void {
    this.#shutdown.abort();
    for (const event of this.#parked.takeAll()) this.#accounts.settle(event, 'close_timeout');
    this.#processIntake();
    for (const destination of this.#destinations.values()) {
      this.#dropPending(destination, 'close_timeout');
      destination.clearFlushTimer();
    }
  }

  /** Releases timers and sockets once nothing is held; resolves when every outbox statement has been answered. */
  async stop(): Promise<void> {
    for (const destination of this.#destinations.values()) destination.clearFlushTimer();
    this.#sender.close();
    await this.#durable?.drain.stop();
  }

  /** Events not in a request, which eviction can reach. */
  #evictable(): number {
    let count = this.#intake.length;
    for (const destination of this.#destinations.values()) count += destination.pendingCount();
    return count + this.#parked.count;
  }

  /** Drops the oldest event that is not in a request: parked, in the intake, or queued. */
  #evictOldest(): void {
    let oldest: { event: Accountable; remove: () => void } | undefined;
    const consider = (event: Accountable | undefined, remove: () => void): void => {
      if (event && (!oldest || event.seq < oldest.event.seq)) oldest = { event, remove };
    };
    consider(this.#intake.peekFront(), () => this.#intake.shift());
    for (const destination of this.#destinations.values()) consider(destination.oldest(), () => destination.removeOldest());
    for (const [event, remove] of this.#parked.oldest()) consider(event, remove);
    if (!oldest) return;
    oldest.remove();
    // An outbox row loses nothing: it goes back to the table.
    if (oldest.event.row !== undefined) return this.#handBack([oldest.event as QueuedEvent], 0);
    this.#accounts.settle(oldest.event, 'queue_full');
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
    destination.serve(item.environmentKey);
    const writer = this.#durable?.writer.isAvailable() ? this.#durable.writer : undefined;
    // A paused destination's events wait in the outbox for the pause to end; in memory they are dropped.
    if (!writer && destination.isPaused(monotonicMs())) return this.#settleUnsent(item, 'rejected');

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
      return this.#settleUnsent(item, 'event_too_large');
    }
    let change = item.change;
    if (events.length > 1) {
      // The hook made room for one event; the parts must fit under maxQueueSize too.
      if (!this.makeRoom(events.length - 1)) {
        this.#log.warn('queue_full', say.QUEUE_FULL_NEWEST, { reason: 'queue_full' });
        return this.#settleUnsent(item, 'queue_full');
      }
      this.#accounts.split(item, events.length);
      change = undefined;
    }
    const due = this.#accounts.isAwaited(item.seq);
    this.#accounts.queued(events.length);
    for (const { json } of events) {
      const event: QueuedEvent = { seq: item.seq, environmentKey: item.environmentKey, json, acceptedAt: item.acceptedAt, change };
      if (writer) writer.write(event, destination);
      else destination.push(event, due);
    }
    return destination;
  }

  #settleUnsent(item: IntakeItem, reason: DropReason): undefined {
    this.#accounts.settle(item, reason);
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
      if (unsettled.size > 0) this.#accounts.settleRequest([...unsettled], 'rejected');
    } finally {
      destination.endRequest();
      this.#pump(destination);
      this.#durable?.drain.roomMade();
    }
  }

  #retryLoopFor(destination: Destination, policy: RetryPolicy): RetryLoop {
    return {
      target: {
        send: (events, retry) => {
          if (retry) this.#accounts.retried();
          return this.#sender.send(destination.endpoint, batchBody(events, new Date().toISOString()), this.#shutdown.signal);
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
      this.#accounts.settleRequest(inMemory, step.result);
      this.#report(destination, step, inMemory, step.result);
    }
    if (rows.length > 0) this.#settleRows(destination, step, rows);
  }

  /**
   * Outbox rows after a request: deleted once delivered or refused for good; otherwise handed back
   * to the table, for any replica to try after the backoff, the pause, or at once (closing). They
   * settle when the statement has been answered, so that flush() sees the table as it is.
   */
  #settleRows(destination: Destination, step: Extract<DeliveryStep, { kind: 'settled' }>, rows: QueuedEvent[]): void {
    const delayMs = this.#handBackDelayMs(destination, step);
    const ids = rows.map((event) => event.row!);
    const drain = this.#durable!.drain;
    if (delayMs === undefined) {
      void drain.remove(ids).then(() => {
        this.#accounts.settleRequest(rows, step.result);
        this.#report(destination, step, rows, step.result);
      });
      return;
    }
    if (step.result !== 'close_timeout') {
      const line = say.parkedLine(destination, rows, step.last, delayMs);
      this.#log.warn(`parked:${destination.dataPlaneUrl}`, line.text, line.fields);
    }
    void drain.release(ids, delayMs).then(() => {
      this.#accounts.settleRequest(rows, 'parked');
      this.#report(destination, step, rows, 'parked');
    });
  }

  /** How long rows wait in the outbox before another try; undefined when they are done (delivered, or refused for good). */
  #handBackDelayMs(destination: Destination, step: Extract<DeliveryStep, { kind: 'settled' }>): number | undefined {
    const now = monotonicMs();
    switch (step.result) {
      case 'retries_exhausted': {
        const delayMs = retryDelayMs(step.last, destination.failures, { policy: this.#options, random: Math.random });
        destination.backOff(now, delayMs);
        return delayMs;
      }
      case 'close_timeout':
        return 0;
      case 'rejected':
        // Refused while the destination is paused, not for what the events hold: they wait out the pause.
        return step.because === 'refused' ? undefined : destination.outboxWaitMs(now);
      default:
        return undefined;
    }
  }

  /** Events that were not in a request: held ones are settled with `reason`, outbox rows go back to the table until the destination takes them again. */
  #dropPending(destination: Destination, reason: DropReason): void {
    const rows: QueuedEvent[] = [];
    for (let event = destination.removeOldest(); event; event = destination.removeOldest()) {
      if (event.row !== undefined) rows.push(event);
      else this.#accounts.settle(event, reason);
    }
    if (rows.length > 0) this.#handBack(rows, destination.outboxWaitMs(monotonicMs()));
  }

  /** Outbox rows not in a request, back to the table: they leave memory at once, the statement follows. */
  #handBack(rows: QueuedEvent[], delayMs: number): void {
    void this.#durable!.drain.release(
      rows.map((event) => event.row!),
      delayMs,
    );
    for (const event of rows) this.#accounts.settle(event, 'parked');
  }

  #startDurable(options: DurableOptions): Durable {
    const writer = new OutboxWriter(options.outbox, options.owner, {
      sendsHere: (destination, already) =>
        !this.#closing && destination.outboxWaitMs(monotonicMs()) === 0 && destination.pendingCount() + already < DRAIN.claimRows,
      committed: (items, ids, sentHere) => this.#persisted(items, ids, sentHere),
      failed: (items, error) => this.#notPersisted(items, error),
    });
    const drain = new OutboxDrain(options.outbox, options.owner, {
      route: (environmentKey) => this.#routeRows(environmentKey, options),
      accept: (destination, environmentKey, rows) => this.#acceptRows(destination, environmentKey, rows),
      dropped: (count, outcome, environmentKey) => {
        this.#accounts.droppedFromOutbox(count, outcome);
        this.#log.warn(`outbox_${outcome}:${environmentKey ?? ''}`, say.outboxDroppedText(count, outcome, environmentKey), { environmentKey, reason: outcome });
      },
      failed: (doing, error) => this.#log.warn(`outbox:${doing}`, say.outboxFailedText(doing, error), { reason: 'outbox_unavailable' }),
    });
    return { writer, drain };
  }

  /** A group is in the outbox: its events leave memory, but for those this process sends itself. */
  #persisted(items: WriteItem[], ids: string[], sentHere: boolean[]): void {
    const touched = new Set<Destination>();
    const held: string[] = [];
    items.forEach(({ event, destination }, i) => {
      this.#accounts.persisted(event, ids[i]!, sentHere[i]!);
      if (!sentHere[i]) return;
      held.push(ids[i]!);
      destination.push(event, this.#accounts.isAwaited(event.seq));
      touched.add(destination);
    });
    this.#durable!.drain.hold(held);
    for (const destination of touched) this.#pump(destination);
  }

  /** The outbox could not take a group: its events go the memory path, as without an outbox. */
  #notPersisted(items: WriteItem[], error: unknown): void {
    this.#log.warn('outbox_write', say.outboxWriteFailedText(error), { reason: 'outbox_unavailable' });
    const touched = new Set<Destination>();
    for (const { event, destination } of items) {
      if (this.#shutdown.signal.aborted) {
        this.#accounts.settle(event, 'close_timeout');
        continue;
      }
      destination.push(event, this.#accounts.isAwaited(event.seq));
      touched.add(destination);
    }
    for (const destination of touched) this.#pump(destination);
  }

  /** Where a drain's claim for an environment goes: the destination its settings name now. */
  async #routeRows(environmentKey: string, options: DurableOptions): Promise<DrainRoute> {
    const settings = await options.settingsFor(environmentKey);
    if (settings === 'unavailable') return { kind: 'wait', waitMs: DRAIN.pollIntervalMs };
    if (settings === 'skipped' || settings === 'invalid_settings') return { kind: 'drop', outcome: settings };
    const destination = this.#destinationFor(settings);
    destination.serve(environmentKey);
    const waitMs = destination.outboxWaitMs(monotonicMs());
    if (waitMs > 0) return { kind: 'wait', waitMs };
    const room = Math.min(DRAIN.claimRows - destination.pendingCount(), this.#options.maxQueueSize - this.#accounts.held);
    return { kind: 'send', destination, room };
  }

  /** Claimed rows join their destination's queue, due at once; while closing they go straight back. */
  #acceptRows(destination: Destination, environmentKey: string, rows: ClaimedRow[]): void {
    const now = monotonicMs();
    const events = rows.map((row): QueuedEvent => ({
      seq: this.#accounts.claimed(),
      environmentKey,
      json: Buffer.from(row.event),
      acceptedAt: now,
      row: row.id,
    }));
    if (this.#closing) return this.#handBack(events, 0);
    for (const event of events) destination.push(event, true);
    this.#pump(destination);
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
      });
    } catch (error) {
      this.#log.error('onBatchResult', say.reportThrewText(error), { reason: 'onBatchResult' });
    }
  }
}
