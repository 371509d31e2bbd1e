import type { ChangeDetector } from './change-detection/change-detector';
import type { Delivery } from './delivery/delivery';
import { SettlementLedger } from './delivery/settlement-ledger';
import { consoleLogger, guardLogger, RateLimitedLog } from './log';
import { InvalidInputError, type InvalidInputReason } from './mapping/errors';
import { capturedTraits, captureIdentify, type IdentifyCapture } from './mapping/identify';
import { resolveOptions, type ResolvedOptions } from './options';
import { toConfigSource } from './settings/config-source';
import { SettingsCache, type SettingsEntry } from './settings/settings-cache';
import { flushBeforeExit, stopFlushingBeforeExit } from './exit-flush';
import { Counters } from './stats';
import type { ChangeClaim, IdentityFetchContext, IntegrationStats, Logger, RudderStackIntegrationOptions, ValidatedSettings } from './types';

/** An identify accepted and not yet handed to delivery (awaiting settings, or a shared change store). */
interface AwaitingEvent {
  seq: number;
  capture: IdentifyCapture;
  acceptedAt: number;
  /** Its sendOnlyOnChange claim: released if the event ends before delivery. */
  change?: ChangeClaim;
}

const BAD_INPUT_LOG_INTERVAL_MS = 60_000;

/**
 * The post-identity-fetch hook: maps an identity's flags to an identify, routes it by the
 * environment's settings and hands it to delivery. The host's request never waits on it, never
 * fails because of it and never sees its errors.
 */
