import { MemoryChangeStore } from '../../src/change-detection/memory-change-store';
import type { ChangeClaim } from '../../src/types';

let tokens = 0;
function claim(key: string, hash: string): ChangeClaim {
  return { key, hash, token: String(++tokens) };
}

/** Claims and delivers: the state is then remembered as sent. */
function send(store: MemoryChangeStore, key: string, hash: string): void {
  const made = claim(key, hash);
  expect(store.claim(made)).toBe('changed');
  store.confirm(made);
}

function manualClock(): { now(): number; advance(ms: number): void } {
  let now = 1_000;
  return { now: () => now, advance: (ms) => (now += ms) };
}

describe('MemoryChangeStore', () => {
  it('skips a delivered state, and sends a different one', () => {
    const store = new MemoryChangeStore({ maxEntries: 10, ttlMs: 60_000 });
    send(store, 'u1', 'h1');
    expect(store.claim(claim('u1', 'h1'))).toBe('unchanged');
    expect(store.claim(claim('u1', 'h2'))).toBe('changed');
    expect(store.claim(claim('u2', 'h1'))).toBe('changed');
  });

  it('skips a state being sent; forgets it when its delivery fails', () => {
    const store = new MemoryChangeStore({ maxEntries: 10, ttlMs: 60_000 });
    const first = claim('u1', 'h1');
    expect(store.claim(first)).toBe('changed');
    expect(store.claim(claim('u1', 'h1'))).toBe('unchanged');
    store.release(first);
    expect(store.claim(claim('u1', 'h1'))).toBe('changed');
  });

  it('lets only the newest claim decide: an older delivery neither overwrites nor releases it', () => {
    const store = new MemoryChangeStore({ maxEntries: 10, ttlMs: 60_000 });
    const older = claim('u1', 'h1');
    const newer = claim('u1', 'h2');
    store.claim(older);
    store.claim(newer);
    store.confirm(older);
    store.release(older);
    expect(store.claim(claim('u1', 'h2'))).toBe('unchanged'); // still being sent
    store.confirm(newer);
    expect(store.claim(claim('u1', 'h2'))).toBe('unchanged');
    expect(store.claim(claim('u1', 'h1'))).toBe('changed');
  });

  it('holds at most maxEntries identities, forgetting the least recently seen', () => {
    const store = new MemoryChangeStore({ maxEntries: 2, ttlMs: 60_000 });
    send(store, 'u1', 'h');
    send(store, 'u2', 'h');
    expect(store.claim(claim('u1', 'h'))).toBe('unchanged'); // u1 is now the most recently seen
    send(store, 'u3', 'h'); // evicts u2
    expect(store.size).toBe(2);
    expect(store.claim(claim('u1', 'h'))).toBe('unchanged');
    expect(store.claim(claim('u2', 'h'))).toBe('changed');
  });

  it('forgets a delivered state ttlMs after its delivery, however often it is seen meanwhile', () => {
    const clock = manualClock();
    const store = new MemoryChangeStore({ maxEntries: 10, ttlMs: 1_000, clock });
    send(store, 'u1', 'h1');
    clock.advance(600);
    expect(store.claim(claim('u1', 'h1'))).toBe('unchanged');
    clock.advance(399);
    expect(store.claim(claim('u1', 'h1'))).toBe('unchanged');
    clock.advance(2);
    expect(store.claim(claim('u1', 'h1'))).toBe('changed');
  });

  it('remembers a state delivered after its claim was forgotten', () => {
    const clock = manualClock();
    const store = new MemoryChangeStore({ maxEntries: 10, ttlMs: 1_000, clock });
    const slow = claim('u1', 'h1');
    store.claim(slow);
    clock.advance(1_500); // the claim expired while its delivery was retried
    store.confirm(slow);
    expect(store.claim(claim('u1', 'h1'))).toBe('unchanged');
  });
});
