import { types } from 'node:util';
import { isArrayIndex } from './array-index';
import { InvalidInputError } from './errors';

/** One flag, whatever shape it arrived in. */
export interface FlagState {
  name: string;
  enabled: boolean;
  value: unknown;
}

/**
 * The most flag items one call may hold: far more than a Flagsmith environment has (a project
 * holds 400 features unless its limit is raised), and a bound on what one call costs the host's
 * request, whatever length the input claims.
 */
export const MAX_FLAGS_PER_CALL = 10_000;

/**
 * Reads the flags of any `FlagsInput` shape: items of the identities endpoint's `flags`
 * (`{ feature: { name }, enabled, feature_state_value }`), flagsmith-nodejs `Flag` items
 * (`{ featureName, enabled, value }`), or a flagsmith-nodejs `Flags` object (`allFlags()`).
 *
 * Throws `InvalidInputError` ('invalid_input') when `flags` is none of these shapes, cannot be
 * read, or holds more than `MAX_FLAGS_PER_CALL` items. An item without a non-empty string name,
 * or one whose properties throw when read, is skipped: one bad flag should not cost the identity
 * its event. A sparse array's holes are skipped, and cost nothing.
 *
 * Runs on every identities request, hence the plain indexed loop and no copies.
 */
export function readFlags(flags: unknown): FlagState[] {
  const items = flagItems(flags);
  const length = lengthOf(items);
  const states: FlagState[] = [];
  if (length <= MAX_FLAGS_PER_CALL) {
    for (let i = 0; i < length; i++) {
      const state = readItem(items, i);
      if (state !== undefined) states.push(state);
    }
    return states;
  }
  for (const index of presentIndexes(items, length)) {
    const state = readItem(items, Number(index));
    if (state !== undefined) states.push(state);
  }
  return states;
}

function readItem(items: ArrayLike<unknown>, index: number): FlagState | undefined {
  // The item may be a proxy or carry throwing getters; such an item is skipped.
  try {
    return readFlagItem(items[index]);
  } catch {
    return undefined;
  }
}

function lengthOf(items: ArrayLike<unknown>): number {
  let length: unknown;
  try {
    length = items.length;
  } catch (error) {
    throw new InvalidInputError('invalid_input', 'flags could not be read', { cause: error });
  }
  // Only a proxy can claim a length no array has.
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
    throw new InvalidInputError('invalid_input', 'flags has no array length');
  }
  return length;
}

/**
 * The indexes of the items an array longer than `MAX_FLAGS_PER_CALL` holds. A sparse array (a
 * host indexing flags by feature id) lists only the elements it has among its own keys, where
 * walking its length would visit every hole. A proxy's keys are whatever its traps make up, so a
 * proxy that long is refused.
 */
function presentIndexes(items: ArrayLike<unknown>, length: number): string[] {
  if (types.isProxy(items)) {
    throw new InvalidInputError('invalid_input', `flags claims ${length} items, more than ${MAX_FLAGS_PER_CALL}`);
  }
  // A dense start longer than the limit settles it without listing every key.
  let dense = 0;
  while (dense <= MAX_FLAGS_PER_CALL && Object.prototype.hasOwnProperty.call(items, dense)) dense++;
  if (dense > MAX_FLAGS_PER_CALL) throw tooManyFlags();
  const keys = Object.getOwnPropertyNames(items);
  // An array lists its indexes first, in ascending order; `length` and any other keys follow.
  let count = 0;
  while (count < keys.length && isArrayIndex(keys[count])) count++;
  if (count > MAX_FLAGS_PER_CALL) throw tooManyFlags();
  keys.length = count;
  return keys;
}

function tooManyFlags(): InvalidInputError {
  return new InvalidInputError('invalid_input', `flags holds more than ${MAX_FLAGS_PER_CALL} items`);
}

/** The array holding the flag items, or `InvalidInputError` when there is none. */
function flagItems(flags: unknown): ArrayLike<unknown> {
  try {
    if (Array.isArray(flags)) return flags as unknown[];
    if (typeof flags === 'object' && flags !== null) {
      const allFlags = (flags as { allFlags?: unknown }).allFlags;
      if (typeof allFlags === 'function') {
        const items: unknown = allFlags.call(flags);
        if (Array.isArray(items)) return items as unknown[];
        throw new InvalidInputError('invalid_input', 'flags.allFlags() did not return an array');
      }
    }
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError('invalid_input', 'flags could not be read', { cause: error });
  }
  throw new InvalidInputError('invalid_input', 'flags must be an array of flags or an object with allFlags()');
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
