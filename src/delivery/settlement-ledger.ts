interface FlushWaiter {
  /** Every event with a sequence number up to this one must settle. */
  throughSeq: number;
  remaining: number;
  resolve: () => void;
}

/**
 * Counts events from acceptance to settlement (delivered or dropped), so that `flush()` can wait
 * for exactly the events accepted before it was called, however they are spread over
 * destinations, settings lookups and retries, and however much arrives meanwhile.
 */
export class SettlementLedger {
  #lastSeq = 0;
  #unsettled = 0;
  readonly #waiters: FlushWaiter[] = [];

  /** Events accepted and not yet delivered or dropped. */
  get held(): number {
    return this.#unsettled;
  }

  /**
   * Accepts one event and returns its sequence number: the next one, or the one given (a second
   * ledger that follows some of another's events uses their numbers).
   */
  accept(seq = this.#lastSeq + 1): number {
    this.#unsettled++;
    this.#lastSeq = Math.max(this.#lastSeq, seq);
    return seq;
  }

  /** Accepts more events under an existing sequence number (the parts of a split event). */
  acceptMore(seq: number, count: number): void {
    this.#unsettled += count;
    for (const waiter of this.#waiters) if (seq <= waiter.throughSeq) waiter.remaining += count;
  }

  settle(seq: number): void {
    this.#unsettled--;
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i]!;
      if (seq <= waiter.throughSeq && --waiter.remaining === 0) {
        this.#waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** True while a flush waits for the event with this sequence number: it must not linger in a batch. */
  isAwaited(seq: number): boolean {
    for (const waiter of this.#waiters) if (seq <= waiter.throughSeq) return true;
    return false;
  }

  /** Resolves once every event accepted so far has settled. */
  whenAllSettled(): Promise<void> {
    if (this.#unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ throughSeq: this.#lastSeq, remaining: this.#unsettled, resolve });
    });
  }
}
