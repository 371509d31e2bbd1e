/**
 * Timers are unref'd so a host with nothing else to do can exit; this makes that exit deliver
 * first. When the event loop empties, each live integration sends what it holds and keeps the
 * process alive (retry waits included, see keep-alive.ts) until it settles or a deadline passes;
 * then the process exits. One listener serves every integration.
 */
interface FlushesOnExit {
  flushHeld(): void;
}

const live = new Set<FlushesOnExit>();

function onBeforeExit(): void {
  for (const integration of live) integration.flushHeld();
}

export function flushBeforeExit(integration: FlushesOnExit): void {
  if (live.size === 0) process.on('beforeExit', onBeforeExit);
  live.add(integration);
}

export function stopFlushingBeforeExit(integration: FlushesOnExit): void {
  live.delete(integration);
  if (live.size === 0) process.off('beforeExit', onBeforeExit);
}
