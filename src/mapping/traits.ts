import type { FlagsInput, MappingOptions, Traits, ValueMode } from '../types';
import { isArrayIndex } from './array-index';
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
  return traitsObject(traitList(readFlags(flags), options?.valueMode ?? 'documented'));
}

/**
 * The traits as two parallel lists, in the order and with the keys `toTraits` gives them. Delivery
 * writes events from this; it needs no object built, or walked, per event.
 */
export interface TraitList {
  names: string[];
  values: TraitValue[];
}

export function traitList(states: readonly FlagState[], mode: ValueMode): TraitList {
  const names: string[] = [];
  const values: TraitValue[] = [];
  for (let i = 0; i < states.length; i++) {
    const state = states[i];
    names.push(state.name);
    values.push(traitValue(state, mode));
  }
  // The object decides the rare lists it would order differently: one key per repeated name, and
  // index-like names ("7") first, in numeric order.
  if (needsObjectOrder(names)) return traitListOf(traitsObject({ names, values }));
  return { names, values };
}

export function traitsObject(list: TraitList): Traits {
  const traits: Traits = Object.create(null) as Traits;
  for (let i = 0; i < list.names.length; i++) traits[list.names[i]] = list.values[i];
  return traits;
}

/** The list of an object of traits, in its key order. */
export function traitListOf(traits: Traits): TraitList {
  const names = Object.keys(traits);
  return { names, values: names.map((name) => traits[name] as TraitValue) };
}

/** Up to this many names, comparing each pair is cheaper than hashing them into a Set. */
const PAIRWISE_NAMES_AT_MOST = 32;

function needsObjectOrder(names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) if (isArrayIndex(names[i])) return true;
  if (names.length > PAIRWISE_NAMES_AT_MOST) return new Set(names).size !== names.length;
  for (let i = 1; i < names.length; i++) {
    for (let j = 0; j < i; j++) if (names[i] === names[j]) return true;
  }
  return false;
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
