/**
 * Which hosts count as internal, and a DNS lookup that refuses them at connect time.
 *
 * Settings validation only sees the URL; a public-looking host name can still resolve to an
 * internal address (or be re-pointed there later), so delivery connects through
 * `createGuardedLookup()` unless private networks are allowed.
 */
import type * as dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
// node:dns and node:net are required where the guarded lookup uses them, not here: validateSettings
// imports this file, and importing the package should not load networking.

/** The only IPv6 block IANA allocates for global unicast; the rest is reserved or special. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * The special-purpose range an IP address belongs to (ipaddr.js names: 'loopback', 'private',
 * 'linkLocal', ...), or undefined when it is a public unicast address.
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it carries. IPv6 outside
 * 2000::/3 is 'reserved', which covers IPv4-compatible ::a.b.c.d (ipaddr.js calls it unicast).
 * A string that is not an IP address is 'not an IP address': callers fail closed.
 */
export function internalAddressRange(ip: string): string | undefined {
  const literal = withHexIPv4Tail(ip);
  if (!ipaddr.isValid(literal)) return 'not an IP address';
  const address = ipaddr.process(literal);
  const range = address.range();
  if (range !== 'unicast') return range;
  if (address.kind() === 'ipv6' && !address.match(GLOBAL_UNICAST_V6)) return 'reserved';
  return undefined;
}

/**
 * ipaddr.js reads a dotted tail such as "::10.0.0.1" (IPv4-compatible) as IPv4-mapped; WHATWG
 * URL's IPv6 parser is exact and writes the tail in hex ("::a00:1").
 */
function withHexIPv4Tail(ip: string): string {
  if (!ip.includes(':') || !ip.includes('.')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

/** True unless `ip` is a public unicast IPv4 or IPv6 address (a non-address counts as internal). */
export function isInternalAddress(ip: string): boolean {
  return internalAddressRange(ip) !== undefined;
}

/**
 * 'localhost' for localhost names, the internal range for an internal address literal, else
 * undefined. Takes a hostname as WHATWG URL gives it: lower case, IPv4 in dotted decimal,
 * IPv6 in brackets. Other names are judged when they resolve (see createGuardedLookup).
 */
export function internalHostnameRange(hostname: string): string | undefined {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return 'localhost';
  const literal = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  return ipaddr.isValid(literal) ? internalAddressRange(literal) : undefined;
}

/** True for localhost names and internal address literals. */
export function isInternalHostname(hostname: string): boolean {
  return internalHostnameRange(hostname) !== undefined;
}

/** The error a guarded connection fails with. */
export class InternalAddressError extends Error {
  readonly code = 'ERR_INTERNAL_ADDRESS';

  constructor(hostname: string, address: string) {
    super(`data plane host "${hostname}" resolved to internal address ${address}; ` + 'set allowPrivateNetworks if this is intended');
    this.name = 'InternalAddressError';
  }
}

/**
 * A drop-in `lookup` for `http.Agent` / `net.connect` options that fails the connection when
 * ANY address the name resolves to is internal (a DNS-rebinding guard: the check and the
 * connection use the same answer). Answers both the `{ all: true }` form (Node 20 with
 * autoSelectFamily) and the single-address form. `resolve` defaults to `dns.lookup`.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export function createGuardedLookup(resolve: LookupFunction = (require('node:dns') as typeof dns).lookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, resolved) => {
      if (error) {
        callback(error, options.all ? [] : '');
        return;
      }
      const addresses = toAddressList(resolved);
      const internal = addresses.find((entry) => isInternalAddress(entry.address));
      if (addresses.length === 0) {
        callback(noAddressError(hostname), options.all ? [] : '');
      } else if (internal) {
        callback(new InternalAddressError(hostname, internal.address), options.all ? [] : '');
      } else if (options.all) {
        callback(null, addresses);
      } else {
        callback(null, addresses[0].address, addresses[0].family);
      }
    });
  };
}

/** A resolver may ignore `all: true` and answer with a single address string. */
function toAddressList(resolved: string | dns.LookupAddress[]): dns.LookupAddress[] {
  if (Array.isArray(resolved)) return resolved;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return [{ address: resolved, family: (require('node:net') as typeof import('node:net')).isIP(resolved) }];
}

function noAddressError(hostname: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`data plane host "${hostname}" has no address`);
  error.code = 'ENOTFOUND';
  return error;
}
