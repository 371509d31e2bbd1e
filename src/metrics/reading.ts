/** What both metrics adapters read from an integration, the same way. */
import { healthOf, type DestinationHealth } from '../delivery/destination-health';
import type { RudderStackIntegration } from '../integration';
import type { MetricsReading } from './definitions';

/** The integration's delivery health; a TypeError for anything that is not a RudderStackIntegration of this package. */
export function healthFor(integration: RudderStackIntegration, adapter: string): DestinationHealth {
  const health = healthOf(integration);
  if (!health) throw new TypeError(`${adapter} needs a RudderStackIntegration of flagsmith-rudderstack, made with new RudderStackIntegration(...)`);
  return health;
}

/** One read of everything counters and gauges show. */
export async function readMetrics(integration: RudderStackIntegration, health: DestinationHealth): Promise<MetricsReading> {
  const stats = integration.stats();
  const destinations = integration.destinations();
  const requests = health.requests();
  // A status that cannot be read (the database is down) leaves the outbox series out of this
  // collection rather than failing every metric with it.
  const outbox = await integration.outboxStatus().catch(() => undefined);
  return { stats, destinations, requests, outbox };
}
