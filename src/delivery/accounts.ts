import { Counters } from '../stats';
import type { ChangeClaim, DropReason, IntegrationStats } from '../types';
import { SettlementLedger } from './settlement-ledger';

/** How a hook call ended: delivered, not sent by design, or dropped for a reason. */
export type Outcome = 'delivered' | 'skipped' | 'unchanged' | DropReason;

/** What accounting needs of an event: its ledger number and its sendOnlyOnChange claim, if any. */
export interface Accountable {
  seq: number;
  change?: ChangeClaim;
}

/** Told what became of each event that carries a sendOnlyOnChange claim. */
export type ClaimSettled = (claim: ChangeClaim, delivered: boolean) => void;

/**
 * The one place that counts, settles and releases claims. Every hook call is either ended at
 * once (`end`) or held (`hold`) until it settles, and both count it as received; a held identify
 * that splits holds its extra parts under the same number. So, by construction,
 * `received = skipped + unchanged + Σdropped + delivered + queued + inFlight − splitEvents`.
 */
export class Accounts {
  readonly #counters = new Counters();
  readonly #ledger = new SettlementLedger();

  readonly #claimSettled: ClaimSettled | undefined;

  constructor(claimSettled?: ClaimSettled) {
    this.#claimSettled = claimSettled;
  }

  /** A hook call that ends without being held; a change claim it made is released. */
  end(outcome: Exclude<Outcome, 'delivered'>, change?: ChangeClaim): void {
    this.#counters.received++;
    this.#count(outcome, 1);
    if (change && outcome !== 'unchanged') this.#claimSettled?.(change, false);
  }

  /** A hook call held until it settles; returns its number. */
  hold(): number {
    this.#counters.received++;
    return this.#ledger.accept();
  }

  /** Events held and not yet settled: waiting for settings, queued, or in a request. */
  get held(): number {
    return this.#ledger.held;
  }

  /** True while a flush waits for this event: it must not linger in a batch. */
  isAwaited(seq: number): boolean {
    return this.#ledger.isAwaited(seq);
  }

  /** Resolves once every event held so far has settled. */
  whenAllSettled(): Promise<void> {
    return this.#ledger.whenAllSettled();
  }

  /**
   * A held identify became `parts` events. Its claim is released: the parts may fare
   * differently, and rather than remember half a state, none is remembered.
   */
  split(event: Accountable, parts: number): void {
    this.#ledger.acceptMore(event.seq, parts - 1);
    this.#counters.splitEvents += parts - 1;
    if (event.change) this.#claimSettled?.(event.change, false);
  }

  /** Serialized events placed in a destination's queue. */
  queued(count: number): void {
    this.#counters.enqueued += count;
  }

  /** Events that went into a request. */
  toRequest(count: number): void {
    this.#counters.inFlight += count;
  }

  /** Settles a held event that is not in a request. An 'unchanged' verdict made no claim to release. */
  settle(event: Accountable, outcome: Exclude<Outcome, 'delivered'>): void {
    this.#count(outcome, 1);
    this.#ledger.settle(event.seq);
    if (event.change && outcome !== 'unchanged') this.#claimSettled?.(event.change, false);
  }

  /** Settles events that were in a request. */
  settleRequest(events: readonly Accountable[], result: 'delivered' | DropReason): void {
    this.#counters.inFlight -= events.length;
    this.#count(result, events.length);
    for (const event of events) {
      this.#ledger.settle(event.seq);
      if (event.change) this.#claimSettled?.(event.change, result === 'delivered');
    }
  }

  /** An attempt after a batch's first. */
  retried(): void {
    this.#counters.retried++;
  }

  /** Traits left out because a value alone is larger than an event may be. */
  traitsDropped(count: number): void {
    this.#counters.traitsDropped += count;
  }

  /** A settings lookup that failed. */
  configError(): void {
    this.#counters.configErrors++;
  }

  snapshot(): IntegrationStats {
    return this.#counters.snapshot(this.#ledger.held);
  }

  #count(outcome: Outcome, count: number): void {
    if (outcome === 'delivered') this.#counters.delivered += count;
    else if (outcome === 'skipped') this.#counters.skipped += count;
    else if (outcome === 'unchanged') this.#counters.unchanged += count;
    else this.#counters.dropped[outcome] += count;
  }
}
