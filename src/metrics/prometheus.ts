/**
 * `flagsmith-rudderstack/prometheus`: the integration's metrics in a prom-client registry (an
 * optional peer dependency: `npm install prom-client`).
 * @module flagsmith-rudderstack/prometheus
 */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { requireOptionalPeer } from '../host/flagsmith-nodejs';
import type { RudderStackIntegration } from '../integration';
import { DEFAULT_PREFIX, healthFor, METRICS, readMetrics, type HistogramMetric, type MetricsReading, type Observation, type ReadMetric } from './definitions';

type PromClient = typeof import('prom-client');

/** Options of `collectPrometheusMetrics`. */
export interface PrometheusMetricsOptions {
  /** Where the metrics are registered (default: prom-client's default registry, `register`). */
  registry?: Registry;
  /** Put before every metric name (default `'flagsmith_rudderstack_'`). */
  prefix?: string;
}

/** What `collectPrometheusMetrics` returns. */
export interface PrometheusMetrics {
  /** The registry the metrics are in: serve `await registry.metrics()` on `/metrics`. */
  readonly registry: Registry;
  /** Removes the metrics from the registry and stops observing the integration. */
  stop(): void;
}

/**
 * Registers the integration's metrics (README "Monitoring" lists them) in a prom-client registry.
 * Counters and gauges are read from the integration when the registry is scraped, once per
 * scrape; the histograms are observed per request. The hook does no more work for it.
 * Throws when prom-client is not installed, or when the registry has these metrics already.
 */
export function collectPrometheusMetrics(integration: RudderStackIntegration, options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const prom = requireOptionalPeer<PromClient>('prom-client');
  const health = healthFor(integration, 'collectPrometheusMetrics');
  const registry = options.registry ?? prom.register;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const names = METRICS.map((definition) => prefix + definition.name);
  const taken = names.find((name) => registry.getSingleMetric(name) !== undefined);
  if (taken !== undefined) {
    throw new Error(`${taken} is registered already: stop() the earlier collectPrometheusMetrics(), or pass another registry or prefix`);
  }
  const read = oneReadPerScrape(() => readMetrics(integration, health));
  const histograms: Array<[HistogramMetric, Histogram]> = [];
  for (const definition of METRICS) {
    const configuration = { name: prefix + definition.name, help: definition.help, labelNames: [...definition.labelNames], registers: [registry] };
    if (definition.type === 'histogram') {
      histograms.push([definition, new prom.Histogram({ ...configuration, buckets: [...definition.buckets] })]);
    } else if (definition.type === 'counter') {
      new prom.Counter({ ...configuration, collect: collector<Counter>(definition, read, (counter, { labels, value }) => counter.inc(labels, value)) });
    } else {
      new prom.Gauge({ ...configuration, collect: collector<Gauge>(definition, read, (gauge, { labels, value }) => gauge.set(labels, value)) });
    }
  }
  const stopObserving = health.onRequest((sample) => {
    for (const [definition, histogram] of histograms) histogram.observe(definition.valueOf(sample));
  });
  return {
    registry,
    stop() {
      stopObserving();
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}

/** A metric's collect: its values now, replacing the last scrape's (so that a label gone is gone). */
function collector<M extends Counter | Gauge>(
  definition: ReadMetric,
  read: () => Promise<MetricsReading>,
  record: (metric: M, observation: Observation) => void,
): (this: M) => Promise<void> {
  return async function (this: M) {
    const observations = definition.read(await read());
    this.reset();
    for (const observation of observations) record(this, observation);
  };
}

/**
 * prom-client starts every metric's collect in the same turn of a scrape: they share one read of
 * the integration (one outbox query, not one per metric), and the next scrape reads anew.
 */
function oneReadPerScrape(read: () => Promise<MetricsReading>): () => Promise<MetricsReading> {
  let current: Promise<MetricsReading> | undefined;
  return () => {
    if (!current) {
      const reading = read();
      const forget = (): void => {
        current = undefined;
      };
      reading.then(forget, forget);
      current = reading;
    }
    return current;
  };
}
