import { randomBytes } from 'node:crypto';
import type { RateLimitedLog } from '../log';
import type { TraitList } from '../mapping/traits';
import { withTimeout } from '../timers';
import type { ChangeClaim, ChangeVerdict, SharedChangeStore } from '../types';
import { MemoryChangeStore } from './memory-change-store';
import { hashTraits } from './traits-hash';

/** `sendOnlyOnChange` after validation: the in-process store needs its bound, a shared store brings its own. */
export type ResolvedChangeOptions = { ttlMs: number; store: SharedChangeStore; maxEntries?: number } | { ttlMs: number; store?: undefined; maxEntries: number };

/**
 * `sendOnlyOnChange`: decides whether an identify carries a new state, and records what delivery
 * did with it.
 *
 * Semantics, for both strategies: an identify is skipped when its identity's slot holds the same
 * hash as delivered within ttlMs, or as claimed by an identify being sent now; otherwise it
 * claims the slot and is sent. Delivery confirms the claim (the hash becomes "sent"); any other
 * end releases it if it is still ours, so the next call sends again.
 */
export interface ChangeDetection {
  /** The claim an identify of this environment with these traits would make. */
  claimFor(environmentKey: string, identifier: string, traits: TraitList): ChangeClaim;
  /**
   * 'changed' (the claim is made: send it) or 'unchanged' (skip it); now when the store is in
   * this process, later when it is shared (the event is held meanwhile). Never rejects.
   */
  check(claim: ChangeClaim): ChangeVerdict | Promise<ChangeVerdict>;
  /** What became of a checked identify: delivered confirms its claim, anything else releases it. */
  settled(claim: ChangeClaim, delivered: boolean): void;
  /** Resolves when every store write started so far has finished or timed out. */
  whenWritten(): Promise<void>;
}

export function changeDetectionFor(options: ResolvedChangeOptions, log: RateLimitedLog, storeTimeoutMs: number): ChangeDetection {
  return options.store
    ? new SharedChangeDetection(options.store, options.ttlMs, log, storeTimeoutMs)
    : new MemoryChangeDetection(new MemoryChangeStore({ maxEntries: options.maxEntries, ttlMs: options.ttlMs }));
}

/** Claims are keyed by environment and identifier, and made unique by a token. */
class Claims {
  /** Tokens are `<this detector>.<counter>`: unique across replicas without a random draw per call. */
  readonly #tokenPrefix = `${randomBytes(6).toString('base64url')}.`;
  #made = 0;

  claimFor(environmentKey: string, identifier: string, traits: TraitList): ChangeClaim {
    return {
      key: `${environmentKey.length}:${environmentKey}:${identifier}`,
      hash: hashTraits(traits),
      token: this.#tokenPrefix + (++this.#made).toString(36),
    };
  }
}

/** The in-process store: checked in the hook, so an unchanged identify takes no room in the queue. */
class MemoryChangeDetection extends Claims implements ChangeDetection {
  readonly #memory: MemoryChangeStore;

  constructor(memory: MemoryChangeStore) {
    super();
    this.#memory = memory;
  }

  check(claim: ChangeClaim): ChangeVerdict {
    return this.#memory.claim(claim);
  }

  settled(claim: ChangeClaim, delivered: boolean): void {
    if (delivered) this.#memory.confirm(claim);
    else this.#memory.release(claim);
  }

  whenWritten(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A store shared by replicas (Redis): asked off the hook, in one pass per turn of the event loop.
 * A store that fails or is slow never holds an identify back: it is sent.
 */
class SharedChangeDetection extends Claims implements ChangeDetection {
  readonly #storeCalls: Array<() => void> = [];
  #storeCallsScheduled = false;
  /** Claims checked but not yet asked: one settled meanwhile is never asked (nothing to release). */
  readonly #notYetAsked = new Set<string>();
  readonly #writesInProgress = new Set<Promise<void>>();

  readonly #store: SharedChangeStore;
  readonly #ttlMs: number;
  readonly #log: RateLimitedLog;
  readonly #timeoutMs: number;

  constructor(store: SharedChangeStore, ttlMs: number, log: RateLimitedLog, timeoutMs: number) {
    super();
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#log = log;
    this.#timeoutMs = timeoutMs;
  }

  check(claim: ChangeClaim): Promise<ChangeVerdict> {
    this.#notYetAsked.add(claim.token);
    return new Promise((resolve) => {
      this.#callStore(() => {
        if (!this.#notYetAsked.delete(claim.token)) return;
        void this.#ask('claim', () => this.#store.claim(claim)).then((verdict) => resolve(verdict ?? 'changed'));
      });
    });
  }

  settled(claim: ChangeClaim, delivered: boolean): void {
    if (!delivered && this.#notYetAsked.delete(claim.token)) return;
    // Registered now, not when it starts, so that a flush() right after waits for it.
    const write: Promise<void> = new Promise<void>((resolve) => {
      this.#callStore(() => {
        const call = delivered ? () => this.#store.confirm(claim, this.#ttlMs) : () => this.#store.release(claim);
        void this.#ask(delivered ? 'confirm' : 'release', call).then(() => resolve());
      });
    }).finally(() => this.#writesInProgress.delete(write));
    this.#writesInProgress.add(write);
  }

  async whenWritten(): Promise<void> {
    await Promise.all([...this.#writesInProgress]);
  }

  #callStore(call: () => void): void {
    this.#storeCalls.push(call);
    if (!this.#storeCallsScheduled) {
      this.#storeCallsScheduled = true;
      setImmediate(this.#runStoreCalls);
    }
  }

  readonly #runStoreCalls = (): void => {
    this.#storeCallsScheduled = false;
    for (const call of this.#storeCalls.splice(0)) call();
  };

  /** The store's answer, or undefined when it failed or took too long (logged). Never rejects. */
  async #ask<T>(operation: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withTimeout(call, this.#timeoutMs);
    } catch (error) {
      this.#log.warn(
        'change_store',
        `sendOnlyOnChange: the shared change store failed (${operation}: ${String(error instanceof Error ? error.message : error).slice(0, 200)}); ` +
          'identifies are sent without the check meanwhile, and a delivered state may be sent again',
        { reason: 'change_store' },
      );
      return undefined;
    }
  }
}