export class RudderStackIntegration {
  private readonly options: ResolvedOptions;
  private readonly logger: Logger;
  private readonly counters = new Counters();
  private readonly ledger = new SettlementLedger();
  private readonly settings: SettingsCache;
  private readonly delivery: Delivery;
  /** Absent when sendOnlyOnChange is off: the hook then hashes nothing. */
  private readonly changes: ChangeDetector | undefined;
  private readonly awaitingSettings = new Map<string, AwaitingEvent[]>();
  private readonly badInputLog: RateLimitedLog;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: RudderStackIntegrationOptions) {
    this.options = resolveOptions(options);
    this.logger = guardLogger(options.logger ?? consoleLogger);
    this.badInputLog = new RateLimitedLog(this.logger, BAD_INPUT_LOG_INTERVAL_MS);
    this.settings = new SettingsCache({
      source: toConfigSource(options.config),
      ttlMs: this.options.configTtlMs,
      allowPrivateNetworks: this.options.allowPrivateNetworks,
      logger: this.logger,
      onLookupError: () => {
        this.counters.configErrors++;
      },
    });
    // The delivery engine (HTTP, TLS, compression, the network guard) and change detection load
    // with the first integration, not at import: a process that imports the package only for
    // validateSettings, the schema or /testing's helpers does not pay for them.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { HttpSender } = require('./delivery/http-sender') as typeof import('./delivery/http-sender');
    const { Delivery } = require('./delivery/delivery') as typeof import('./delivery/delivery');
    const ChangeDetector = this.options.sendOnlyOnChange
      ? (require('./change-detection/change-detector') as typeof import('./change-detection/change-detector')).ChangeDetector
      : undefined;
    /* eslint-enable @typescript-eslint/no-require-imports */
    const sender = new HttpSender({
      fetch: options.fetch,
      gzip: this.options.gzip,
      requestTimeoutMs: this.options.requestTimeoutMs,
      allowPrivateNetworks: this.options.allowPrivateNetworks,
    });
    const changes = this.options.sendOnlyOnChange && ChangeDetector && new ChangeDetector(this.options.sendOnlyOnChange, this.logger);
    this.changes = changes;
    this.delivery = new Delivery(this.options, sender, this.ledger, this.counters, this.logger, changes && ((claim, delivered) => changes.settled(claim, delivered)));
    flushBeforeExit(this);
  }

  /** Synchronous; never throws; never waits on I/O. */
  postIdentityFetch(context: IdentityFetchContext): void {
    try {
      this.accept(context);
    } catch (error) {
      this.countBadInput(error);
    }
  }

  /**
   * Resolves when every event accepted before the call is delivered or has failed for good (and,
   * with a shared change store, recorded there). Never rejects.
   */
  flush(): Promise<void> {
    this.delivery.flushNow();
    const settled = this.ledger.whenAllSettled();
    const changes = this.changes;
    return changes ? settled.then(() => changes.whenWritten()) : settled;
  }

  /**
   * Flushes, then stops timers and releases sockets; events after it are counted as
   * `dropped.closed`. What is still undelivered at `timeoutMs` is abandoned and counted as
   * `dropped.close_timeout`. Runs once; later calls return the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closed = true;
    this.closing ??= this.shutDown(options.timeoutMs ?? 10_000);
    return this.closing;
  }

  /** Drops cached settings (and any cool-down they caused) for one environment, or all. */
  invalidate(environmentKey?: string): void {
    this.settings.invalidate(environmentKey);
    this.delivery.resume(environmentKey);
  }

  /** Sends what is held now; called when the host's event loop runs dry (see exit-flush.ts). */
  flushHeld(): void {
    if (this.ledger.held > 0) this.delivery.flushNow();
  }

  stats(): IntegrationStats {
    return this.counters.snapshot(this.ledger.held);
  }

  private accept(context: IdentityFetchContext): void {
    this.counters.received++;
    if (this.closed) {
      this.counters.dropped.closed++;
      return;
    }
    const environmentKey = context.environmentKey;
    if (typeof environmentKey !== 'string' || environmentKey === '') {
      throw new InvalidInputError('invalid_input', 'environmentKey must be a non-empty string');
    }
    const settings = this.settings.peek(environmentKey);
    // Not enabled or not usable here: nothing to map.
    if (settings && settings.kind !== 'valid') return this.countUnroutable(settings);

    const capture = captureIdentify(context, { valueMode: this.options.valueMode });
    const changes = this.changes;
    // Only change detection needs the traits in the hook; otherwise they are mapped after the host's request.
    const change = changes?.claimFor(environmentKey, capture.userId, capturedTraits(capture));
    // The in-process store is checked (and claimed) here, so an unchanged identify takes no room in the queue.
    const claimedNow = changes !== undefined && change !== undefined && !changes.checksLater;
    if (claimedNow && changes.checkNow(change) === 'unchanged') {
      this.counters.unchanged++;
      return;
    }
    if (this.ledger.held >= this.options.maxQueueSize && !this.delivery.evictOldest()) {
      this.counters.dropped.queue_full++;
      if (claimedNow) changes.settled(change, false);
      return;
    }
    const event: AwaitingEvent = { seq: this.ledger.accept(), capture, acceptedAt: Date.now(), change };
    if (changes && change && !claimedNow) this.checkThenRoute(changes, environmentKey, settings?.settings, change, event);
    else this.route(environmentKey, settings?.settings, event);
  }

  /** A shared change store is asked off the hook; the event waits in the ledger for its answer. */
  private checkThenRoute(
    changes: ChangeDetector,
    environmentKey: string,
    settings: ValidatedSettings | undefined,
    change: ChangeClaim,
    event: AwaitingEvent,
  ): void {
    changes.checkLater(change, (verdict) => {
      if (verdict === 'changed') return this.route(environmentKey, settings, event);
      this.counters.unchanged++;
      this.ledger.settle(event.seq);
    });
  }

  /**
   * To delivery, or to wait for the environment's settings. Behind events already waiting for
   * them, so that an environment's events keep their order.
   */
  private route(environmentKey: string, settings: ValidatedSettings | undefined, event: AwaitingEvent): void {
    if (settings && !this.awaitingSettings.has(environmentKey)) {
      this.delivery.enqueue(event.seq, environmentKey, settings, event.capture, event.acceptedAt, event.change);
    } else {
      this.awaitSettings(environmentKey, event);
    }
  }

  private awaitSettings(environmentKey: string, event: AwaitingEvent): void {
    const waiting = this.awaitingSettings.get(environmentKey);
    if (waiting) {
      waiting.push(event);
      return;
    }
    this.awaitingSettings.set(environmentKey, [event]);
    this.settings
      .load(environmentKey)
      .then((entry) => this.routeAwaiting(environmentKey, entry))
      .catch((error: unknown) => this.logger.error(`routing events of environment ${environmentKey} failed: ${String(error)}`));
  }

  private routeAwaiting(environmentKey: string, entry: SettingsEntry): void {
    const waiting = this.awaitingSettings.get(environmentKey);
    if (!waiting) return; // abandoned by close()
    this.awaitingSettings.delete(environmentKey);
    for (const event of waiting) {
      if (entry.kind === 'valid') {
        this.delivery.enqueue(event.seq, environmentKey, entry.settings, event.capture, event.acceptedAt, event.change);
      } else {
        this.countUnroutable(entry);
        this.settleUndelivered(event);
      }
    }
  }

  private settleUndelivered(event: AwaitingEvent): void {
    this.ledger.settle(event.seq);
    if (event.change) this.changes?.settled(event.change, false);
  }

  private countUnroutable(entry: Exclude<SettingsEntry, { kind: 'valid' }>): void {
    if (entry.kind === 'disabled') this.counters.skipped++;
    else if (entry.kind === 'invalid') this.counters.dropped.invalid_settings++;
    else this.counters.dropped.config_error++;
  }

  private countBadInput(error: unknown): void {
    const { reason, detail } = classifyBadInput(error);
    this.counters.dropped[reason]++;
    this.badInputLog.warn(reason, `ignored an identities hook call (${reason}): ${detail.slice(0, 200)}`);
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    const settled = this.flush();
    if (!(await settlesWithin(settled, timeoutMs))) {
      const abandoned = this.ledger.held;
      for (const [, waiting] of this.awaitingSettings) {
        for (const event of waiting) {
          this.counters.dropped.close_timeout++;
          this.settleUndelivered(event);
        }
      }
      this.awaitingSettings.clear();
      this.delivery.abandon();
      await settled;
      this.logger.warn(
        `closed after ${timeoutMs} ms with ${abandoned} event(s) undelivered; they are counted in stats().dropped.close_timeout`,
      );
    }
    this.delivery.stop();
    stopFlushingBeforeExit(this);
  }
}

/** True if the promise settled in time. The timer keeps the process alive: the host asked to wait. */
function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Why a hook call was unusable. What was thrown may come from hostile input (a getter that
 * throws anything, a proxy whose prototype lookup throws), so reading it must not throw in turn.
 */
function classifyBadInput(error: unknown): { reason: InvalidInputReason; detail: string } {
  try {
    if (error instanceof InvalidInputError) return { reason: error.reason, detail: error.message };
    const message: unknown = (error as { message?: unknown } | null)?.message;
    return { reason: 'invalid_input', detail: typeof message === 'string' ? message : 'unreadable input' };
  } catch {
    return { reason: 'invalid_input', detail: 'unreadable input' };
  }
}
