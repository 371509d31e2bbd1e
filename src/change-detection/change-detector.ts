import { randomBytes } from 'node:crypto';
import { RateLimitedLog } from '../log';
import type { TraitList } from '../mapping/traits';
import type { ChangeClaim, ChangeVerdict, Logger, SharedChangeStore } from '../types';
import { MemoryChangeStore } from './memory-change-store';
import { hashTraits } from './traits-hash';

/** `sendOnlyOnChange` after validation: the in-process store needs its bound, a shared store brings its own. */
export type ResolvedChangeOptions =
  | { ttlMs: number; store: SharedChangeStore; maxEntries?: number }
  | { ttlMs: number; store?: undefined; maxEntries: number };

/** Longest a shared store may take to answer before the identify is sent unchecked. */
const STORE_TIMEOUT_MS = 250;
const STORE_LOG_INTERVAL_MS = 60_000;

/**
 * `sendOnlyOnChange`: decides whether an identify carries a new state, and records what delivery
 * did with it. With the in-process store the check is synchronous (`checkNow`, in the hook);
 * with a shared store it is asynchronous (`checkLater`: the hook only queues it, and the event
 * waits in the settlement ledger meanwhile).
 *
 * Semantics, for both stores: an identify is skipped when its identity's slot holds the same
 * hash as delivered within ttlMs, or as claimed by an identify being sent now; otherwise it
 * claims the slot and is sent. Delivery confirms the claim (the hash becomes "sent"); any other
 * end releases it if it is still ours, so the next call sends again. A shared store that fails
 * or is slow never holds an identify back: it is sent.
 */
export class ChangeDetector {
  /** True when the store is shared: use `checkLater`, not `checkNow`. */
  readonly checksLater: boolean;
  readonly #memory: MemoryChangeStore | undefined;
  readonly #shared: SharedChangeStore | undefined;
  readonly #ttlMs: number;
  readonly #log: RateLimitedLog;
  /** Claims and writes to the shared store are started off the hook, in one pass per turn of the event loop. */
  readonly #storeCalls: Array<() => void> = [];
  #storeCallsScheduled = false;
  readonly #writesInProgress = new Set<Promise<void>>();
  /** Tokens are `<this detector>.<counter>`: unique across replicas without a random draw per call. */
  readonly #tokenPrefix = `${randomBytes(6).toString('base64url')}.`;
  #claimsMade = 0;

  constructor(options: ResolvedChangeOptions, logger: Logger) {
    this.#ttlMs = options.ttlMs;
    this.#shared = options.store;
    this.checksLater = options.store !== undefined;
    this.#memory = options.store ? undefined : new MemoryChangeStore({ maxEntries: options.maxEntries, ttlMs: options.ttlMs });
    this.#log = new RateLimitedLog(logger, STORE_LOG_INTERVAL_MS);
  }

  /** The claim an identify of this environment with these traits would make. */
  claimFor(environmentKey: string, identifier: string, traits: TraitList): ChangeClaim {
    return {
      key: `${environmentKey.length}:${environmentKey}:${identifier}`,
      hash: hashTraits(traits),
      token: this.#tokenPrefix + (++this.#claimsMade).toString(36),
    };
  }

  /** In-process store only: 'changed' means the claim is made and the identify must be sent. */
  checkNow(claim: ChangeClaim): ChangeVerdict {
    return this.#memory!.claim(claim);
  }

  /** Shared store only: answers on a later turn of the event loop; 'changed' when the store fails. */
  checkLater(claim: ChangeClaim, answer: (verdict: ChangeVerdict) => void): void {
    const shared = this.#shared!;
    this.#callStore(() => {
      this.#withTimeout('claim', () => shared.claim(claim))
        .then((verdict) => answer(verdict ?? 'changed'))
        .catch((error: unknown) => this.#log.error('change_internal', `sendOnlyOnChange: unexpected error: ${String(error)}`));
    });
  }

  /** What became of a claimed identify: delivered confirms the claim, anything else releases it. */
  settled(claim: ChangeClaim, delivered: boolean): void {
    if (this.#memory) {
      if (delivered) this.#memory.confirm(claim);
      else this.#memory.release(claim);
      return;
    }
    const shared = this.#shared!;
    // Registered now, not when it starts, so that a flush() right after waits for it.
    const write: Promise<void> = new Promise<void>((resolve) => {
      this.#callStore(() => {
        const call = delivered ? () => shared.confirm(claim, this.#ttlMs) : () => shared.release(claim);
        void this.#withTimeout(delivered ? 'confirm' : 'release', call).then(() => resolve());
      });
    }).finally(() => this.#writesInProgress.delete(write));
    this.#writesInProgress.add(write);
  }

  /** Resolves when every store write started so far has finished or timed out. */
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

  /** The store's answer, or undefined when it failed or took longer than STORE_TIMEOUT_MS (logged). Never rejects. */
  #withTimeout<T>(operation: string, start: () => Promise<T>): Promise<T | undefined> {
    return new Promise((resolve) => {
      // A store that throws instead of rejecting is a rejection too.
      const call = new Promise<T>((resolveCall) => resolveCall(start()));
      const timer = setTimeout(() => {
        this.#storeFailed(operation, `no answer within ${STORE_TIMEOUT_MS} ms`);
        resolve(undefined);
      }, STORE_TIMEOUT_MS);
      timer.unref();
      call.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          this.#storeFailed(operation, error instanceof Error ? error.message : String(error));
          resolve(undefined);
        },
      );
    });
  }

  #storeFailed(operation: string, detail: string): void {
    this.#log.warn(
      'change_store',
      `sendOnlyOnChange: the shared change store failed (${operation}: ${detail.slice(0, 200)}); ` +
        'identifies are sent without the check meanwhile, and a delivered state may be sent again',
    );
  }
}
