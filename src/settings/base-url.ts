/** The data plane URL rules: scheme, credentials, query, internal hosts, normalisation. */
import { internalHostnameRange } from './network-guard';
import { EXAMPLE_DATA_PLANE_URL, type Echo } from './messages';

export const DEFAULT_DATA_PLANE_URL = 'https://hosted.rudderlabs.com';

const USE_DASHBOARD_URL = `use the data plane URL from your RudderStack dashboard, e.g. ${EXAMPLE_DATA_PLANE_URL}`;
const TYPE_FULL_URL = `does not start with https:// or http://; type the full URL, e.g. ${EXAMPLE_DATA_PLANE_URL}`;

/** What delivery appends, and so what a pasted endpoint URL ends with. */
const PASTED_ENDPOINT = /\/v1\/(batch|identify)$/i;

/** Which rule a base_url broke: what a caller that words its own messages (Flagsmith's, in the settings endpoints) reads. */
export type BaseUrlRule = 'unparsable' | 'scheme' | 'credentials' | 'query' | 'internal';

/** One broken rule and the package's words for it. */
export interface BaseUrlProblem {
  rule: BaseUrlRule;
  message: string;
}

export type BaseUrlResult = { dataPlaneUrl: string } | { problems: BaseUrlProblem[] };

interface BaseUrlContext {
  allowPrivateNetworks: boolean;
  echo: Echo;
}

/**
 * Checks a well-typed base_url and returns the normalised data plane URL: no trailing slash,
 * no pasted `/v1/batch` or `/v1/identify`, any other path kept (a reverse-proxy prefix such as
 * `/rudder`). Empty, blank, null or absent means the hosted data plane. A URL that parses is
 * checked against every rule, so a wrong scheme and an internal host are both reported.
 */
export function checkBaseUrl(value: string | null | undefined, context: BaseUrlContext): BaseUrlResult {
  if (value == null || value.trim() === '') return { dataPlaneUrl: DEFAULT_DATA_PLANE_URL };
  const url = parseUrl(value);
  if (!url) return { problems: [{ rule: 'unparsable', message: unparsableMessage(value, context.echo) }] };
  const shown = context.echo(displayed(value, url));
  const problems: BaseUrlProblem[] = [];
  const add = (rule: BaseUrlRule, message: string | undefined): void => {
    if (message !== undefined) problems.push({ rule, message });
  };
  add('scheme', url.protocol === 'http:' || url.protocol === 'https:' ? undefined : schemeMessage(value, shown));
  add('credentials', credentialsMessage(url, shown));
  add('query', queryMessage(url, shown));
  add('internal', context.allowPrivateNetworks ? undefined : internalHostMessage(url, shown, context.echo));
  return problems.length > 0 ? { problems } : { dataPlaneUrl: normalise(url) };
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** What the user typed, unless it holds credentials: then the URL without them. */
function displayed(value: string, url: URL): string {
  if (url.username === '' && url.password === '') return value.trim();
  const withoutCredentials = new URL(url.href);
  withoutCredentials.username = '';
  withoutCredentials.password = '';
  return withoutCredentials.href;
}

function lacksScheme(value: string): boolean {
  return !value.includes('://');
}

function unparsableMessage(value: string, echo: Echo): string {
  // An unparsable value cannot be reliably stripped of "user:password@", so it is not shown.
  const shown = value.includes('@') ? 'the URL (not shown: it may contain credentials)' : echo(value.trim());
  return lacksScheme(value) ? `base_url: ${shown} ${TYPE_FULL_URL}` : `base_url: ${shown} is not a valid URL; ${USE_DASHBOARD_URL}`;
}

/** "localhost:8080" parses with the scheme "localhost:", so a missing scheme lands here too. */
function schemeMessage(value: string, shown: string): string {
  return lacksScheme(value) ? `base_url: ${shown} ${TYPE_FULL_URL}` : `base_url: ${shown} is not an http or https URL; ${USE_DASHBOARD_URL}`;
}

function credentialsMessage(url: URL, shown: string): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  return `base_url: ${shown} has a user name or password before the host ("...@"); remove it: ` + 'the write key belongs in api_key, not in the URL';
}

/**
 * Delivery posts to `${dataPlaneUrl}/v1/batch`; a query or fragment would end up in front of
 * that path and send events elsewhere, so they are refused rather than silently dropped.
 * An empty "?" or "#" carries nothing and is dropped.
 */
function queryMessage(url: URL, shown: string): string | undefined {
  const parts = [url.search && 'a query string ("?...")', url.hash && 'a fragment ("#...")'].filter(Boolean);
  if (parts.length === 0) return undefined;
  const pronoun = parts.length > 1 ? 'them' : 'it';
  return (
    `base_url: ${shown} has ${parts.join(' and ')}; remove ${pronoun}: events are sent to ` +
    'base_url + "/v1/batch", so the URL must end with the host name or a path'
  );
}

function internalHostMessage(url: URL, shown: string, echo: Echo): string | undefined {
  const range = internalHostnameRange(url.hostname);
  if (range === undefined) return undefined;
  const target = range === 'localhost' ? 'localhost' : `${echo(url.hostname)}, ${describeRange(range)}`;
  return (
    `base_url: ${shown} points at ${target}; use your data plane's public URL, or set ` +
    'allowPrivateNetworks: true if the data plane runs in your own network'
  );
}

const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private network (RFC 1918) address',
  linkLocal: 'a link-local address',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10) address',
  uniqueLocal: 'a unique-local (fc00::/7) address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  rfc6052: 'a NAT64 (64:ff9b::/96) address',
  '6to4': 'a 6to4 (2002::/16) address',
  teredo: 'a Teredo (2001::/32) address',
};

function describeRange(range: string): string {
  return Object.hasOwn(RANGE_WORDS, range) ? RANGE_WORDS[range] : `a special-purpose address (${range})`;
}

function normalise(url: URL): string {
  const path = url.pathname.replace(/\/+$/, '').replace(PASTED_ENDPOINT, '').replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}
