/**
 * The durable path beside the memory path: serialized events go to the outbox in group commits
 * (the writer), rows come back from it as destinations have room (the drain), and each row's
 * fate after a request is decided here: deleted once delivered or refused for good, handed back
 * otherwise. Delivery keeps the destinations, the requests and the retry loop; this keeps what
 * only rows need.
 */
import type { RateLimitedLog } from '../log';
import type { ClaimedRow, PostgresOutbox } from '../outbox/postgres-outbox';
import { monotonicMs } from '../timers';
import type { BatchResult, ValidatedSettings } from '../types';
import type { Accounts, Outcome } from './accounts';
import type { Destination } from './destination';
import type { QueuedEvent } from './event-record';
import * as say from './messages';
import { DRAIN, OutboxDrain, type DrainRoute } from './outbox-drain';
import { OutboxWriter, type WriteItem } from './outbox-writer';
import { retryDelayMs, type DeliveryStep, type RetryPolicy } from './retry-loop';

/** What the durable outbox needs of the integration: the table, this process's name in it, and settings by environment. */
export interface DurableOptions {
  outbox: PostgresOutbox;
  /** This process's name in `claimed_by`: unique per integration. */
  owner: string;
  /** An environment's settings now, for rows written earlier: 'unavailable' when the lookup failed. */
  settingsFor(environmentKey: string): Promise<ValidatedSettings | 'skipped' | 'invalid_settings' | 'unavailable'>;
}

type Settled = Extract<DeliveryStep, { kind: 'settled' }>;

/** What the durable path uses of delivery. */
export interface DeliveryCore {
  accounts: Accounts;
  log: RateLimitedLog;
  /** For the backoff of rows handed back after a retryable failure. */
  policy: RetryPolicy;
  maxQueueSize: number;
  /** True once close() gave up: nothing new starts. */
  aborted(): boolean;
  destinationFor(settings: ValidatedSettings): Destination;
  /** Starts what the destination has ready. */
  pump(destination: Destination): void;
  /** Tells the host's onBatchResult. */
  report(destination: Destination, step: Settled, events: readonly QueuedEvent[], result: BatchResult['result']): void;
  /** Settles rows that were in a request (delivered, dropped, or handed back as `parked`), in the accounts and the destination's health. */
  settleRequest(destination: Destination, rows: QueuedEvent[], result: Exclude<Outcome, 'skipped' | 'unchanged'>): void;
  /** Notes that an environment routes to the destination. */
  serve(destination: Destination, environmentKey: string): void;
}

export class DurablePath {
  readonly #writer: OutboxWriter;
  readonly #drain: OutboxDrain;
  readonly #core: DeliveryCore;
  /** Closing: no more rows are taken from the outbox (another replica, or the next start, sends them). */
  #closing = false;

