import type { ReceivedBatch, ReceivedEvent } from '../testing/local-data-plane';

/** A received batch as a person reads it: one header line, then each event and its traits. */
export function describeBatch(batch: ReceivedBatch): string {
  const size = batch.bytes < 1_000 ? `${batch.bytes} B` : `${(batch.bytes / 1_000).toFixed(1)} kB`;
  const header = `${batch.receivedAt.toISOString()}  POST ${batch.path}  ${batch.events.length} event(s), ${size}${batch.gzip ? ', gzip' : ''}`;
  return [header, ...batch.events.map(describeEvent)].join('\n');
}

function describeEvent(event: ReceivedEvent): string {
  const who = event.userId !== undefined ? `userId ${JSON.stringify(event.userId)}` : `anonymousId ${JSON.stringify(event.anonymousId)}`;
  const traits = typeof event.traits === 'object' && event.traits !== null ? Object.entries(event.traits) : [];
  const width = Math.max(0, ...traits.map(([name]) => name.length));
  return [`  ${String(event.type)}  ${who}`, ...traits.map(([name, value]) => `      ${name.padEnd(width)}  ${JSON.stringify(value)}`)].join('\n');
}
