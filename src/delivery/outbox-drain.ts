/**
 * Draining the durable outbox: every replica claims due rows, environment by environment, as its
 * destinations have room; keeps the lease on rows it holds; deletes or hands back rows as their
 * requests end; and keeps the table inside its age and size limits.
 */
import type { ClaimedRow, PostgresOutbox } from '../outbox/postgres-outbox';
import type { Destination } from './destination';

/** How the drain paces itself. */
export const DRAIN = {
  /** How often a replica looks for rows it did not write itself (other replicas', a dead one's, a previous run's). */
  pollIntervalMs: 1_000,
  /** Rows one claim takes. */
  claimRows: 1_000,
  /** Rows one maintenance statement deletes: large deletes in one go would hold locks and bloat the table at once. */
  deleteRows: 10_000,
  /** How often expired rows and rows beyond maxRows are dropped. */
  maintenanceIntervalMs: 60_000,
  /** Rows this process deletes or hands back between two vacuums of the table. */
  vacuumAfterRows: 50_000,
} as const;

/** Where an environment's rows go now. */
export type DrainRoute =
  /** To this destination, which has room for `room` rows. */
  | { kind: 'send'; destination: Destination; room: number }
  /** Not now (paused, backing off, full, or the settings lookup failed): in about `waitMs`. */
  | { kind: 'wait'; waitMs: number }
  /** Never: the integration is gone (`skipped`) or its settings are unusable (`invalid_settings`). */
  | { kind: 'drop'; outcome: 'skipped' | 'invalid_settings' };

export interface DrainHandlers {
  route(environmentKey: string): Promise<DrainRoute>;
  /** Claimed rows, to queue for sending. */
  accept(destination: Destination, environmentKey: string, rows: ClaimedRow[]): void;
  /** Rows deleted without sending. */
  dropped(count: number, outcome: 'skipped' | 'invalid_settings' | 'expired' | 'outbox_full', environmentKey?: string): void;
  /** An outbox statement failed. */
  failed(doing: string, error: unknown): void;
}

export class OutboxDrain {
  /** Rows this process holds (queued or in a request): their lease is renewed until they settle. */
  readonly #held = new Set<string>();
  /** Outbox statements not yet answered: close waits for them. */
  readonly #inFlight = new Set<Promise<void>>();
  #cycle: Promise<void> | undefined;
  #again = false;
  /** The last look found due rows it could not take: a request that ends should look again. */
  #backlogged = false;
  #pollTimer: NodeJS.Timeout | undefined;
  readonly #renewTimer: NodeJS.Timeout;
  readonly #maintenanceTimer: NodeJS.Timeout;
  #stopped = false;
  /** Rows deleted or updated since this process last vacuumed the table, and the vacuum running now. */
  #churnedSinceVacuum = 0;
  #vacuuming = false;
  #maintaining = false;
  /** Looks made: where the next one starts. */
  #looks = 0;

  readonly #outbox: PostgresOutbox;
  readonly #owner: string;
  readonly #handlers: DrainHandlers;

  constructor(outbox: PostgresOutbox, owner: string, handlers: DrainHandlers) {
    this.#outbox = outbox;
    this.#owner = owner;
    this.#handlers = handlers;
    // Background work: none of these timers keeps a host's process alive.
    this.#renewTimer = setInterval(() => this.#renewLeases(), outbox.limits.leaseMs / 3).unref();
    this.#maintenanceTimer = setInterval(() => this.#maintainOnce(), DRAIN.maintenanceIntervalMs).unref();
    this.#maintainOnce();
    this.wake();
  }

  /** Looks for due rows now (one look at a time; a call during one makes another follow). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#cycle) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#pollTimer);
    this.#cycle = this.#look().finally(() => {
      this.#cycle = undefined;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
  }

  /** Rows this process holds now: queued, or in a request. */
  get heldCount(): number {
    return this.#held.size;
  }

