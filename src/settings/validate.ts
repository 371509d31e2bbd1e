/**
 * Settings validation: the JSON Schema (compiled at build time, see scripts/build-validator.js),
 * then the data plane URL rules.
 * Every problem is reported at once, in words a self-hoster can act on, and no message ever
 * contains the write key.
 */
import type { ErrorObject } from 'ajv';
import type { ValidatedSettings, ValidateSettingsOptions } from '../types';
import { checkBaseUrl } from './base-url';
import { codePointLength } from './code-points';
import { createEcho, EXAMPLE_DATA_PLANE_URL } from './messages';
import { settingsSchema } from './schema';
import generatedValidator from './validate-settings.generated';

/** Ajv's compiled settingsSchema: true or false, and the errors of the last call. */
const matchesSchema: { (data: unknown): boolean; errors?: ErrorObject[] | null } = generatedValidator;
const SCHEMA_FIELDS = Object.keys(settingsSchema.properties) as Array<keyof typeof settingsSchema.properties>;

/** Thrown by `validateSettings`: every problem of the settings at once, none of them holding the write key. */
export class SettingsError extends Error {
  /** One message per problem, each naming the field and what to type instead. */
  readonly errors: string[];

  constructor(errors: string[]) {
    super(`Invalid RudderStack settings: ${errors.map((error, i) => `(${i + 1}) ${error}`).join(' ')}`);
    this.name = 'SettingsError';
    this.errors = errors;
  }
}

/** One problem of some settings: the field, the rule it broke (for callers that word their own messages) and the package's words. */
export interface SettingsProblem {
  /** `api_key`, `base_url`, or `settings` for the whole value (not an object). */
  field: 'api_key' | 'base_url' | 'settings';
  /** The JSON Schema keyword that failed (`type`, `required`, `minLength`, `maxLength`, `pattern`), or a base_url rule. */
  rule: string;
  /** The package's message: names the field and what to type instead; never holds the write key. */
  message: string;
}

/**
 * Checks what a self-hoster typed and returns what delivery uses, or throws SettingsError
 * listing every problem. Synchronous: a host name that resolves to an internal address is
 * refused when connecting (see network-guard.ts), not here.
 */
export function validateSettings(settings: unknown, options: ValidateSettingsOptions = {}): ValidatedSettings {
  const checked = checkSettings(settings, options);
  if ('problems' in checked) throw new SettingsError(checked.problems.map((problem) => problem.message));
  return checked.settings;
}

/** What validateSettings decides, as data: the settings, or every problem with its field and rule. */
export function checkSettings(settings: unknown, options: ValidateSettingsOptions = {}): { settings: ValidatedSettings } | { problems: SettingsProblem[] } {
  const input = readOnce(settings);
  const schemaErrors = matchesSchema(input) ? [] : (matchesSchema.errors ?? []);
  const problems = schemaProblems(schemaErrors, input);
  // The URL rules need a well-typed base_url; a wrong type is already reported above.
  if (!isRecord(input) || schemaErrors.some((error) => error.instancePath === '/base_url' && error.keyword === 'type')) return { problems };
  const baseUrl = checkBaseUrl(input.base_url as string | null | undefined, {
    allowPrivateNetworks: options.allowPrivateNetworks === true,
    echo: createEcho(typeof input.api_key === 'string' ? input.api_key : ''),
  });
  if ('problems' in baseUrl) problems.push(...baseUrl.problems.map(({ rule, message }) => ({ field: 'base_url' as const, rule, message })));
  if (problems.length > 0 || 'problems' in baseUrl) return { problems };
  return { settings: { writeKey: input.api_key as string, dataPlaneUrl: baseUrl.dataPlaneUrl } };
}

/**
 * A plain copy of the fields the schema knows, each read exactly once: a getter or proxy could
 * otherwise give one value to the check and another to what is returned.
 */
function readOnce(settings: unknown): unknown {
  if (!isRecord(settings)) return settings;
  const copy: Record<string, unknown> = {};
  for (const field of SCHEMA_FIELDS) copy[field] = settings[field];
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Distinct messages: a blank key fails both minLength and pattern. */
function schemaProblems(errors: ErrorObject[], input: unknown): SettingsProblem[] {
  const seen = new Set<string>();
  const problems: SettingsProblem[] = [];
  for (const error of errors) {
    const message = schemaMessage(error, input);
    if (seen.has(message)) continue;
    seen.add(message);
    const field = error.keyword === 'required' ? 'api_key' : error.instancePath.slice(1);
    problems.push({ field: field === 'api_key' || field === 'base_url' ? field : 'settings', rule: error.keyword, message });
  }
  return problems;
}

const WRITE_KEY_HINT = 'paste the write key of your RudderStack HTTP source';

/** Never echoes a value: only its kind or length. */
function schemaMessage(error: ErrorObject, input: unknown): string {
  const field = error.instancePath.slice(1);
  const value = isRecord(input) && field ? input[field] : input;
  switch (`${field}:${error.keyword}`) {
    case ':type':
      return 'settings: must be an object like {"api_key": "<write key>", "base_url": "https://..."}, ' + `not ${describeKind(value)}`;
    case ':required':
      return `api_key: missing; ${WRITE_KEY_HINT}`;
    case 'api_key:type':
      return `api_key: must be text, not ${describeKind(value)}; ${WRITE_KEY_HINT}`;
    case 'api_key:minLength':
    case 'api_key:pattern':
      return `api_key: is blank; ${WRITE_KEY_HINT}`;
    case 'api_key:maxLength':
      return `api_key: is ${lengthOf(value)} characters long, more than the 100 a write key can have; ` + `${WRITE_KEY_HINT} and nothing else`;
    case 'base_url:type':
      return (
        `base_url: must be text or null, not ${describeKind(value)}; ` +
        `use the data plane URL from your RudderStack dashboard, e.g. ${EXAMPLE_DATA_PLANE_URL}`
      );
    case 'base_url:maxLength':
      return (
        `base_url: is ${lengthOf(value)} characters long, more than the 200 Flagsmith stores; ` +
        `use the data plane URL from your RudderStack dashboard, e.g. ${EXAMPLE_DATA_PLANE_URL}`
      );
    default:
      return `${field || 'settings'}: ${error.message ?? 'is not valid'}`;
  }
}

function lengthOf(value: unknown): number {
  return typeof value === 'string' ? codePointLength(value) : 0;
}

/** What a value is, in words, without showing it. */
function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
