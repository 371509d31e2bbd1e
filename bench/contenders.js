'use strict';
/**
 * The contenders: each turns "identity i fetched these flags" into an identify event delivered
 * to the data plane. Every one exposes the same small surface to the feeder (bench/child.js):
 *
 *   call(i, flags)   the hook / identify() call that is timed (the host's per-request cost)
 *   acked()          events settled so far: acknowledged by the data plane (or failed)
 *   failed()         events the client itself reports as failed
 *   drain()          after the last call: make the client send what it still holds
 *   close()          release timers and sockets
 *
 * The SDKs get the traits from the package's exported `toTraits`, inside the timed call, so all
 * carry identical payloads and pay for the same mapping the plugin does (the plugin maps after its
 * hook returns, so for it the mapping is in the CPU per event, not in the call cost).
 *
 * The wire limit has no per-call API: it posts pre-serialized batches (see `wireLimit`).
 */
const http = require('node:http');
const { randomUUID } = require('node:crypto');
const plugin = require('../dist');
const { flagsFor, userIdOf } = require('./workload');

const CONTENDERS = {
  'plugin gzip': (ctx) => pluginContender(ctx, { ...ctx.pluginOptions }),
  'plugin no-gzip': (ctx) => pluginContender(ctx, { ...ctx.pluginOptions, gzip: false }),
  'plugin gzip + metrics': (ctx) => require('./metrics-hook').withCollectors(pluginContender(ctx, { ...ctx.pluginOptions })),
  'rudder-sdk-node': rudderContender,
  'segment-node': segmentContender,
  'wire limit': wireLimit,
};

/** This package, as a Flagsmith API would use it: one integration, its post-identity-fetch hook. */
function pluginContender({ url, writeKey, environmentKey }, extra) {
  const integration = new plugin.RudderStackIntegration({
    config: { [environmentKey]: { api_key: writeKey, base_url: url } },
    allowPrivateNetworks: true, // the data plane is on 127.0.0.1
    ...extra,
  });
  const settled = () => {
    const s = integration.stats();
    return { delivered: s.delivered, dropped: droppedTotal(s) };
  };
  return {
    kind: 'calls',
    call(i, flags) {
      integration.postIdentityFetch({ environmentKey, identity: { identifier: userIdOf(i) }, flags });
    },
    acked() {
      const s = settled();
      return s.delivered + s.dropped;
    },
    failed: () => settled().dropped,
    drain: () => integration.flush(),
    close: () => integration.close({ timeoutMs: 1_000 }),
    stats: () => integration.stats(),
    integration,
  };
}

/** Every event the integration dropped, whatever the reason. */
function droppedTotal(stats) {
  let dropped = 0;
  for (const reason in stats.dropped) dropped += stats.dropped[reason];
  return dropped;
}

/** Counts an SDK's per-event callbacks: every event answered, and those answered with an error. */
function callbackCounter() {
  const counter = {
    acked: 0,
    failed: 0,
    onDone: (error) => {
      counter.acked++;
      if (error) counter.failed++;
    },
  };
  return counter;
}

/** @rudderstack/rudder-sdk-node 3.x with its defaults; a per-event callback tells delivery. */
function rudderContender({ url, writeKey, n }) {
  return rudderCalls(rudderAnalytics({ url, writeKey }), n);
}

/** A rudder-sdk-node client with its defaults, at the bench data plane. */
function rudderAnalytics({ url, writeKey }) {
  const Analytics = require('@rudderstack/rudder-sdk-node');
  // dataPlaneUrl is the bare data plane URL: the SDK appends its default path '/v1/batch'.
  return new Analytics(writeKey, { dataPlaneUrl: url, logLevel: 'error' });
}

/** The feeder's surface over a rudder-sdk-node client that is to send `n` events. */
function rudderCalls(analytics, n) {
  const callbacks = callbackCounter();
  return {
    kind: 'calls',
    call(i, flags) {
      analytics.identify({ userId: userIdOf(i), traits: plugin.toTraits(flags) }, callbacks.onDone);
    },
    acked: () => callbacks.acked,
    failed: () => callbacks.failed,
    // Its flush() sends at most flushAt (20) events, so it is called until everything is back.
    async drain() {
      while (callbacks.acked < n) {
        await analytics.flush().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    },
    close: async () => undefined, // it has no close(); the runner's child exits
  };
}

/** @segment/analytics-node 3.x with its defaults, `host` at the data plane (it posts to host + '/v1/batch'). */
function segmentContender({ url, writeKey }) {
  const { Analytics } = require('@segment/analytics-node');
  const analytics = new Analytics({ writeKey, host: url });
  const callbacks = callbackCounter();
  return {
    kind: 'calls',
    call(i, flags) {
      analytics.identify({ userId: userIdOf(i), traits: plugin.toTraits(flags) }, callbacks.onDone);
    },
    acked: () => callbacks.acked,
    failed: () => callbacks.failed,
    drain: () => analytics.flush(),
    close: () => analytics.closeAndFlush({ timeout: 1_000 }),
  };
}

/**
 * The wire limit: the same identify events, serialized into batches of 100 before the clock
 * starts, posted one after another (one request, 100 events, outstanding) over one keep-alive
 * connection, uncompressed. Nothing a client could skip is left: what it measures is the data
 * plane plus HTTP on loopback.
 */
function wireLimit({ url, writeKey, seed, n }) {
  const BATCH = 100;
  const target = new URL('/v1/batch', url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = {
    'Content-Type': 'application/json',
    Authorization: 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64'),
  };
  const bodies = [];
  let acked = 0;
  let failed = 0;
  return {
    kind: 'batches',
    prepare() {
      const { name, version } = require('../package.json');
      const library = { name, version };
      for (let start = 0; start < n; start += BATCH) {
        const sentAt = new Date().toISOString();
        const batch = [];
        for (let i = start; i < Math.min(start + BATCH, n); i++) {
          const traits = plugin.toTraits(flagsFor(seed, i));
          batch.push({
            type: 'identify',
            userId: userIdOf(i),
            traits,
            context: { traits, library },
            channel: 'server',
            messageId: randomUUID(),
            originalTimestamp: sentAt,
            sentAt,
          });
        }
        bodies.push(Buffer.from(JSON.stringify({ batch, sentAt })));
      }
    },
    /** Posts every batch in turn; resolves when the last is answered. */
    async run() {
      for (let b = 0; b < bodies.length; b++) {
        const events = Math.min(BATCH, n - b * BATCH);
        const status = await post(target, agent, headers, bodies[b]);
        acked += events;
        if (status !== 200) failed += events;
      }
    },
    batches: () => bodies.length,
    acked: () => acked,
    failed: () => failed,
    close: async () => agent.destroy(),
  };
}

function post(target, agent, headers, body) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...headers, 'Content-Length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

module.exports = { CONTENDERS, pluginContender, droppedTotal, rudderAnalytics, rudderCalls };