  /** A request ended: if rows were left waiting for room, look again. */
  roomMade(): void {
    if (this.#backlogged) this.wake();
  }

  /** Rows were left in the table for want of room: the next request to end looks for them. */
  roomWanted(): void {
    this.#backlogged = true;
  }

  /** Rows this process now holds (claimed at insert). */
  hold(ids: readonly string[]): void {
    for (const id of ids) this.#held.add(id);
  }

  /** Delivered or refused for good: deletes the rows. Never rejects. */
  remove(ids: readonly string[]): Promise<void> {
    return this.#settle(ids, 'deleting delivered outbox rows', async () => {
      await this.#outbox.remove(ids);
      this.#churned(ids.length);
    });
  }

  /** Hands rows back for any replica to send after `delayMs`. Never rejects. */
  release(ids: readonly string[], delayMs: number): Promise<void> {
    return this.#settle(ids, 'handing rows back to the outbox', async () => {
      await this.#outbox.release(ids, this.#owner, delayMs);
      this.#churned(ids.length);
    });
  }

  /** Stops looking and renewing; resolves when every outbox statement started has been answered. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#pollTimer);
    clearInterval(this.#renewTimer);
    clearInterval(this.#maintenanceTimer);
    while (this.#inFlight.size > 0 || this.#cycle) await Promise.all([...this.#inFlight, this.#cycle]);
  }

  #settle(ids: readonly string[], doing: string, statement: () => Promise<void>): Promise<void> {
    for (const id of ids) this.#held.delete(id);
    return this.#track(statement().catch((error: unknown) => this.#handlers.failed(doing, error)));
  }

  #track(work: Promise<void>): Promise<void> {
    const tracked = work.catch((error: unknown) => this.#handlers.failed('draining the outbox', error));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
    return tracked;
  }

  /** One look: every environment with rows, claimed as its destination has room; then sleeps until the next is due. */
  async #look(): Promise<void> {
    let nextLookMs: number = DRAIN.pollIntervalMs;
    this.#backlogged = false;
    try {
      for (const { environmentKey, dueInMs } of this.#rotated(await this.#outbox.dueEnvironments())) {
        if (this.#stopped) return;
        if (dueInMs > 0) {
          nextLookMs = Math.min(nextLookMs, dueInMs);
          continue;
        }
        const waitMs = await this.#drainEnvironment(environmentKey);
        if (waitMs !== undefined) nextLookMs = Math.min(nextLookMs, waitMs);
      }
    } catch (error) {
      this.#handlers.failed('reading the outbox', error);
    }
    if (!this.#stopped) this.#pollTimer = setTimeout(() => this.wake(), Math.max(1, nextLookMs)).unref();
  }

  /** Each look starts one environment further on: the first ones' claims would otherwise take the room every time. */
  #rotated<T>(environments: T[]): T[] {
    if (environments.length < 2) return environments;
    const start = this.#looks++ % environments.length;
    return [...environments.slice(start), ...environments.slice(0, start)];
  }

  /** Claims, drops or leaves an environment's due rows; returns when to look at it again, if sooner than the poll. */
  async #drainEnvironment(environmentKey: string): Promise<number | undefined> {
    const route = await this.#handlers.route(environmentKey);
    // A wait has an end: the next look is timed for it.
    if (route.kind === 'wait') return route.waitMs;
    if (route.kind === 'drop') {
      for (let deleted: number = DRAIN.deleteRows; deleted === DRAIN.deleteRows;) {
        deleted = await this.#outbox.removeEnvironment(environmentKey, DRAIN.deleteRows);
        if (deleted > 0) this.#handlers.dropped(deleted, route.outcome, environmentKey);
        this.#churned(deleted);
      }
      return undefined;
    }
    const limit = Math.min(route.room, DRAIN.claimRows);
    if (limit <= 0) {
      this.#backlogged = true;
      return undefined;
    }
    // A row this process still holds comes back only if its lease lapsed (a renewal ran late): it is already being sent.
    const rows = (await this.#outbox.claim(environmentKey, this.#owner, limit)).filter((row) => !this.#held.has(row.id));
    if (rows.length === 0) return undefined;
    for (const row of rows) this.#held.add(row.id);
    // A full claim: more are due; the requests it starts will make room for them.
    if (rows.length === limit) this.#backlogged = true;
    this.#handlers.accept(route.destination, environmentKey, rows);
    return undefined;
  }

  #renewLeases(): void {
    if (this.#held.size === 0) return;
    const ids = [...this.#held];
    void this.#track(this.#outbox.renew(ids, this.#owner).catch((error: unknown) => this.#handlers.failed('renewing the lease on outbox rows', error)));
  }

  /** One maintenance run at a time: a long one is not overtaken by the next. */
  #maintainOnce(): void {
    if (this.#maintaining) return;
    this.#maintaining = true;
    void this.#track(this.#maintain().finally(() => (this.#maintaining = false)));
  }

  /** Drops what is past `maxAgeMs`, then the oldest beyond `maxRows`, a batch at a time. */
  async #maintain(): Promise<void> {
    for (const [outcome, drop] of [
      ['expired', (limit: number) => this.#outbox.expire(limit)],
      ['outbox_full', (limit: number) => this.#outbox.trim(limit)],
    ] as const) {
      for (let deleted: number = DRAIN.deleteRows; deleted === DRAIN.deleteRows && !this.#stopped;) {
        deleted = await drop(DRAIN.deleteRows);
        if (deleted > 0) this.#handlers.dropped(deleted, outcome);
        this.#churned(deleted);
      }
    }
  }

  /** Counts rows deleted or handed back (each leaves a dead row version); past `vacuumAfterRows`, vacuums the table (one vacuum at a time). */
  #churned(count: number): void {
    this.#churnedSinceVacuum += count;
    if (this.#churnedSinceVacuum < DRAIN.vacuumAfterRows || this.#vacuuming || this.#stopped) return;
    this.#churnedSinceVacuum = 0;
    this.#vacuuming = true;
    void this.#track(this.#outbox.vacuum().finally(() => (this.#vacuuming = false)));
  }
}
