import { InvalidInputError } from './errors';

/** One flag, whatever shape it arrived in. */
export interface FlagState {
  name: string;
  enabled: boolean;
  value: unknown;
}

/**
 * Reads the flags of any `FlagsInput` shape: items of the identities endpoint's `flags`
 * (`{ feature: { name }, enabled, feature_state_value }`), flagsmith-nodejs `Flag` items
 * (`{ featureName, enabled, value }`), or a flagsmith-nodejs `Flags` object (`allFlags()`).
 *
 * Throws `InvalidInputError` ('invalid_input') when `flags` is none of these shapes or cannot
 * be read. An item without a non-empty string name, or one whose properties throw when read,
 * is skipped: one bad flag should not cost the identity its event.
 *
 * Runs on every identities request, hence the plain indexed loop and no copies.
 */
export function readFlags(flags: unknown): FlagState[] {
  const items = flagItems(flags);
  let length: number;
  try {
    length = items.length;
  } catch (error) {
    throw new InvalidInputError('invalid_input', 'flags could not be read', { cause: error });
  }
  const states: FlagState[] = [];
  for (let i = 0; i < length; i++) {
    // The item may be a proxy or carry throwing getters; such an item is skipped.
    try {
      const state = readFlagItem(items[i]);
      if (state !== undefined) states.push(state);
    } catch {
      // skipped
    }
  }
  return states;
}

/** The array holding the flag items, or `InvalidInputError` when there is none. */
function flagItems(flags: unknown): ArrayLike<unknown> {
  try {
    if (Array.isArray(flags)) return flags;
    if (typeof flags === 'object' && flags !== null) {
      const allFlags = (flags as { allFlags?: unknown }).allFlags;
      if (typeof allFlags === 'function') {
        const items: unknown = allFlags.call(flags);
        if (Array.isArray(items)) return items;
        throw new InvalidInputError('invalid_input', 'flags.allFlags() did not return an array');
      }
    }
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError('invalid_input', 'flags could not be read', { cause: error });
  }
  throw new InvalidInputError(
    'invalid_input',
    'flags must be an array of flags or an object with allFlags()',
  );
}

/** One item of either array shape; undefined when it has no usable name. May throw (a getter). */
function readFlagItem(item: unknown): FlagState | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const record = item as Record<string, unknown>;
  const feature = record.feature;
  let name: unknown;
  let value: unknown;
  if (typeof feature === 'object' && feature !== null) {
    name = (feature as Record<string, unknown>).name;
    value = record.feature_state_value;
  } else {
    name = record.featureName;
    value = record.value;
  }
  // An empty name is no feature Flagsmith can hold, and no key a destination can use.
  if (typeof name !== 'string' || name === '') return undefined;
  return { name, enabled: record.enabled === true, value };
}
