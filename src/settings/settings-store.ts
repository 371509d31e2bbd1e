/**
 * What the settings endpoints need of a store: one environment's settings, read and written by
 * the environment's client-side key. PostgresConfigSource is one; a host with another database
 * implements these five methods.
 */
import type { ConfigSource, RudderStackSettings } from '../types';

/** One environment's stored settings, as Flagsmith's endpoints show them. */
export interface SettingsRecord {
  /** The row's id: the `{id}` of the endpoints' detail route. It never changes, a revive included. */
  id: number;
  /** The write key, unmasked (Flagsmith's edit form sends back what it read). */
  api_key: string;
  /** The data plane URL, or null for the hosted one. */
  base_url: string | null;
}

/** What `save` did: the row as saved, and whether a soft-deleted one was switched back on (same id). */
export interface SaveResult extends SettingsRecord {
  /** True when a soft-deleted row was switched back on. */
  revived: boolean;
}

/**
 * Why a store refused a write, read by the settings endpoints from a rejection's `reason`
 * (PostgresConfigSourceError has it; another store's errors only need the property).
 */
export type SettingsStoreRefusal =
  /** No live environment has that client-side key. */
  | 'unknown_environment'
  /** `save` found live settings for the environment. */
  | 'already_exists'
  /** `update` or `remove` found no live settings for the environment. */
  | 'not_found';

/**
 * A store of settings by environment, as `createSettingsHandler` uses it. Each method takes the
 * environment's client-side key. A refusal rejects with an error whose `reason` is a
 * {@link SettingsStoreRefusal}; settings that fail validation reject with a `SettingsError`;
 * anything else is a failure (the endpoints answer 500).
 */
export interface SettingsStore extends ConfigSource {
  /** The live settings of the environment (`[]` or one record), or null when no live environment has this key. */
  list(environmentKey: string): Promise<SettingsRecord[] | null>;
  /**
   * Creates the settings, or revives soft-deleted ones with their old id; a `base_url` absent
   * from `settings` keeps a revived row's old value.
   */
  save(environmentKey: string, settings: RudderStackSettings): Promise<SaveResult>;
  /** Replaces the live settings (an absent `base_url` is stored as null) and returns them. */
  update(environmentKey: string, settings: RudderStackSettings): Promise<SettingsRecord>;
  /** Soft-deletes the live settings. */
  remove(environmentKey: string): Promise<void>;
}
