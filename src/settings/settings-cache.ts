/**
 * Validated settings per environment, looked up from a ConfigSource at most once per TTL.
 *
 * Holds one record per environment key seen (callers pass only keys the host authenticated);
 * records past all use are swept lazily, at most once per TTL, when a lookup starts.
 */
import { monotonicMs, withTimeout } from '../timers';
import type { Log } from '../log';
import type { ConfigSource, ValidatedSettings } from '../types';
import { redact } from './messages';
import { SettingsError, validateSettings } from './validate';

export type SettingsEntry = { kind: 'disabled' } | { kind: 'valid'; settings: ValidatedSettings } | { kind: 'invalid'; errors: string[] } | { kind: 'error' };

export interface SettingsCacheOptions {
  source: ConfigSource;
  ttlMs: number;
  allowPrivateNetworks: boolean;
  logger: Log;
  /** Called on every failed lookup (the integration counts them). */
  onLookupError?: (environmentKey: string) => void;
  /** A lookup still pending after this long counts as failed (default 5000). */
  lookupTimeoutMs?: number;
  /** How long past expiry the last 'valid' entry is still served while refreshes fail (default 300 000). */
  staleGraceMs?: number;
  /** How long a failed lookup's result is cached (default min(ttlMs, 5000)). */
  errorRetryMs?: number;
  /** Milliseconds for durations (default: the monotonic clock). */
  now?: () => number;
}

interface CachedEntry {
  entry: SettingsEntry;
  expiresAt: number;
  /** For a 'valid' entry: until when it may be served stale. */
  staleUntil: number;
}

interface Lookup {
  promise: Promise<SettingsEntry>;
}

interface EnvironmentState {
  cached?: CachedEntry;
  /** The running lookup; replaced or dropped by invalidate, so its result is then not stored. */
  lookup?: Lookup;
  /** When each kind of warning was last logged, to log it once per TTL. */
  warnedAt: { invalid?: number; error?: number };
}

type LookupOutcome = SettingsEntry | { kind: 'failed'; reason: unknown };

const DISABLED: SettingsEntry = Object.freeze({ kind: 'disabled' });
const ERROR: SettingsEntry = Object.freeze({ kind: 'error' });

export class SettingsCache {
  readonly #source: ConfigSource;
  readonly #ttlMs: number;
  readonly #allowPrivateNetworks: boolean;
  readonly #logger: Log;
  readonly #onLookupError: (environmentKey: string) => void;
  readonly #lookupTimeoutMs: number;
  readonly #staleGraceMs: number;
  readonly #errorRetryMs: number;
  readonly #now: () => number;
  readonly #states = new Map<string, EnvironmentState>();
  #nextSweepAt: number;

  constructor(options: SettingsCacheOptions) {
    this.#source = options.source;
    this.#ttlMs = options.ttlMs;
    this.#allowPrivateNetworks = options.allowPrivateNetworks;
    this.#logger = options.logger;
    this.#onLookupError = options.onLookupError ?? (() => undefined);
    this.#lookupTimeoutMs = options.lookupTimeoutMs ?? 5000;
    this.#staleGraceMs = options.staleGraceMs ?? 300_000;
    this.#errorRetryMs = options.errorRetryMs ?? Math.min(options.ttlMs, 5000);
    this.#now = options.now ?? monotonicMs;
    this.#nextSweepAt = this.#now() + this.#ttlMs;
  }

  /**
   * The cached entry if fresh, else undefined (a lookup is needed). An expired 'valid' entry
   * within its stale grace is returned too, and a background refresh started, so the hot path
   * never waits on a working environment.
   */
  peek(environmentKey: string): SettingsEntry | undefined {
    const cached = this.#states.get(environmentKey)?.cached;
    if (!cached) return undefined;
    const now = this.#now();
    if (now < cached.expiresAt) return cached.entry;
    if (cached.entry.kind === 'valid' && now < cached.staleUntil) {
      void this.#lookUp(environmentKey);
      return cached.entry;
    }
    return undefined;
  }

  /**
   * What peek returns, else the result of a lookup (one shared by concurrent callers).
   * Never rejects.
   */
  load(environmentKey: string): Promise<SettingsEntry> {
    const entry = this.peek(environmentKey);
    return entry ? Promise.resolve(entry) : this.#lookUp(environmentKey);
  }

  /** How many environments the cache holds state for (for diagnostics). */
  get size(): number {
    return this.#states.size;
  }

  /** Drops one environment's entry, or all; a lookup already running will not store its result. */
  invalidate(environmentKey?: string): void {
    if (environmentKey === undefined) this.#states.clear();
    else this.#states.delete(environmentKey);
  }

