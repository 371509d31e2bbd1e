import { clearPendingTimeout, keepAliveUntil, pendingTimeout } from '../src/timers';

describe('keep-alive: pending timers hold the process only while someone awaits', () => {
  test("a pending timer is unref'd while nobody waits, ref'd while a wait is pending, unref'd again after it", async () => {
    const before = pendingTimeout(() => undefined, 60_000);
    expect(before.hasRef()).toBe(false);

    let finish: () => void = () => undefined;
    const first = keepAliveUntil(new Promise<void>((resolve) => (finish = resolve)));
    const second = keepAliveUntil(Promise.resolve());
    const during = pendingTimeout(() => undefined, 60_000);
    expect([before.hasRef(), during.hasRef()]).toEqual([true, true]);

    // One wait ended, one is still pending: still held.
    await second;
    expect([before.hasRef(), during.hasRef()]).toEqual([true, true]);

    finish();
    await first;
    expect([before.hasRef(), during.hasRef()]).toEqual([false, false]);
    clearPendingTimeout(before);
    clearPendingTimeout(during);
  });

  test('a timer that fired or was cleared is no longer held by a later wait', async () => {
    let fired = false;
    const timer = pendingTimeout(() => (fired = true), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired).toBe(true);
    const cleared = pendingTimeout(() => undefined, 60_000);
    clearPendingTimeout(cleared);

    let finish: () => void = () => undefined;
    const wait = keepAliveUntil(new Promise<void>((resolve) => (finish = resolve)));
    expect([timer.hasRef(), cleared.hasRef()]).toEqual([false, false]);
    finish();
    await wait;
  });
});
