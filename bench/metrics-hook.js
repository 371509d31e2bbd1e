'use strict';
/**
 * The plugin with both metrics collectors attached (issue 17), as the contender
 * "plugin gzip + metrics": flagsmith-rudderstack/prometheus into a prom-client registry and
 * flagsmith-rudderstack/opentelemetry into an OpenTelemetry SDK meter, each collected every
 * SCRAPE_MS in the same process while the hook is timed. Far more often than Prometheus scrapes
 * (15 s to 1 min), so that the collections' cost, if any, shows in the hook's p50/p99 beside
 * "plugin gzip" (the same plugin without collectors).
 */
const { Registry } = require('prom-client');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
const { collectPrometheusMetrics } = require('../dist/metrics/prometheus');
const { collectOpenTelemetryMetrics } = require('../dist/metrics/opentelemetry');

const SCRAPE_MS = 100;

/** Collects only when told: the bench's timer does it. */
class OnDemandReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/** The contender, with collectors attached to its integration and scraped until it closes. */
function withCollectors(contender) {
  const registry = new Registry();
  const prometheus = collectPrometheusMetrics(contender.integration, { registry });
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  const openTelemetry = collectOpenTelemetryMetrics(contender.integration, { meter: provider.getMeter('bench') });
  const scrape = () => Promise.all([registry.metrics(), reader.collect()]);
  const timer = setInterval(scrape, SCRAPE_MS);
  return {
    ...contender,
    async close() {
      clearInterval(timer);
      // At least one collection, however short the run.
      await scrape();
      prometheus.stop();
      openTelemetry.stop();
      await provider.shutdown();
      await contender.close();
    },
  };
}

module.exports = { withCollectors };
