/**
 * flagsmith-nodejs is an optional peer: the hook never uses it. Only the command line, the
 * reference host and `sdkFlags` of `/testing` do, and they load it through here when first used,
 * so that a host's production install does not carry it.
 */
type FlagsmithNodejs = typeof import('flagsmith-nodejs');

/** An optional peer is not installed where flagsmith-rudderstack is; the message says how to add it. */
export class MissingPeerError extends Error {
  override name = 'MissingPeerError';
}

export function loadFlagsmithNodejs(): FlagsmithNodejs {
  return requireOptionalPeer<FlagsmithNodejs>('flagsmith-nodejs');
}

/** A peer that is absent is the user's to install; one that is there but broken throws as it is. */
export function requireOptionalPeer<T>(name: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code !== 'MODULE_NOT_FOUND' || !message.startsWith(`Cannot find module '${name}'`)) throw error;
    throw new MissingPeerError(`${name} is not installed: flagsmith-rudderstack needs it here (an optional peer dependency); run npm install ${name}`);
  }
}
