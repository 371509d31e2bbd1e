'use strict';
/**
 * A resolver for which every host name is unknown: it fails as getaddrinfo does (ENOTFOUND, the
 * name in the message) without sending a DNS query, so tests never leave loopback.
 *
 * In a child process: NODE_OPTIONS="--require <this file>" with UNRESOLVABLE_DNS=1 replaces
 * dns.lookup. In a test: set dns.lookup to `unresolvableLookup` and put it back after.
 */
const dns = require('node:dns');

function unresolvableLookup(hostname, options, callback) {
  const done = typeof options === 'function' ? options : callback;
  const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: 'ENOTFOUND',
    errno: -3008,
    syscall: 'getaddrinfo',
    hostname,
  });
  process.nextTick(done, error);
}

module.exports = { unresolvableLookup };
if (process.env.UNRESOLVABLE_DNS === '1') dns.lookup = unresolvableLookup;
