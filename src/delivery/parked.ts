import type { AcceptedIdentify } from './event-record';

/**
 * Events waiting for their environment's settings, by environment, oldest first. While an
 * environment has an entry (even an emptied one) its later events queue behind it, so that they
 * keep their order; the entry goes when the lookup answers.
 */
export class ParkedEvents {
  readonly #byEnvironment = new Map<string, AcceptedIdentify[]>();

  has(environmentKey: string): boolean {
    return this.#byEnvironment.has(environmentKey);
  }

  /** Parks an event; true for the first of its environment, which must start the lookup. */
  park(event: AcceptedIdentify): boolean {
    const waiting = this.#byEnvironment.get(event.environmentKey);
    if (waiting) {
      waiting.push(event);
      return false;
    }
    this.#byEnvironment.set(event.environmentKey, [event]);
    return true;
  }

  /** Removes and returns an environment's events, in order. */
  take(environmentKey: string): AcceptedIdentify[] {
    const waiting = this.#byEnvironment.get(environmentKey) ?? [];
    this.#byEnvironment.delete(environmentKey);
    return waiting;
  }

  /** Removes and returns every parked event. */
  takeAll(): AcceptedIdentify[] {
    const all = [...this.#byEnvironment.values()].flat();
    this.#byEnvironment.clear();
    return all;
  }

  get count(): number {
    let count = 0;
    for (const waiting of this.#byEnvironment.values()) count += waiting.length;
    return count;
  }

  /** Each environment's oldest event, with what removes it (for eviction). */
  *oldest(): Generator<[AcceptedIdentify, () => void]> {
    for (const waiting of this.#byEnvironment.values()) if (waiting[0]) yield [waiting[0], () => waiting.shift()];
  }
}
