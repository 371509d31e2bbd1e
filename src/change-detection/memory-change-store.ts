import type { LRUCache } from 'lru-cache';
import type { ChangeClaim, ChangeVerdict } from '../types';

export interface MemoryChangeStoreOptions {
  maxEntries: number;
  ttlMs: number;
  /** The clock lru-cache reads for expiry; tests pass their own. */
  clock?: { now(): number };
}

/**
 * The in-process memory of what was sent, with the same semantics as RedisChangeStore but
 * synchronous: one slot per identity holds either the hash last delivered (a string) or the claim
 * of the identify being sent now (the claim object itself, so "still ours" is identity).
 *
 * Bounded by lru-cache: at most `maxEntries` identities, the least recently seen forgotten
 * first, and every slot expires `ttlMs` after it was written. A forgotten identity is simply
 * sent again.
 */
export class MemoryChangeStore {
  readonly #slots: LRUCache<string, string | ChangeClaim>;

  constructor(options: MemoryChangeStoreOptions) {
    // Loaded here, not at import: only sendOnlyOnChange with the in-process store uses it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { LRUCache: Cache } = require('lru-cache') as typeof import('lru-cache');
    this.#slots = new Cache({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // Exact expiry: the default caches the clock for 1 ms behind a timer; reading it is cheaper.
      ttlResolution: 0,
      ...(options.clock ? { perf: options.clock } : {}),
    });
  }

  /** 'unchanged' when this hash was delivered within ttlMs or is being sent now; otherwise claims the slot. */
  claim(claim: ChangeClaim): ChangeVerdict {
    const slot = this.#slots.get(claim.key);
    if (slot === claim.hash || (typeof slot === 'object' && slot.hash === claim.hash)) return 'unchanged';
    this.#slots.set(claim.key, claim);
    return 'changed';
  }

  /** Delivered: remember the hash for ttlMs from now, unless a newer claim took the slot meanwhile. */
  confirm(claim: ChangeClaim): void {
    const slot = this.#slots.peek(claim.key);
    if (slot === claim || slot === undefined) this.#slots.set(claim.key, claim.hash);
  }

  /** Not delivered: forget the claim, so that the next call sends. */
  release(claim: ChangeClaim): void {
    if (this.#slots.peek(claim.key) === claim) this.#slots.delete(claim.key);
  }

  get size(): number {
    return this.#slots.size;
  }
}
