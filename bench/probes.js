// Hostile-production probes (maxQueueSize under splits, the flush timer with every slot busy,
// a data plane that refuses everything), against a build: node bench/probes.js [repo dir, default .]
const dir = require('node:path').resolve(process.argv[2] ?? '.');
const { RudderStackIntegration } = require(dir + '/dist');
const { startLocalDataPlane } = require(dir + '/dist/testing');
const net = require('node:net');
const { createHook } = require('node:async_hooks');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function refusedUrl() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}
async function item1() {
  const integration = new RudderStackIntegration({
    config: { e: { api_key: 'wk', base_url: await refusedUrl() } },
    allowPrivateNetworks: true,
    maxQueueSize: 1000,
    retryBaseDelayMs: 1000,
    retryMaxDelayMs: 1000,
    logger: quiet,
  });
  const flags = Array.from({ length: 40 }, (_, i) => ({
    feature: { name: `remote_config_${i}` },
    enabled: true,
    feature_state_value: String(i).padEnd(2000, 'x'),
  }));
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let most = 0;
  for (let i = 0; i < 6000; i++) {
    integration.postIdentityFetch({ environmentKey: 'e', identity: { identifier: `user-${i}` }, flags: flags.map((f) => ({ ...f })) });
    if (i % 100 === 99) {
      await tick();
      const s = integration.stats();
      most = Math.max(most, s.queued + s.inFlight);
    }
  }
  await tick();
  global.gc?.();
  const rss = process.memoryUsage().rss;
  const s = integration.stats();
  console.log(
    `item 1: 6000 calls, 40 flags x 2 KB, maxQueueSize 1000, refused data plane: most held ${most}, held at end ${s.queued + s.inFlight}, splitEvents ${s.splitEvents}, queue_full ${s.dropped.queue_full}, RSS growth ${((rss - rss0) / 1e6).toFixed(0)} MB`,
  );
  await integration.close({ timeoutMs: 100 });
}
async function item7() {
  const dp = await startLocalDataPlane({});
  dp.fail([{ action: 'hang' }, { action: 'hang' }]);
  const integration = new RudderStackIntegration({
    config: { e: { api_key: 'wk', base_url: dp.url } },
    allowPrivateNetworks: true,
    flushAt: 1,
    flushIntervalMs: 0,
    maxConcurrentRequests: 2,
    requestTimeoutMs: 30_000,
    logger: quiet,
  });
  for (let i = 0; i < 3; i++) integration.postIdentityFetch({ environmentKey: 'e', identity: { identifier: `u${i}` }, flags: [] });
  await sleep(200);
  let timeouts = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'Timeout') timeouts++;
    },
  }).enable();
  const cpu0 = process.cpuUsage();
  await sleep(2000);
  const cpu = process.cpuUsage(cpu0);
  hook.disable();
  console.log(
    `item 7: both slots hanging, 2 s: ${timeouts} timers made (${(timeouts / 2).toFixed(0)}/s, the test's own sleep included), CPU ${((cpu.user + cpu.system) / 20000).toFixed(1)} % of a core`,
  );
  await integration.close({ timeoutMs: 100 });
  await dp.close();
}
async function item8() {
  for (const status of [400, 403, 413]) {
    const dp = await startLocalDataPlane({});
    dp.fail(Array.from({ length: 3000 }, () => ({ status })));
    const integration = new RudderStackIntegration({
      config: { e: { api_key: 'wk', base_url: dp.url } },
      allowPrivateNetworks: true,
      flushAt: 1000,
      flushIntervalMs: 60000,
      maxConcurrentRequests: 1,
      pauseMs: 60000,
      logger: quiet,
    });
    for (let i = 0; i < 1000; i++) integration.postIdentityFetch({ environmentKey: 'e', identity: { identifier: `u${i}` }, flags: [] });
    await integration.flush();
    console.log(`item 8: HTTP ${status} to everything, a batch of 1000: ${dp.requests.length} requests, rejected ${integration.stats().dropped.rejected}`);
    await integration.close({ timeoutMs: 100 });
    await dp.close();
  }
}
(async () => {
  await item1();
  await item7();
  await item8();
  process.exit(0);
})();
