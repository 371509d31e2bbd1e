/** Builders of the flags a host hands to the hook, in both shapes it may have them. */
import { loadFlagsmithNodejs } from '../host/flagsmith-nodejs';
import type { ApiFlagItem, FlagValue, IdentitiesResponse } from '../host/flagsmith-response';
import type { SdkFlags } from '../types';

/** One flag for the fixture builders: a bare value is an enabled flag with that value; `{ enabled: false }` is a disabled one. */
export type FlagSpec =
  | FlagValue
  | {
      /** Whether the flag is on. */
      enabled: boolean;
      /** The flag's value (default null). */
      value?: FlagValue;
    };

/** What `identitiesResponse` builds a response from. */
export interface IdentitiesResponseSpec {
  /** The identity's identifier. */
  identifier: string;
  /** Flags by feature name (default none). */
  flags?: Record<string, FlagSpec>;
  /** Trait values by trait key (default none). */
  traits?: Record<string, FlagValue>;
}

/** A GET/POST /api/v1/identities/ response body. Ids are made up from the order of the flags; the environment is 1. */
export function identitiesResponse(spec: IdentitiesResponseSpec): IdentitiesResponse {
  return {
    identifier: spec.identifier,
    flags: apiFlags(spec.flags ?? {}),
    traits: Object.entries(spec.traits ?? {}).map(([trait_key, trait_value], index) => ({
      id: index + 1,
      trait_key,
      trait_value,
      transient: false,
    })),
  };
}

/** Items of the `flags` array of GET/POST /api/v1/identities/ (and of GET /api/v1/flags/). */
export function apiFlags(flags: Record<string, FlagSpec>): ApiFlagItem[] {
  return Object.entries(flags).map(([name, spec], index) => {
    const { enabled, value } = typeof spec === 'object' && spec !== null ? spec : { enabled: true, value: spec };
    return {
      id: index + 1,
      feature: { id: index + 1, name, type: 'STANDARD' },
      feature_state_value: value ?? null,
      environment: 1,
      identity: null,
      feature_segment: null,
      enabled,
    };
  });
}

/**
 * A real flagsmith-nodejs `Flags` object, as `getIdentityFlags` returns it (typed by what the hook
 * reads, so that the types of `/testing` do not need flagsmith-nodejs). flagsmith-nodejs is an
 * optional peer: install it to use this.
 */
export function sdkFlags(flags: Record<string, FlagSpec>): SdkFlags {
  return loadFlagsmithNodejs().Flags.fromAPIFlags({ apiFlags: apiFlags(flags) as unknown as Array<Record<string, unknown>> });
}
