/** Shared wording of settings messages, the one way they show what a user typed, and the one redaction. */
import { domainToASCII } from 'node:url';

export const EXAMPLE_DATA_PLANE_URL = 'https://yourcompany.dataplane.rudderstack.com';

/** Quotes a fragment of user input for a message, or withholds it. */
export type Echo = (fragment: string) => string;

const WITHHELD = '(not shown: it contains the write key)';
/** What a write key becomes in a redacted text. */
const REDACTED_KEY = '[redacted]';

/**
 * The one redaction every text that leaves the package passes when it may hold what a user or
 * the network stack wrote: the write key in any form it travels in (as typed or trimmed, in any
 * case, since URL parsing lower-cases a host name; percent-encoded in part or whole, as URL
 * parsing and node-fetch write a key pasted into a path; base64 as in the Authorization header)
 * becomes `[redacted]`, and URL credentials ("user:password@") are removed. Without a key (a
 * settings lookup that failed has none to give), only the credentials go.
 */
export function redact(text: string, writeKey?: string): string {
  const withoutCredentials = text.replace(URL_CREDENTIALS, '$1');
  const pattern = writeKey === undefined ? undefined : keyPattern(writeKey);
  return pattern ? withoutCredentials.replace(pattern, REDACTED_KEY) : withoutCredentials;
}

/** A scheme, then userinfo up to its "@": what `redact` removes from every URL in a text. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi;

/**
 * An Echo that JSON-quotes a fragment (so control characters cannot forge log lines) unless
 * `redact` would find the write key in it. Callers strip URL credentials before echoing.
 */
export function createEcho(writeKey: string): Echo {
  const pattern = keyPattern(writeKey);
  return (fragment) => (pattern && matches(pattern, fragment) ? WITHHELD : JSON.stringify(fragment));
}

function matches(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
}

/**
 * Matches the key's forms (see `redact`), case-insensitively; undefined for a blank key, which
 * validation refuses and which would match nothing worth hiding.
 */
function keyPattern(writeKey: string): RegExp | undefined {
  const keys = [...new Set([writeKey, writeKey.trim()])].filter((key) => key.trim() !== '');
  if (keys.length === 0) return undefined;
  const forms = keys.flatMap((key) => {
    const basic = Buffer.from(`${key}:`).toString('base64');
    const hostLabel = domainToASCII(key);
    return [
      [...key].map(characterPattern).join(''),
      escapeRegExp(basic),
      escapeRegExp(basic.replace(/=+$/, '')),
      ...(hostLabel && hostLabel !== key.toLowerCase() ? [escapeRegExp(hostLabel)] : []),
    ];
  });
  // Longer forms first, so one that extends another (padding, spaces around the key) goes whole.
  forms.sort((a, b) => b.length - a.length);
  return new RegExp(forms.join('|'), 'gi');
}

/** One character of the key: as typed, or percent-encoded as UTF-8 (a space also as "+"). */
function characterPattern(character: string): string {
  const encoded = [...Buffer.from(character, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  const alternatives = [escapeRegExp(character), encoded, ...(character === ' ' ? ['\\+'] : [])];
  return `(?:${alternatives.join('|')})`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
