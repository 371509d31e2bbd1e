/**
 * Group commit into the durable outbox: events serialized off the hook wait here a few
 * milliseconds, then go to the table in one statement, at most two commits at a time. While the
 * commits are in flight the next group gathers, so the statement count falls as the load rises;
 * two let the database work on one group while the other's commit waits on its disk.
 */
import type { PostgresOutbox } from '../outbox/postgres-outbox';
import type { OutboxEntry } from '../outbox/statements';
import { monotonicMs } from '../timers';
import type { ValidatedSettings } from '../types';
import type { QueuedEvent } from './event-record';

/** How groups are cut: whichever comes first. */
export const GROUP_COMMIT = {
  /** Longest an event waits for its group. */
  delayMs: 5,
  /** Events in one statement. */
  maxEvents: 1_000,
  /** Event bytes in one statement. */
  maxBytes: 4_000_000,
  /** Statements in flight at once... */
  maxCommitsInFlight: 2,
  /** ...the second only for a group this large: below it, waiting for the first costs less than another statement. */
  secondCommitEvents: 250,
  /** After a failed commit, events take the memory path this long, doubling per failure... */
  retryAfterMs: 1_000,
  /** ...up to this. */
  maxRetryAfterMs: 30_000,
} as const;

/**
 * One event to write, and the settings it was routed with (in memory only: rows hold no
 * settings). Not its destination: an idle destination is forgotten while its events wait here,
 * and the commit must find the one registered then.
 */
export interface WriteItem {
  event: QueuedEvent;
  settings: ValidatedSettings;
}

export interface WriterHandlers {
  /**
   * True when this process should send the row itself, claimed at once; `already` rows of this
   * group go to the same destination, `alreadyInGroup` to any.
   */
  sendsHere(settings: ValidatedSettings, already: number, alreadyInGroup: number): boolean;
  /** The group is in the outbox: `ids[i]` is item i's row, `sentHere[i]` whether this process claimed it. */
  committed(items: WriteItem[], ids: string[], sentHere: boolean[]): void;
  /** The group could not be written. */
  failed(items: WriteItem[], error: unknown): void;
}

export class OutboxWriter {
  #group: WriteItem[] = [];
  #groupBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #commitsInFlight = 0;
  /** Failed commits in a row, and until when (monotonic) events take the memory path. */
  #failures = 0;
  #unavailableUntil = 0;

  readonly #outbox: PostgresOutbox;
  readonly #owner: string;
  readonly #handlers: WriterHandlers;

  constructor(outbox: PostgresOutbox, owner: string, handlers: WriterHandlers) {
    this.#outbox = outbox;
    this.#owner = owner;
    this.#handlers = handlers;
  }

  /** False for a while after a failed commit: events then take the memory path, and writing is tried again after it. */
  isAvailable(): boolean {
    return this.#failures === 0 || monotonicMs() >= this.#unavailableUntil;
  }

  write(event: QueuedEvent, settings: ValidatedSettings): void {
    this.#group.push({ event, settings });
    this.#groupBytes += event.json.length;
    const full = this.#group.length >= GROUP_COMMIT.maxEvents || this.#groupBytes >= GROUP_COMMIT.maxBytes;
    if (full || (this.#commitsInFlight > 0 && this.#group.length === GROUP_COMMIT.secondCommitEvents)) this.commitNow();
    else this.#timer ??= setTimeout(() => this.commitNow(), GROUP_COMMIT.delayMs);
  }

  /** Closing gave up: what is gathered and not yet in a statement is handed back, not written. */
  abandon(): WriteItem[] {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#takeAll();
  }

  /** Commits the gathered group without waiting out the delay (flush, close). */
  commitNow(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#mayStartCommit()) return;
    this.#commitsInFlight++;
    void this.#commit().finally(() => {
      this.#commitsInFlight--;
      if (this.#group.length > 0) this.commitNow();
    });
  }

  async #commit(): Promise<void> {
    const items = this.#takeGroup();
    const sentHere = this.#chooseSentHere(items);
    const entries: OutboxEntry[] = items.map(({ event }, i) => ({
      environmentKey: event.environmentKey,
      json: event.json,
      acceptedAtMs: Date.now() - (monotonicMs() - event.acceptedAt),
      mine: sentHere[i]!,
    }));
    let ids: string[];
    try {
      ids = await this.#outbox.insert(entries, this.#owner);
    } catch (error) {
      this.#failures++;
      this.#unavailableUntil = monotonicMs() + Math.min(GROUP_COMMIT.maxRetryAfterMs, GROUP_COMMIT.retryAfterMs * 2 ** (this.#failures - 1));
      // What gathered meanwhile goes too: it would wait a statement timeout per group otherwise.
      this.#handlers.failed([...items, ...this.#takeAll()], error);
      return;
    }
    this.#failures = 0;
    this.#handlers.committed(items, ids, sentHere);
  }

  #takeAll(): WriteItem[] {
    this.#groupBytes = 0;
    return this.#group.splice(0);
  }

  #mayStartCommit(): boolean {
    if (this.#group.length === 0) return false;
    if (this.#commitsInFlight === 0) return true;
    return this.#commitsInFlight < GROUP_COMMIT.maxCommitsInFlight && this.#group.length >= GROUP_COMMIT.secondCommitEvents;
  }

  /** The oldest gathered events, up to a group's limits (more may have gathered while a commit ran). */
  #takeGroup(): WriteItem[] {
    let count = 0;
    let bytes = 0;
    while (
      count < this.#group.length &&
      count < GROUP_COMMIT.maxEvents &&
      (count === 0 || bytes + this.#group[count]!.event.json.length <= GROUP_COMMIT.maxBytes)
    ) {
      bytes += this.#group[count]!.event.json.length;
      count++;
    }
    this.#groupBytes -= bytes;
    return this.#group.splice(0, count);
  }

  #chooseSentHere(items: WriteItem[]): boolean[] {
    const counts = new Map<ValidatedSettings, number>();
    let inGroup = 0;
    return items.map(({ settings }) => {
      const already = counts.get(settings) ?? 0;
      const here = this.#handlers.sendsHere(settings, already, inGroup);
      if (here) {
        counts.set(settings, already + 1);
        inGroup++;
      }
      return here;
    });
  }
}
