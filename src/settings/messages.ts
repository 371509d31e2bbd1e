/** Shared wording of settings messages, and the one way they show what a user typed. */

export const EXAMPLE_DATA_PLANE_URL = 'https://yourcompany.dataplane.rudderstack.com';

/** Quotes a fragment of user input for a message, or withholds it. */
export type Echo = (fragment: string) => string;

const WITHHELD = '(not shown: it contains the write key)';

/**
 * An Echo that JSON-quotes a fragment (so control characters cannot forge log lines) unless
 * it contains the write key, in any case, as typed or percent-encoded (as URL parsing writes
 * a key pasted into a path). Callers strip URL credentials before echoing.
 */
export function createEcho(writeKey: string): Echo {
  const needles = [writeKey, writeKey.trim()]
    .filter((needle) => needle.trim() !== '')
    .map((needle) => needle.toLowerCase());
  return (fragment) => {
    const haystacks = [fragment, percentDecoded(fragment)].map((text) => text.toLowerCase());
    const holdsKey = needles.some((needle) => haystacks.some((haystack) => haystack.includes(needle)));
    return holdsKey ? WITHHELD : JSON.stringify(fragment);
  };
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A data plane URL as messages may show it: whole, or its origin alone when the path holds the
 * write key (a key pasted into the URL is valid there, and must still never reach a log).
 */
export function displayDataPlaneUrl(dataPlaneUrl: string, writeKey: string): string {
  const echo = createEcho(writeKey);
  if (echo(dataPlaneUrl) !== WITHHELD) return dataPlaneUrl;
  const origin = new URL(dataPlaneUrl).origin;
  return echo(origin) === WITHHELD ? `(data plane URL ${WITHHELD})` : `${origin}/… (path ${WITHHELD})`;
}
