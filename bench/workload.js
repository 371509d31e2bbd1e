'use strict';
/**
 * The benchmark's workload: identity i's 20 flags, in the shape of the `flags` array of
 * Flagsmith's GET/POST /api/v1/identities/ response, derived from (seed, i) alone. The data
 * plane recomputes them to check every event, so nothing is shipped between processes.
 *
 * Each flag slot draws a kind per identity: disabled, or enabled with a string, integer, float,
 * boolean or null value. `expectedTraits` states the documented mapping independently of the
 * package's `toTraits`, so the check also cross-checks the mapping.
 */

const FLAGS_PER_IDENTITY = 20;
const DEFAULT_SEED = 20240604;

const FEATURE_NAMES = [
  'checkout_v2',
  'new-dashboard',
  'maxItems',
  'theme',
  'discount_rate',
  'beta_ünicode',
  'search.algorithm',
  'show_banner',
  'api_timeout_ms',
  'homepage_hero',
  'welcome message',
  'feature_11',
  'rollout_pct',
  'dark_mode',
  'pricing_tier',
  'quota',
  'experiment "B"',
  'legacy_export',
  'recommendations',
  'sidebar_layout',
];

/** The feature objects the API embeds in each flag (shared, like an environment document's). */
const FEATURES = FEATURE_NAMES.map((name, index) => ({
  id: 1000 + index,
  name,
  created_date: '2024-01-01T00:00:00.000000Z',
  description: null,
  initial_value: null,
  default_enabled: false,
  type: 'STANDARD',
}));

const STRINGS = ['', 'blue', 'with "quotes" and \\ backslash', 'ünïcödé ✓ 😀', 'x'.repeat(40), 'line\nbreak'];

/** A 32-bit integer hash (lowbias32). */
function mix(x) {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d);
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

const KIND_DISABLED = 0;
const KIND_STRING = 1;
const KIND_INTEGER = 2;
const KIND_FLOAT = 3;
const KIND_BOOLEAN = 4;
const KIND_NULL = 5;

/** Kind and value of one slot: a pure function of (seed, identity, slot). */
function slotOf(seed, identity, slot) {
  const r = mix((seed ^ Math.imul(identity, FLAGS_PER_IDENTITY) ^ slot) + Math.imul(identity, 0x9e3779b1));
  const kind = r % 6;
  const v = mix(r ^ 0x5bd1e995);
  // A disabled flag still carries a value, as Flagsmith's do; it must be ignored.
  const valueKind = kind === KIND_DISABLED ? 1 + (v % 5) : kind;
  let value;
  switch (valueKind) {
    case KIND_STRING:
      value = v % 3 === 0 ? STRINGS[(v >>> 8) % STRINGS.length] : `v${v % 100000}`;
      break;
    case KIND_INTEGER:
      value = (v % 2000001) - 1000000;
      break;
    case KIND_FLOAT:
      value = ((v % 2000000) - 1000000) / 1024 + 0.1;
      break;
    case KIND_BOOLEAN:
      value = (v & 1) === 1;
      break;
    case KIND_NULL:
    default:
      value = null;
  }
  return { enabled: kind !== KIND_DISABLED, value };
}

function userIdOf(identity) {
  return `user-${identity}`;
}

/** Identity index of a user id made by `userIdOf`, or -1. */
function identityOf(userId) {
  if (typeof userId !== 'string' || !userId.startsWith('user-')) return -1;
  const n = Number(userId.slice(5));
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

/** Identity i's flags, as the identities endpoint returns them (fresh objects per call). */
function flagsFor(seed, identity) {
  const flags = new Array(FLAGS_PER_IDENTITY);
  for (let slot = 0; slot < FLAGS_PER_IDENTITY; slot++) {
    const { enabled, value } = slotOf(seed, identity, slot);
    flags[slot] = {
      id: identity * FLAGS_PER_IDENTITY + slot,
      feature: FEATURES[slot],
      feature_state_value: value,
      environment: 1,
      identity: null,
      feature_segment: null,
      enabled,
    };
  }
  return flags;
}

/** The trait a slot must arrive as: the value when enabled and not null, else the enabled state. */
function expectedTrait(seed, identity, slot) {
  const { enabled, value } = slotOf(seed, identity, slot);
  if (!enabled) return false;
  return value === null ? true : value;
}

/** Null when `traits` is exactly what identity i's flags map to; else what differs. */
function traitsProblem(seed, identity, traits) {
  if (typeof traits !== 'object' || traits === null) return 'traits missing';
  let count = 0;
  for (const _key in traits) count++;
  if (count !== FLAGS_PER_IDENTITY) return `expected ${FLAGS_PER_IDENTITY} traits, got ${count}`;
  for (let slot = 0; slot < FLAGS_PER_IDENTITY; slot++) {
    const name = FEATURE_NAMES[slot];
    const expected = expectedTrait(seed, identity, slot);
    if (traits[name] !== expected) return `trait ${JSON.stringify(name)}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(traits[name])}`;
  }
  return null;
}

function expectedTraits(seed, identity) {
  const traits = {};
  for (let slot = 0; slot < FLAGS_PER_IDENTITY; slot++) traits[FEATURE_NAMES[slot]] = expectedTrait(seed, identity, slot);
  return traits;
}

module.exports = {
  FLAGS_PER_IDENTITY,
  DEFAULT_SEED,
  FEATURE_NAMES,
  flagsFor,
  userIdOf,
  identityOf,
  expectedTraits,
  traitsProblem,
};
