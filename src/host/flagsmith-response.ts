/** The response shapes of Flagsmith's identities and flags endpoints (see flagsmith.md). */

/** A flag's value as Flagsmith's API returns it. */
export type FlagValue = string | number | boolean | null;

/** One item of `flags` in GET/POST /api/v1/identities/, and of the GET /api/v1/flags/ array. */
export interface ApiFlagItem {
  /** The feature state's id. */
  id: number | null;
  /** The flag's feature. */
  feature: {
    /** The feature's id. */
    id: number;
    /** The feature's name. */
    name: string;
    /** Whether the feature has multivariate values. */
    type: 'STANDARD' | 'MULTIVARIATE';
  };
  /** The flag's value (null when it has none). */
  feature_state_value: FlagValue;
  /** The environment's id. */
  environment: number;
  /** The identity's id when an identity override decided the flag. */
  identity: number | null;
  /** Set when a segment override decided the flag. */
  feature_segment: number | null;
  /** Whether the flag is on. */
  enabled: boolean;
}

/** One item of `traits` in GET/POST /api/v1/identities/. */
export interface ApiTrait {
  /** The trait's id. */
  id: number;
  /** The trait's key. */
  trait_key: string;
  /** The trait's value. */
  trait_value: FlagValue;
  /** Whether the trait was sent for this request only, not stored. */
  transient: boolean;
}

/** The body of GET/POST /api/v1/identities/: the identity, its flags and its traits. */
export interface IdentitiesResponse {
  /** The identity's identifier. */
  identifier: string;
  /** The identity's flags. */
  flags: ApiFlagItem[];
  /** The identity's traits. */
  traits: ApiTrait[];
}
