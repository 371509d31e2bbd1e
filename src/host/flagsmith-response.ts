/** The response shapes of Flagsmith's identities and flags endpoints (see flagsmith.md). */

export type FlagValue = string | number | boolean | null;

/** One item of `flags` in GET/POST /api/v1/identities/, and of the GET /api/v1/flags/ array. */
export interface ApiFlagItem {
  /** The feature state's id. */
  id: number | null;
  feature: { id: number; name: string; type: 'STANDARD' | 'MULTIVARIATE' };
  feature_state_value: FlagValue;
  environment: number;
  /** The identity's id when an identity override decided the flag. */
  identity: number | null;
  /** Set when a segment override decided the flag. */
  feature_segment: number | null;
  enabled: boolean;
}

export interface ApiTrait {
  id: number;
  trait_key: string;
  trait_value: FlagValue;
  transient: boolean;
}

export interface IdentitiesResponse {
  identifier: string;
  flags: ApiFlagItem[];
  traits: ApiTrait[];
}
