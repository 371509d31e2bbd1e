/**
 * Timers are unref'd so a host with nothing else to do can exit; this makes that exit deliver
 * first. When the event loop empties, each live integration sends what it holds and keeps the
 * process alive (retry waits included, see timers.ts) until it settles or a deadline passes;
 * then the process exits. One listener serves every integration.
 */
type FlushHeld = () => void;

const live = new Set<FlushHeld>();

function onBeforeExit(): void {
  for (const flushHeld of live) flushHeld();
}

export function flushBeforeExit(flushHeld: FlushHeld): void {
  if (live.size === 0) process.on('beforeExit', onBeforeExit);
  live.add(flushHeld);
}

export function stopFlushingBeforeExit(flushHeld: FlushHeld): void {
  live.delete(flushHeld);
  if (live.size === 0) process.off('beforeExit', onBeforeExit);
}