  constructor(options: DurableOptions, core: DeliveryCore) {
    this.#core = core;
    this.#writer = new OutboxWriter(options.outbox, options.owner, {
      // Closing too: close() tries to deliver what was accepted before it; what it cannot goes back to the table.
      sendsHere: (settings, already, alreadyInGroup) => {
        const destination = core.destinationFor(settings);
        return (
          destination.outboxWaitMs(monotonicMs()) === 0 &&
          destination.pendingCount() + already < DRAIN.claimRows &&
          this.#drain.heldCount + alreadyInGroup < this.#rowBudget()
        );
      },
      committed: (items, ids, sentHere) => this.#persisted(items, ids, sentHere),
      failed: (items, error) => this.#notPersisted(items, error),
    });
    this.#drain = new OutboxDrain(options.outbox, options.owner, {
      route: (environmentKey) => this.#routeRows(environmentKey, options),
      accept: (destination, environmentKey, rows) => this.#acceptRows(destination, environmentKey, rows),
      dropped: (count, outcome, environmentKey) => {
        core.accounts.droppedFromOutbox(count, outcome);
        core.log.warn(`outbox_${outcome}:${environmentKey ?? ''}`, say.outboxDroppedText(count, outcome, environmentKey), { environmentKey, reason: outcome });
      },
      failed: (doing, error) => core.log.warn(`outbox:${doing}`, say.outboxFailedText(doing, error), { reason: 'outbox_unavailable' }),
    });
  }

  /** The writer, while the outbox takes events; undefined for a while after it failed (events then take the memory path). */
  writer(): OutboxWriter | undefined {
    return this.#writer.isAvailable() ? this.#writer : undefined;
  }

  /** Commits the group gathering now. */
  persistNow(): void {
    this.#writer.commitNow();
  }

  beginClose(): void {
    this.#closing = true;
  }

  /** close() gave up: events gathered for a commit that has not started are dropped as `close_timeout`. */
  abandon(): void {
    for (const { event } of this.#writer.abandon()) this.#core.accounts.settle(event, 'close_timeout');
  }

  /** A request ended: the drain may take more rows. */
  roomMade(): void {
    this.#drain.roomMade();
  }

  /** Resolves when every outbox statement started has been answered. */
  stop(): Promise<void> {
    return this.#drain.stop();
  }

  /**
   * Rows after a request: deleted once delivered or refused for good; otherwise handed back to
   * the table, for any replica to try after the backoff, or at once (a pause, closing). They
   * settle at once: the statement is bookkeeping that close() waits for, and a crash before it
   * only sends a delivered row again.
   */
  settleRows(destination: Destination, step: Settled, rows: QueuedEvent[]): void {
    const delayMs = this.#handBackDelayMs(destination, step);
    const ids = rows.map((event) => event.row!);
    const result = delayMs === undefined ? step.result : 'parked';
    if (delayMs === undefined) void this.#drain.remove(ids);
    else void this.#drain.release(ids, delayMs);
    if (step.result === 'retries_exhausted') {
      const line = say.parkedLine(destination, rows, step.last, delayMs!);
      this.#core.log.warn(`parked:${destination.dataPlaneUrl}`, line.text, line.fields);
    }
    this.#core.settleRequest(destination, rows, result);
    this.#core.report(destination, step, rows, result);
  }

  /**
   * Rows not in a request, back to the table, claimable at once (a paused destination's route
   * holds them back): they leave memory now, the statement follows.
   */
  handBack(rows: QueuedEvent[]): void {
    void this.#drain.release(
      rows.map((event) => event.row!),
      0,
    );
    for (const event of rows) this.#core.accounts.settle(event, 'parked');
  }

  /** How long rows wait in the outbox before another try; undefined when they are done (delivered, or refused for good). */
  #handBackDelayMs(destination: Destination, step: Settled): number | undefined {
    switch (step.result) {
      case 'retries_exhausted': {
        const delayMs = retryDelayMs(step.last, destination.failures, { policy: this.#core.policy, random: Math.random });
        destination.backOff(monotonicMs(), delayMs);
        // The destination's other rows would meet the same failure: they wait in the table too.
        const waiting = destination.takeRows();
        if (waiting.length > 0) this.handBack(waiting);
        return delayMs;
      }
      case 'close_timeout':
        return 0;
      case 'rejected':
        // Refused while the destination is paused, not for what the events hold: back to the
        // table at once; the pause keeps the drain from claiming them (new settings, such as a
        // fixed key, lift it, and they go).
        return step.because === 'refused' ? undefined : 0;
      default:
        return undefined;
    }
  }

  /** A group is in the outbox: its events leave memory, but for those this process sends itself. */
  #persisted(items: WriteItem[], ids: string[], sentHere: boolean[]): void {
    const { accounts } = this.#core;
    const touched = new Set<Destination>();
    const held: string[] = [];
    items.forEach(({ event, settings }, i) => {
      accounts.persisted(event, ids[i]!, sentHere[i]!);
      if (!sentHere[i]) return;
      const destination = this.#routedTo(settings, event.environmentKey);
      held.push(ids[i]!);
      destination.push(event, accounts.isAwaited(event.seq));
      touched.add(destination);
    });
    this.#drain.hold(held);
    // Rows left in the table for want of room: the next request to end should look for them.
    if (held.length < items.length) this.#drain.roomWanted();
    for (const destination of touched) this.#core.pump(destination);
  }

  /** The outbox could not take a group: its events go the memory path, as without an outbox. */
  #notPersisted(items: WriteItem[], error: unknown): void {
    const { accounts, log } = this.#core;
    log.warn('outbox_write', say.outboxWriteFailedText(error), { reason: 'outbox_unavailable' });
    const touched = new Set<Destination>();
    for (const { event, settings } of items) {
      if (this.#core.aborted()) {
        accounts.settle(event, 'close_timeout');
        continue;
      }
      const destination = this.#routedTo(settings, event.environmentKey);
      destination.push(event, accounts.isAwaited(event.seq));
      touched.add(destination);
    }
    for (const destination of touched) this.#core.pump(destination);
  }

  /**
   * Outbox rows this process may hold in memory: half of `maxQueueSize`. The other half is for
   * what the hook accepts while it waits for its group commit, so that rows, which are safe in
   * the table, never crowd out new events.
   */
  #rowBudget(): number {
    return Math.floor(this.#core.maxQueueSize / 2);
  }

  /** The registered destination of these settings, noting that the environment routes there. */
  #routedTo(settings: ValidatedSettings, environmentKey: string): Destination {
    const destination = this.#core.destinationFor(settings);
    this.#core.serve(destination, environmentKey);
    return destination;
  }

  /** Where a drain's claim for an environment goes: the destination its settings name now. */
  async #routeRows(environmentKey: string, options: DurableOptions): Promise<DrainRoute> {
    if (this.#closing) return { kind: 'wait', waitMs: DRAIN.pollIntervalMs };
    const settings = await options.settingsFor(environmentKey);
    if (settings === 'unavailable') return { kind: 'wait', waitMs: DRAIN.pollIntervalMs };
    if (settings === 'skipped' || settings === 'invalid_settings') return { kind: 'drop', outcome: settings };
    const destination = this.#routedTo(settings, environmentKey);
    const waitMs = destination.outboxWaitMs(monotonicMs());
    if (waitMs > 0) return { kind: 'wait', waitMs };
    const room = Math.min(DRAIN.claimRows - destination.pendingCount(), this.#rowBudget() - this.#drain.heldCount);
    return { kind: 'send', destination, room };
  }

  /** Claimed rows join their destination's queue, due at once; while closing they go straight back. */
  #acceptRows(destination: Destination, environmentKey: string, rows: ClaimedRow[]): void {
    const now = monotonicMs();
    const events = rows.map((row): QueuedEvent => ({
      seq: this.#core.accounts.claimed(),
      environmentKey,
      json: Buffer.from(row.event),
      acceptedAt: now,
      row: row.id,
    }));
    if (this.#closing) return this.handBack(events);
    for (const event of events) destination.push(event, true);
    this.#core.pump(destination);
  }
}
