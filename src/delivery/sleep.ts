/**
 * Waits `ms`, or less if `signal` aborts. The timer is unref'd: a retry waiting here does not keep
 * a host alive that has nothing else to do (hosts call `close()` to deliver before exiting).
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done);
  });
}
