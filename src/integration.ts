import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChangeDetection } from './change-detection/change-detector';
import { Accounts } from './delivery/accounts';
import type { Delivery } from './delivery/delivery';
import type { AcceptedIdentify } from './delivery/event-record';
import { flushBeforeExit, stopFlushingBeforeExit } from './exit-flush';
import { RateLimitedLog, type Log } from './log';
import { InvalidInputError, type InvalidInputReason } from './mapping/errors';
import { capturedTraits, captureIdentify } from './mapping/identify';
import { resolveOptions, type ResolvedOptions } from './options';
import type { OutboxStatus } from './outbox/postgres-outbox';
import { SettingsCache, type SettingsEntry } from './settings/settings-cache';
import { keepAliveUntil, monotonicMs, withTimeout } from './timers';
import type {
  ChangeVerdict,
  DestinationStatus,
  IdentityFetchContext,
  IntegrationStats,
  RudderStackIntegrationOptions,
  ValidatedSettings,
  ValueMode,
} from './types';

/**
 * The post-identity-fetch hook: maps an identity's flags to an identify, routes it by the
 * environment's settings and hands it to delivery. The host's request never waits on it, never
 * fails because of it and never sees its errors.
 */
export class RudderStackIntegration implements AsyncDisposable {
  readonly #options: ResolvedOptions;
  readonly #logger: Log;
  readonly #log: RateLimitedLog;
  readonly #accounts: Accounts;
  readonly #settings: SettingsCache;
  readonly #delivery: Delivery;
  /** Absent when sendOnlyOnChange is off: the hook then hashes nothing. */
  readonly #changes: ChangeDetection | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The drain at a natural exit while it runs; kept once it gave up, so that the process can end. */
  #exitDrain: Promise<void> | undefined;
  /** The mapping options every capture takes, made once. */
  readonly #captureOptions: { valueMode: ValueMode };

