/**
 * Local evaluation: identities that a server-side SDK evaluates in-process never reach the
 * identities endpoint, so Flagsmith sends nothing for them (Flagsmith issue #1768). This hands
 * every identity evaluation of a flagsmith-nodejs client to the same hook the API calls.
 */
import type { IdentityFetchContext, SdkFlags } from '../types';

/** What is used of a flagsmith-nodejs `Flagsmith`: its identity evaluation. */
export interface IdentityFlagsClient {
  /** Evaluates an identity's flags. */
  getIdentityFlags(identifier: string, traits?: Record<string, unknown>, ...rest: never[]): Promise<SdkFlags>;
}

/** A RudderStackIntegration, or anything with its hook. */
export interface IdentityFetchHook {
  /** Takes an identity's flags; synchronous, never throws. */
  postIdentityFetch(context: IdentityFetchContext): void;
}

/** Options of `withRudderStack`. */
export interface WithRudderStackOptions {
  /**
   * The environment's client-side key (the environment document's `api_key`, the
   * X-Environment-Key of the API), by which the integration finds its RudderStack settings.
   * Not the server-side key the SDK is built with.
   */
  environmentKey: string;
}

/**
 * Returns a view of `flagsmith` whose `getIdentityFlags` also hands each result to
 * `integration.postIdentityFetch`, as the identities endpoint does. The caller gets the same
 * Flags object and the same errors; the hook runs synchronously as the result arrives, never
 * waits on I/O and never throws into the caller. A rejected evaluation sends nothing.
 * `getEnvironmentFlags` is not hooked: it is about no identity, and Flagsmith sends nothing for it.
 *
 * The view is a Proxy: every other member is the instance's own (`instanceof`, `close()`,
 * polling and its state are shared), and the instance itself is left unchanged, so code that
 * holds it keeps evaluating without sending.
 */
export function withRudderStack<F extends IdentityFlagsClient>(flagsmith: F, integration: IdentityFetchHook, options: WithRudderStackOptions): F {
  const environmentKey = options?.environmentKey;
  if (typeof environmentKey !== 'string' || environmentKey === '') {
    throw new TypeError("withRudderStack: options.environmentKey must be the environment's client-side key");
  }
  if (typeof integration?.postIdentityFetch !== 'function') {
    throw new TypeError('withRudderStack: integration must have a postIdentityFetch method, such as a RudderStackIntegration');
  }

  const send = (identifier: string, traits: Record<string, unknown> | undefined, flags: SdkFlags): void => {
    try {
      integration.postIdentityFetch({ environmentKey, identity: { identifier, traits }, flags });
    } catch (error) {
      // RudderStackIntegration never throws; another hook might, and the caller must not see it.
      process.emitWarning(`withRudderStack: postIdentityFetch threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  function getIdentityFlags(identifier: string, traits?: Record<string, unknown>, ...rest: never[]): Promise<SdkFlags> {
    // Looked up per call, so a later patch of the instance (a spy, say) is honoured.
    return flagsmith.getIdentityFlags(identifier, traits, ...rest).then((flags) => {
      send(identifier, traits, flags);
      return flags;
    });
  }

  return new Proxy(flagsmith, {
    get: (target, property, receiver) => (property === 'getIdentityFlags' ? getIdentityFlags : Reflect.get(target, property, receiver)),
  });
}
