import type { FlagsInput, MappingOptions, Traits, ValueMode } from '../types';
import { readFlags, type FlagState } from './flag-inputs';

/** What one flag sends: its value, or its enabled state when it has no value to send. */
export type TraitValue = string | number | boolean;

/**
 * The trait one flag becomes.
 *
 * - 'documented': the value when the flag is enabled and has one (`0`, `false` and `""` are
 *   values), else the enabled boolean.
 * - 'flagsmith-python': Flagsmith's `value if (enabled and value) else enabled`: the value when
 *   the flag is enabled and the value is truthy in Python's sense, else the enabled boolean.
 *
 * Flagsmith values are only strings, integers, floats, booleans or null, and the event travels
 * as JSON. So a BigInt is sent as its decimal string (JSON.stringify would throw on it), and
 * anything else JSON cannot carry faithfully (NaN, ±Infinity, functions, symbols, objects,
 * arrays) counts as no value: the enabled boolean is sent instead.
 */
export function traitValue(flag: FlagState, mode: ValueMode): TraitValue {
  if (flag.enabled !== true) return false;
  if (mode === 'flagsmith-python' && !isPythonTruthy(flag.value)) return true;
  return sendableValue(flag.value) ?? true;
}

/**
 * One trait per flag, keyed by the feature name exactly as given; when a name appears twice the
 * last flag wins. Any `valueMode` but 'flagsmith-python' maps as 'documented'. Throws
 * `InvalidInputError` when `flags` is not a `FlagsInput`.
 *
 * The result has no prototype, so a feature named `__proto__`, `constructor` or `toString` is an
 * ordinary own key: it is serialized like any other and pollutes nothing.
 */
export function toTraits(flags: FlagsInput, options?: MappingOptions): Traits {
  const mode = options?.valueMode ?? 'documented';
  const states = readFlags(flags);
  const traits: Traits = Object.create(null) as Traits;
  for (let i = 0; i < states.length; i++) {
    const state = states[i];
    traits[state.name] = traitValue(state, mode);
  }
  return traits;
}

/**
 * JavaScript and Python agree on the truthiness of every scalar (`false`, `0`, `-0`, `0n`, `""`,
 * null/undefined are falsy) except NaN, which Python holds truthy.
 */
function isPythonTruthy(value: unknown): boolean {
  return Boolean(value) || Number.isNaN(value);
}

/** The value as JSON can carry it, or undefined when it has no such form. */
function sendableValue(value: unknown): TraitValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : undefined;
    case 'bigint':
      return value.toString();
    default:
      return undefined;
  }
}
