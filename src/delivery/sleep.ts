import { clearPendingTimeout, pendingTimeout } from '../keep-alive';

/**
 * Waits `ms`, or less if `signal` aborts. The wait holds the process only while someone awaits
 * delivery (see keep-alive.ts): a retry alone does not keep an idle host alive.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearPendingTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = pendingTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