  #lookUp(environmentKey: string): Promise<SettingsEntry> {
    const running = this.#states.get(environmentKey)?.lookup;
    if (running) return running.promise;
    this.#sweepIfDue();
    const state = this.#stateOf(environmentKey);
    const lookup: Lookup = {
      promise: this.#askSource(environmentKey).then((outcome) => this.#settle(environmentKey, lookup, outcome)),
    };
    state.lookup = lookup;
    return lookup.promise;
  }

  async #askSource(environmentKey: string): Promise<LookupOutcome> {
    try {
      const settings = await withTimeout(() => this.#source.get(environmentKey), this.#lookupTimeoutMs);
      if (settings === null || settings === undefined) return DISABLED;
      const validated = validateSettings(settings, { allowPrivateNetworks: this.#allowPrivateNetworks });
      return { kind: 'valid', settings: validated };
    } catch (reason) {
      if (reason instanceof SettingsError) return { kind: 'invalid', errors: reason.errors };
      return { kind: 'failed', reason };
    }
  }

  /** Stores the outcome unless invalidate dropped this lookup meanwhile; returns the entry. */
  #settle(environmentKey: string, lookup: Lookup, outcome: LookupOutcome): SettingsEntry {
    if (outcome.kind === 'failed') callSafely(() => this.#onLookupError(environmentKey));
    const state = this.#states.get(environmentKey);
    if (state?.lookup !== lookup) return outcome.kind === 'failed' ? ERROR : outcome;
    state.lookup = undefined;
    const now = this.#now();
    if (outcome.kind === 'failed') {
      this.#warnOnce(
        state,
        'error',
        now,
        environmentKey,
        () => `RudderStack settings lookup failed for environment ${environmentKey}: ${reasonText(outcome.reason)}`,
      );
      return this.#storeFailure(state, now);
    }
    if (outcome.kind === 'invalid') {
      this.#warnOnce(
        state,
        'invalid',
        now,
        environmentKey,
        () => `RudderStack settings for environment ${environmentKey} are invalid: ${outcome.errors.join(' ')}`,
      );
    }
    state.cached = {
      entry: outcome,
      expiresAt: now + this.#ttlMs,
      staleUntil: outcome.kind === 'valid' ? now + this.#ttlMs + this.#staleGraceMs : 0,
    };
    return outcome;
  }

  /** Keeps serving the last 'valid' entry within its grace; otherwise caches an 'error'. */
  #storeFailure(state: EnvironmentState, now: number): SettingsEntry {
    const previous = state.cached;
    const keepPrevious = previous?.entry.kind === 'valid' && now < previous.staleUntil;
    state.cached = keepPrevious
      ? {
          entry: previous.entry,
          expiresAt: Math.min(now + this.#errorRetryMs, previous.staleUntil),
          staleUntil: previous.staleUntil,
        }
      : { entry: ERROR, expiresAt: now + this.#errorRetryMs, staleUntil: 0 };
    return state.cached.entry;
  }

  #warnOnce(state: EnvironmentState, kind: 'invalid' | 'error', now: number, environmentKey: string, message: () => string): void {
    const last = state.warnedAt[kind];
    if (last !== undefined && now - last < this.#ttlMs) return;
    state.warnedAt[kind] = now;
    const reason = kind === 'invalid' ? 'invalid_settings' : 'config_error';
    callSafely(() => this.#logger.warn(message(), { environmentKey, reason }));
  }

  #stateOf(environmentKey: string): EnvironmentState {
    let state = this.#states.get(environmentKey);
    if (!state) {
      state = { warnedAt: {} };
      this.#states.set(environmentKey, state);
    }
    return state;
  }

  /** Forgets environments with nothing left to serve, no lookup running and no recent warning. */
  #sweepIfDue(): void {
    const now = this.#now();
    if (now < this.#nextSweepAt) return;
    this.#nextSweepAt = now + this.#ttlMs;
    for (const [environmentKey, state] of this.#states) {
      const servableUntil = state.cached ? Math.max(state.cached.expiresAt, state.cached.staleUntil) : 0;
      const lastWarned = Math.max(state.warnedAt.invalid ?? -Infinity, state.warnedAt.error ?? -Infinity);
      if (!state.lookup && now >= servableUntil && now - lastWarned >= this.#ttlMs) {
        this.#states.delete(environmentKey);
      }
    }
  }
}

/** A throwing logger or counter must not break lookups, which never reject. */
function callSafely(action: () => void): void {
  try {
    action();
  } catch {
    // Nothing sensible is left to report it to.
  }
}

/** Only the message (a source's error object may carry settings), without URL credentials (a driver's may name its connection string). */
function reasonText(reason: unknown): string {
  return redact(reason instanceof Error ? reason.message : String(reason));
}