  constructor(options: RudderStackIntegrationOptions) {
    this.#options = resolveOptions(options);
    this.#logger = this.#options.logger;
    this.#captureOptions = { valueMode: this.#options.valueMode };
    this.#log = new RateLimitedLog(this.#logger, this.#options.logIntervalMs);
    // The delivery engine (HTTP, TLS, compression, the network guard) and change detection load
    // with the first integration, not at import: a process that imports the package only for
    // validateSettings, the schema or /testing's helpers does not pay for them.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { HttpSender } = require('./delivery/http-sender') as typeof import('./delivery/http-sender');
    const { Delivery } = require('./delivery/delivery') as typeof import('./delivery/delivery');
    const { attachHealth } = require('./delivery/destination-health') as typeof import('./delivery/destination-health');
    const changeOptions = this.#options.sendOnlyOnChange;
    const changes =
      changeOptions &&
      (require('./change-detection/change-detector') as typeof import('./change-detection/change-detector')).changeDetectionFor(
        changeOptions,
        this.#log,
        this.#options.changeStoreTimeoutMs,
      );
    /* eslint-enable @typescript-eslint/no-require-imports */
    this.#changes = changes;
    this.#accounts = new Accounts(changes && ((claim, delivered) => changes.settled(claim, delivered)), this.#options.durable !== undefined);
    this.#settings = new SettingsCache({
      source: this.#options.config,
      ttlMs: this.#options.configTtlMs,
      allowPrivateNetworks: this.#options.allowPrivateNetworks,
      logger: this.#logger,
      lookupTimeoutMs: this.#options.settingsLookupTimeoutMs,
      staleGraceMs: this.#options.staleSettingsGraceMs,
      onLookupError: () => this.#accounts.configError(),
    });
    const sender = new HttpSender({
      fetch: this.#options.fetch,
      gzip: this.#options.gzip,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      allowPrivateNetworks: this.#options.allowPrivateNetworks,
    });
    const outbox = this.#options.durable;
    this.#delivery = new Delivery(
      this.#options,
      sender,
      this.#accounts,
      this.#log,
      this.#logger,
      outbox && { outbox, owner: outboxOwner(), settingsFor: (environmentKey) => this.#settings.load(environmentKey).then(outboxRoute) },
    );
    attachHealth(this, this.#delivery.health);
    flushBeforeExit(this.#flushHeld);
  }

  /** Synchronous; never throws; never waits on I/O. */
  postIdentityFetch(context: IdentityFetchContext): void {
    try {
      this.#accept(context);
    } catch (error) {
      this.#countBadInput(error);
    }
  }

  /**
   * Resolves when every event accepted before the call is delivered or has failed for good (and,
   * with a shared change store, recorded there). Never rejects. Keeps the process alive until then.
   */
  flush(): Promise<void> {
    return keepAliveUntil(this.#flushUnheld());
  }

  /**
   * Resolves when every event accepted before the call is in the durable outbox, or delivered, or
   * dropped and counted: from then on a crash does not lose it. Without an outbox, the same as
   * `flush()`. Never rejects.
   */
  whenDurable(): Promise<void> {
    this.#delivery.persistNow();
    return keepAliveUntil(this.#accounts.whenDurable());
  }

  /**
   * What waits in the durable outbox (all replicas' rows); undefined when the integration has no
   * outbox. One statement that reads the table: unlike the integration's other promises, it
   * rejects (with an `OutboxError`) when the database cannot answer.
   */
  async outboxStatus(): Promise<OutboxStatus | undefined> {
    return this.#options.durable?.status();
  }

  #flushUnheld(): Promise<void> {
    this.#delivery.flushNow();
    const settled = this.#accounts.whenAllSettled();
    const changes = this.#changes;
    return changes ? settled.then(() => changes.whenWritten()) : settled;
  }

  /**
   * Flushes, then stops timers and releases sockets; events after it are counted as
   * `dropped.closed`. What is still undelivered at `timeoutMs` is abandoned and counted as
   * `dropped.close_timeout`. Runs once; later calls return the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutDown(options.timeoutMs ?? this.#options.closeTimeoutMs);
    return this.#closing;
  }

  /** `await using integration = new RudderStackIntegration(...)` closes it (with close()'s default timeout) when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Drops cached settings (and any cool-down they caused) for one environment, or all. */
  invalidate(environmentKey?: string): void {
    this.#settings.invalidate(environmentKey);
    this.#delivery.resume(environmentKey);
  }

  /** A snapshot of the counters: what was received, sent, retried and dropped (by reason), and what is held now. */
  stats(): IntegrationStats {
    return this.#accounts.snapshot();
  }

  /**
   * Each destination (data plane URL and write key) that serves an environment or holds events:
   * what it is doing, what it holds, what it delivered and dropped, its last delivery and failure.
   * Read from state delivery keeps anyway; never shows a write key or URL credentials.
   */
  destinations(): DestinationStatus[] {
    return this.#delivery.destinations();
  }

  /** Capture, check, admit, route. Whatever throws here does so before the call is held. */
  #accept(context: IdentityFetchContext): void {
    if (this.#closed) return this.#accounts.end('closed');
    const environmentKey = context.environmentKey;
    if (typeof environmentKey !== 'string' || environmentKey === '') {
      throw new InvalidInputError('invalid_input', 'environmentKey must be a non-empty string');
    }
    const settings = this.#settings.peek(environmentKey);
    // Not enabled or not usable here: nothing to map.
    if (settings && settings.kind !== 'valid') return this.#accounts.end(unroutableOutcome(settings));

    const capture = captureIdentify(context, this.#captureOptions);
    const changes = this.#changes;
    // Only change detection needs the traits in the hook; otherwise they are mapped after the host's request.
    const change = changes?.claimFor(environmentKey, capture.userId, capturedTraits(capture));
    const verdict = change && changes!.check(change);
    if (verdict === 'unchanged') return this.#accounts.end('unchanged');
    if (!this.#delivery.makeRoom(1)) return this.#accounts.end('queue_full', change);
    const event: AcceptedIdentify = { seq: this.#accounts.hold(), environmentKey, capture, acceptedAt: monotonicMs(), change, settings: undefined };
    if (verdict instanceof Promise) this.#routeWhenChanged(verdict, settings?.settings, event);
    else this.#route(settings?.settings, event);
  }

  /** A shared change store answers off the hook; the event is held meanwhile. */
  #routeWhenChanged(verdict: Promise<ChangeVerdict>, settings: ValidatedSettings | undefined, event: AcceptedIdentify): void {
    verdict
      .then((answer) => {
        if (answer === 'changed') this.#route(settings, event);
        else this.#accounts.settle(event, 'unchanged');
      })
      .catch((error: unknown) => this.#log.error('internal', `routing an identify failed: ${String(error)}`, { reason: 'internal' }));
  }

  /**
   * To delivery, or to wait for the environment's settings. Behind events already waiting for
   * them, so that an environment's events keep their order.
   */
  #route(settings: ValidatedSettings | undefined, event: AcceptedIdentify): void {
    const { environmentKey } = event;
    if (settings && !this.#delivery.isParked(environmentKey)) return this.#delivery.enqueue(event, settings);
    if (!this.#delivery.park(event)) return;
    this.#settings
      .load(environmentKey)
      .then((entry) => this.#routeParked(environmentKey, entry))
      .catch((error: unknown) =>
        this.#logger.error(`routing events of environment ${environmentKey} failed: ${String(error)}`, { environmentKey, reason: 'internal' }),
      );
  }

  #routeParked(environmentKey: string, entry: SettingsEntry): void {
    const unroutable = this.#delivery.unpark(environmentKey, entry.kind === 'valid' ? entry.settings : undefined);
    if (entry.kind === 'valid') return;
    for (const event of unroutable) this.#accounts.settle(event, unroutableOutcome(entry));
  }

  #countBadInput(error: unknown): void {
    const { reason, detail } = classifyBadInput(error);
    this.#accounts.end(reason);
    this.#log.warn(reason, `ignored an identities hook call (${reason}): ${detail.slice(0, 200)}`, { reason });
  }

  /**
   * Called when the host's event loop runs dry (see exit-flush.ts): sends what is held and keeps
   * the process alive until it settles, for at most close()'s default deadline; past it, one
   * line says what the exit loses.
   */
  readonly #flushHeld = (): void => {
    if (this.#accounts.held === 0 || this.#exitDrain) return;
    const waitMs = this.#options.closeTimeoutMs;
    const drain = keepAliveUntil(settlesWithin(this.#flushUnheld(), waitMs));
    this.#exitDrain = drain.then((settled) => {
      if (settled) this.#exitDrain = undefined;
      else {
        this.#logger.warn(
          `the process is exiting with ${this.#accounts.held} event(s) undelivered after waiting ${waitMs} ms for delivery; ` +
            'await integration.close({ timeoutMs }) before it ends to choose how long to wait',
          { reason: 'close_timeout' },
        );
      }
    });
  };

  async #shutDown(timeoutMs: number): Promise<void> {
    this.#delivery.beginClose();
    const settled = this.flush();
    if (!(await settlesWithin(settled, timeoutMs))) {
      const abandoned = this.#accounts.held;
      this.#delivery.abandon();
      await settled;
      this.#logger.warn(`closed after ${timeoutMs} ms with ${abandoned} event(s) undelivered; they are counted in stats().dropped.close_timeout`, {
        reason: 'close_timeout',
      });
    }
    await this.#delivery.stop();
    stopFlushingBeforeExit(this.#flushHeld);
  }
}

/** True if the promise settled in time. The deadline keeps the process alive: the host asked to wait. */
function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return withTimeout(() => promise, ms, { keepAlive: true }).then(
    () => true,
    () => false,
  );
}

/** This integration's name in the outbox's `claimed_by`: which host and process holds a row, for an operator reading the table. */
function outboxOwner(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** Where an outbox row goes, from its environment's settings now. */
function outboxRoute(entry: SettingsEntry): ValidatedSettings | 'skipped' | 'invalid_settings' | 'unavailable' {
  switch (entry.kind) {
    case 'valid':
      return entry.settings;
    case 'disabled':
      return 'skipped';
    case 'invalid':
      return 'invalid_settings';
    case 'error':
      return 'unavailable';
  }
}

/** What an event is counted as when its environment's settings cannot route it. */
function unroutableOutcome(entry: Exclude<SettingsEntry, { kind: 'valid' }>): 'skipped' | 'invalid_settings' | 'config_error' {
  if (entry.kind === 'disabled') return 'skipped';
  return entry.kind === 'invalid' ? 'invalid_settings' : 'config_error';
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
