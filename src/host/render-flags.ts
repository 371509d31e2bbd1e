import type { Flags } from 'flagsmith-nodejs';
import type { ApiFlagItem } from './flagsmith-response';

type FeatureType = ApiFlagItem['feature']['type'];
type SdkFlag = ReturnType<Flags['allFlags']>[number];

interface DocumentFeatureState {
  feature: { id: number; name: string; type: FeatureType };
  django_id?: number | null;
}

/** The parts of an environment document (GET /api/v1/environment-document/) the API shape needs. */
export interface EnvironmentDocument {
  id: number;
  api_key: string;
  feature_states: DocumentFeatureState[];
  project: { segments?: Array<{ id: number; name: string; feature_states: DocumentFeatureState[] }> };
  identity_overrides?: Array<{ identifier: string; django_id?: number | null; identity_features: DocumentFeatureState[] }>;
}

/** The engine names the segment that decided a flag in its reason; identity overrides are a segment of their own. */
const SEGMENT_REASON = /^TARGETING_MATCH; segment=(.+)$/;
const IDENTITY_OVERRIDES_SEGMENT = 'identity_overrides';

/**
 * Turns flags evaluated by flagsmith-nodejs into the items of Flagsmith's `flags` array, taking
 * ids and feature types from the document the flags were evaluated from.
 */
export class FlagRenderer {
  readonly #features = new Map<number, { type: FeatureType; stateId: number | null }>();
  readonly #segments = new Map<string, { id: number; stateIds: Map<number, number | null> }>();
  readonly #overrides = new Map<string, { identityId: number | null; stateIds: Map<number, number | null> }>();

  readonly #document: EnvironmentDocument;

  constructor(document: EnvironmentDocument) {
    this.#document = document;
    for (const state of document.feature_states) {
      this.#features.set(state.feature.id, { type: state.feature.type, stateId: state.django_id ?? null });
    }
    for (const segment of document.project.segments ?? []) {
      this.#segments.set(segment.name, { id: segment.id, stateIds: stateIdsOf(segment.feature_states) });
    }
    for (const override of document.identity_overrides ?? []) {
      this.#overrides.set(override.identifier, { identityId: override.django_id ?? null, stateIds: stateIdsOf(override.identity_features) });
    }
  }

  render(flags: SdkFlag[], identifier?: string): ApiFlagItem[] {
    return flags.map((flag) => {
      const feature = this.#features.get(flag.featureId);
      const item: ApiFlagItem = {
        id: feature?.stateId ?? null,
        feature: { id: flag.featureId, name: flag.featureName, type: feature?.type ?? 'STANDARD' },
        feature_state_value: flag.value ?? null,
        environment: this.#document.id,
        identity: null,
        feature_segment: null,
        enabled: flag.enabled,
      };
      const segmentName = SEGMENT_REASON.exec(flag.reason ?? '')?.[1];
      const override = identifier === undefined ? undefined : this.#overrides.get(identifier);
      if (segmentName === IDENTITY_OVERRIDES_SEGMENT && override) {
        item.id = override.stateIds.get(flag.featureId) ?? null;
        item.identity = override.identityId;
      } else if (segmentName !== undefined) {
        const segment = this.#segments.get(segmentName);
        item.id = segment?.stateIds.get(flag.featureId) ?? null;
        // The document has no FeatureSegment ids; the segment's id stands in.
        item.feature_segment = segment?.id ?? null;
      }
      return item;
    });
  }
}

function stateIdsOf(states: DocumentFeatureState[]): Map<number, number | null> {
  return new Map(states.map((state) => [state.feature.id, state.django_id ?? null]));
}
