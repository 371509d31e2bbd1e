/** Where settings come from: a host's ConfigSource, or a fixed table of them. */
import type { ConfigSource, RudderStackSettings } from '../types';

/**
 * Settings from a fixed table, by environment key. The table is copied into a Map, so later
 * changes to the caller's object are not seen and keys such as `__proto__`, `constructor` or
 * `toString` are found only when configured.
 */
export class StaticConfigSource implements ConfigSource {
  readonly #settingsByKey: Map<string, RudderStackSettings>;

  constructor(settings: Record<string, RudderStackSettings>) {
    this.#settingsByKey = new Map(Object.entries(settings));
  }

  get(environmentKey: string): RudderStackSettings | null {
    return this.#settingsByKey.get(environmentKey) ?? null;
  }
}

/** An object with a `get` function is a source; any other object is a table of settings (options checked it is an object). */
export function toConfigSource(config: ConfigSource | Record<string, RudderStackSettings>): ConfigSource {
  return isConfigSource(config) ? config : new StaticConfigSource(config);
}

function isConfigSource(config: ConfigSource | Record<string, RudderStackSettings>): config is ConfigSource {
  return typeof config.get === 'function';
}
