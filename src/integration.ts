import { Delivery } from './delivery/delivery';
import { HttpSender } from './delivery/http-sender';
import { SettlementLedger } from './delivery/settlement-ledger';
import { consoleLogger, guardLogger, RateLimitedLog } from './log';
import { InvalidInputError } from './mapping/errors';
import { buildIdentifyMessage } from './mapping/identify';
import { resolveOptions, type ResolvedOptions } from './options';
import { toConfigSource } from './settings/config-source';
import { SettingsCache, type SettingsEntry } from './settings/settings-cache';
import { flushBeforeExit, stopFlushingBeforeExit } from './exit-flush';
import { Counters } from './stats';
import type { IdentifyMessage, IdentityFetchContext, IntegrationStats, Logger, RudderStackIntegrationOptions } from './types';

/** An identify accepted while its environment's settings are being looked up. */
interface AwaitingEvent {
  seq: number;
  message: IdentifyMessage;
  acceptedAt: number;
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
    const sender = new HttpSender({
      fetch: options.fetch,
      gzip: this.options.gzip,
      requestTimeoutMs: this.options.requestTimeoutMs,
      allowPrivateNetworks: this.options.allowPrivateNetworks,
    });
    this.delivery = new Delivery(this.options, sender, this.ledger, this.counters, this.logger);
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

  /** Resolves when every event accepted before the call is delivered or has failed for good. Never rejects. */
  flush(): Promise<void> {
    this.delivery.flushNow();
    return this.ledger.whenAllSettled();
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

    const now = new Date();
    const message = buildIdentifyMessage(context, { valueMode: this.options.valueMode, timestamp: now });
    if (this.ledger.held >= this.options.maxQueueSize && !this.delivery.evictOldest()) {
      this.counters.dropped.queue_full++;
      return;
    }
    const seq = this.ledger.accept();
    if (settings) this.delivery.enqueue(seq, environmentKey, settings.settings, message, now.getTime());
    else this.awaitSettings(environmentKey, { seq, message, acceptedAt: now.getTime() });
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
        this.delivery.enqueue(event.seq, environmentKey, entry.settings, event.message, event.acceptedAt);
      } else {
        this.countUnroutable(entry);
        this.ledger.settle(event.seq);
      }
    }
  }

  private countUnroutable(entry: Exclude<SettingsEntry, { kind: 'valid' }>): void {
    if (entry.kind === 'disabled') this.counters.skipped++;
    else if (entry.kind === 'invalid') this.counters.dropped.invalid_settings++;
    else this.counters.dropped.config_error++;
  }

  private countBadInput(error: unknown): void {
    const reason = error instanceof InvalidInputError ? error.reason : 'invalid_input';
    this.counters.dropped[reason]++;
    const detail = error instanceof Error ? error.message : 'unreadable input';
    this.badInputLog.warn(reason, `ignored an identities hook call (${reason}): ${detail.slice(0, 200)}`);
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    const settled = this.flush();
    if (!(await settlesWithin(settled, timeoutMs))) {
      const abandoned = this.ledger.held;
      for (const [, waiting] of this.awaitingSettings) {
        for (const event of waiting) {
          this.counters.dropped.close_timeout++;
          this.ledger.settle(event.seq);
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
