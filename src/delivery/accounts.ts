import { Counters } from '../stats';
import type { ChangeClaim, DropReason, IntegrationStats } from '../types';
import { SettlementLedger } from './settlement-ledger';

/** How a held event ended: delivered, not sent by design, handed back to the durable outbox, or dropped for a reason. */
export type Outcome = 'delivered' | 'skipped' | 'unchanged' | 'parked' | DropReason;

/** What accounting needs of an event: its ledger number, its sendOnlyOnChange claim, and its outbox row once it is durable. */
export interface Accountable {
  seq: number;
  change?: ChangeClaim;
  row?: string;
}

/** Told what became of each event that carries a sendOnlyOnChange claim. */
export type ClaimSettled = (claim: ChangeClaim, delivered: boolean) => void;

/**
 * The one place that counts, settles and releases claims. Every hook call is either ended at
 * once (`end`) or held (`hold`) until it settles, and both count it as received; a held identify
 * that splits holds its extra parts under the same number. With a durable outbox, an event
 * written there leaves memory as `persisted` (or stays held, claimed, when this process sends it
 * itself), and rows taken from the outbox are held as `claimed`. So, by construction,
 * `received + claimed = skipped + unchanged + Σdropped + delivered + persisted + parked + queued + inFlight − splitEvents`.
 */
export class Accounts {
  readonly #counters = new Counters();
  readonly #ledger = new SettlementLedger();
  /** With a durable outbox: hook events not yet written there (nor settled otherwise), for `whenDurable()`. */
  readonly #notDurable: SettlementLedger | undefined;

  readonly #claimSettled: ClaimSettled | undefined;

  constructor(claimSettled: ClaimSettled | undefined, durable: boolean) {
    this.#claimSettled = claimSettled;
    this.#notDurable = durable ? new SettlementLedger() : undefined;
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
    const seq = this.#ledger.accept();
    this.#notDurable?.accept(seq);
    return seq;
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

  /** Resolves once every event held so far is in the outbox or settled (without an outbox: settled). */
  whenDurable(): Promise<void> {
    return (this.#notDurable ?? this.#ledger).whenAllSettled();
  }

  /**
   * A held identify became `parts` events. Its claim is released: the parts may fare
   * differently, and rather than remember half a state, none is remembered.
   */
  split(event: Accountable, parts: number): void {
    this.#ledger.acceptMore(event.seq, parts - 1);
    this.#notDurable?.acceptMore(event.seq, parts - 1);
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
    this.#settleHeld(event);
    if (event.change && outcome !== 'unchanged') this.#claimSettled?.(event.change, false);
  }

  /** Settles events that were in a request. */
  settleRequest(events: readonly Accountable[], result: Exclude<Outcome, 'skipped' | 'unchanged'>): void {
    this.#counters.inFlight -= events.length;
    this.#count(result, events.length);
    for (const event of events) {
      this.#settleHeld(event);
      if (event.change) this.#claimSettled?.(event.change, result === 'delivered');
    }
  }

  /**
   * An event is in the outbox (as row `row`). Sent by this process itself, it stays held (now as
   * a claimed row); otherwise it leaves memory. Its change claim counts as delivered: the outbox
   * will deliver it, and holding it until then would send the same state again meanwhile.
   */
  persisted(event: Accountable, row: string, sentHere: boolean): void {
    this.#counters.persisted++;
    this.#notDurable?.settle(event.seq);
    event.row = row;
    if (event.change) this.#claimSettled?.(event.change, true);
    event.change = undefined;
    if (sentHere) this.#counters.claimed++;
    else this.#ledger.settle(event.seq);
  }

  /** Rows taken from the outbox to send: held, each under a number of its own. */
  claimed(): number {
    this.#counters.claimed++;
    return this.#ledger.accept();
  }

  /** Rows taken from the outbox and dropped there without being held (expired, outbox_full, integration removed). */
  droppedFromOutbox(count: number, outcome: 'skipped' | 'invalid_settings' | 'expired' | 'outbox_full'): void {
    this.#counters.claimed += count;
    this.#count(outcome, count);
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

  /** A row was durable already; any other event also stops holding up `whenDurable()`. */
  #settleHeld(event: Accountable): void {
    this.#ledger.settle(event.seq);
    if (event.row === undefined) this.#notDurable?.settle(event.seq);
  }

  #count(outcome: Outcome, count: number): void {
    if (outcome === 'delivered') this.#counters.delivered += count;
    else if (outcome === 'skipped') this.#counters.skipped += count;
    else if (outcome === 'unchanged') this.#counters.unchanged += count;
    else if (outcome === 'parked') this.#counters.parked += count;
    else this.#counters.dropped[outcome] += count;
  }
}
