/**
 * Memory during an outage: the data plane is down (connection refused on a closed loopback port)
 * while the hook keeps being called. Measures RSS and heap growth over N hook calls fed in bursts,
 * for one maxQueueSize. Not a test: run it and read the figures.
 *
 *   npx ts-node --transpile-only bench/outage-memory.ts [maxQueueSize] [calls]
 *   node --expose-gc -r ts-node/register/transpile-only bench/outage-memory.ts 100000 1000000
 *
 * One configuration per process, so figures do not mix. Default options otherwise (retries with
 * their default backoff, so events sit in retries and in the queue as they would in production).
 */
import * as net from 'node:net';
import { RudderStackIntegration } from '../src/integration';
import type { IdentityFetchContext } from '../src/types';

const maxQueueSize = Number(process.argv[2] ?? 10_000);
const calls = Number(process.argv[3] ?? 1_000_000);
const BURST = 1_000;
const MB = 1024 * 1024;

async function closedLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function memory(): { rss: number; heap: number } {
  const usage = process.memoryUsage();
  return { rss: usage.rss / MB, heap: usage.heapUsed / MB };
}

function context(i: number): IdentityFetchContext {
  return {
    environmentKey: 'env-down',
    identity: { identifier: `user-${i}` },
    flags: [
      { feature: { name: 'checkout_v2' }, enabled: true, feature_state_value: 'blue' },
      { feature: { name: 'dark_mode' }, enabled: false, feature_state_value: null },
      { feature: { name: 'banner_text' }, enabled: true, feature_state_value: 'Welcome back, dear customer' },
      { feature: { name: 'max_items' }, enabled: true, feature_state_value: 25 },
    ],
  };
}

async function main(): Promise<void> {
  const port = await closedLoopbackPort();
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const integration = new RudderStackIntegration({
    config: { 'env-down': { api_key: 'bench-key', base_url: `http://127.0.0.1:${port}` } },
    allowPrivateNetworks: true,
    maxQueueSize,
    logger: quiet,
  });
  // Warm up (settings cached, code paths compiled) before the baseline.
  for (let i = 0; i < 1_000; i++) integration.postIdentityFetch(context(i));
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc();
  const baseline = memory();
  let peak = baseline;
  let peakHeld = 0;
  const started = Date.now();
  for (let done = 0; done < calls; done += BURST) {
    for (let i = 0; i < BURST; i++) integration.postIdentityFetch(context(done + i));
    await new Promise((resolve) => setImmediate(resolve));
    if ((done / BURST) % 50 === 0) {
      const now = memory();
      if (now.rss > peak.rss) peak = { rss: now.rss, heap: Math.max(now.heap, peak.heap) };
      const { queued, inFlight } = integration.stats();
      peakHeld = Math.max(peakHeld, queued + inFlight);
    }
  }
  const elapsed = Date.now() - started;
  gc();
  const end = memory();
  const stats = integration.stats();
  await integration.close({ timeoutMs: 100 });
  const row = {
    maxQueueSize,
    calls,
    seconds: +(elapsed / 1000).toFixed(1),
    rssBaselineMB: +baseline.rss.toFixed(1),
    rssPeakMB: +peak.rss.toFixed(1),
    rssEndMB: +end.rss.toFixed(1),
    rssGrowthPeakMB: +(peak.rss - baseline.rss).toFixed(1),
    heapBaselineMB: +baseline.heap.toFixed(1),
    heapEndMB: +end.heap.toFixed(1),
    heapGrowthEndMB: +(end.heap - baseline.heap).toFixed(1),
    peakHeldEvents: peakHeld,
    heldAtEnd: stats.queued + stats.inFlight,
    dropped: Object.fromEntries(Object.entries(stats.dropped).filter(([, count]) => count > 0)),
    retried: stats.retried,
  };
  console.log(JSON.stringify(row));
}

void main();
